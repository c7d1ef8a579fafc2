#!/usr/bin/env bash
# Builds the addon's macOS library on this Linux machine: a universal (x86_64 + arm64) Mach-O
# dylib in a framework bundle, ad-hoc signed, and checks it. No Apple SDK or Xcode is used:
#   - Rust: Debian sid's rustc, cargo and rust-src (the toolchain .ci/windows_gnu_toolchain.sh
#     unpacks into the cache); sid ships no std for Apple targets, so std is built from
#     rust-src with -Zbuild-std (RUSTC_BOOTSTRAP=1 lets the stable toolchain take the flag).
#   - C: ring's C and assembly are compiled by `zig cc` (PyPI ziglang, .ci/install_zig.sh),
#     which bundles the macOS libc headers.
#   - Linker: Debian 12's ld64.lld (lld-14), against a stub SDK made here from zig's
#     libSystem.tbd (its arm64e entries also named arm64, which lld 14 needs) and a libiconv.tbd
#     naming /usr/lib/libiconv.2.dylib. Not zig's own linker (cargo-zigbuild): it ignores
#     -exported_symbols_list, so the library would export every Rust symbol, not just
#     gdext_rust_init.
#   - llvm-lipo (llvm-14) merges the two slices; rcodesign (crates.io apple-codesign,
#     .ci/install_rcodesign.sh) signs the framework ad hoc, and .ci/check_macos_signature.py
#     verifies the signature (rcodesign's own verify cannot check an ad-hoc one).
# x86_64 is built for macOS 10.13, arm64 for macOS 11.0 (the oldest each Godot 4.6 runs on).
#
#   .ci/macos.sh [release|debug]
#
# Prints the framework's path last: target/macos/webrtc_rs.macos.framework (binary
# webrtc_rs.macos, Resources/Info.plist, _CodeSignature/), install name
# @rpath/webrtc_rs.macos.framework/webrtc_rs.macos. Checks, failing loudly: both slices are
# there; each exports gdext_rust_init (the .gdextension's entry_symbol) and links only
# libraries under /usr/lib or /System; the signature verifies.
# Used by .ci/build_library.sh macos-universal on a host that is not macOS; CI's macOS runner
# builds the same layout with Xcode. Nothing of it has run on a Mac from here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
profile="${1:-release}"
case "$profile" in
    release) cargo_profile=dist; profile_dir=dist ;;
    debug) cargo_profile=dev; profile_dir=debug ;;
    *) echo "usage: .ci/macos.sh [release|debug]" >&2; exit 2 ;;
esac
t0=$SECONDS
log() { printf 'macos: %s\n' "$*" >&2; }
die() { printf 'macos: error: %s\n' "$*" >&2; exit 1; }

# The framework's name, install name and Info.plist, shared with build_library.sh's Mac path.
source .ci/macos_framework.sh

bash .ci/patch_webrtc_rs.sh
bin="$(bash .ci/windows_gnu_toolchain.sh | tail -n 1)"
zig="$(bash .ci/install_zig.sh | tail -n 1)"
rcodesign="$(bash .ci/install_rcodesign.sh | tail -n 1)"

# Debian 12's LLVM 14 tools: ld64.lld (lld-14), llvm-lipo, llvm-objcopy, llvm-objdump (llvm-14).
if ! command -v ld64.lld-14 >/dev/null || ! command -v llvm-lipo-14 >/dev/null \
    || ! command -v llvm-objcopy-14 >/dev/null || ! command -v llvm-objdump-14 >/dev/null; then
    log "installing Debian's llvm-14 and lld-14"
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show lld-14 >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends llvm-14 lld-14 >&2
fi

# Its own target folder: another rustc than rustup's, and std built from source.
export CARGO_TARGET_DIR="$repo/target/macos"

# --- The toolchain folder: stub SDK, compiler wrappers, rust-objcopy. ------------------------
# Remade on every run (it is small); its paths stay the same, so cargo's fingerprints hold.
tools="$CARGO_TARGET_DIR/toolchain"
sdk="$tools/sdk"
rm -rf -- "$tools"
mkdir -p "$tools/bin" "$sdk/usr/lib"
zig_lib="$(dirname "$(readlink -f "$zig")")/lib"  # zig's own lib folder, next to the binary
[ -f "$zig_lib/libc/darwin/libSystem.tbd" ] || die "no libSystem.tbd in $zig_lib/libc/darwin"
# lld 14 does not know the arm64e.x1 architecture, and needs arm64 (not only arm64e) in the
# targets of a library it links an arm64 binary against: the same libSystem on a real Mac.
python3 - "$zig_lib/libc/darwin/libSystem.tbd" "$sdk/usr/lib/libSystem.tbd" <<'EOF'
import re, sys
def targets(match):
    out = []
    for target in (t.strip() for t in match.group(1).split(",")):
        if not target or target.startswith("arm64e.x1-"):
            continue
        target = target.replace("arm64e-", "arm64-")
        if target not in out:
            out.append(target)
    return "targets: [ " + ", ".join(out) + " ]"
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(re.sub(r"targets:\s*\[([^\]]*)\]", targets, text))
EOF
# rustc links -lc and -lm too: on macOS both are libSystem.
ln -s libSystem.tbd "$sdk/usr/lib/libc.tbd"
ln -s libSystem.tbd "$sdk/usr/lib/libm.tbd"
# Rust's libc crate links -liconv on Apple targets (so the library loads
# /usr/lib/libiconv.2.dylib, as one linked by Xcode does); every macOS has it.
cat >"$sdk/usr/lib/libiconv.tbd" <<'EOF'
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/usr/lib/libiconv.2.dylib'
current-version: 7
compatibility-version: 7
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ _iconv, _iconv_close, _iconv_open, _iconvctl, _iconvlist ]
...
EOF
# rustc strips Apple binaries with `rust-objcopy` (rustup ships it; sid's rustc does not):
# LLVM's objcopy under that name does the same job.
ln -s "$(command -v llvm-objcopy-14)" "$tools/bin/rust-objcopy"
# zig cc, for what cc-rs builds (ring): the macOS version is in zig's -target; cc-rs's own
# target, arch, version and sysroot flags are dropped (the sysroot is the stub SDK, which has
# no headers: zig brings them). -fno-sanitize=all: unoptimised (debug), zig cc would add
# UBSan checks whose runtime is zig's, not one the linker here has.
# The wrapper's name ends in a hash of its text: CC_<target> then changes with it, and so cargo
# rebuilds what was compiled with an older one (cc-rs tells cargo to watch CC_<target>).
# Prints its path.
cc_wrapper() {
    local target="$1" zig_target="$2"
    local file="$tools/bin/cc-$target"
    cat >"$file" <<EOF
#!/bin/bash
# Generated by .ci/macos.sh: zig cc for $zig_target.
args=()
skip=false
for arg in "\$@"; do
    if \$skip; then skip=false; continue; fi
    case "\$arg" in
        -arch | -isysroot | -target) skip=true ;;
        --target=* | -mmacosx-version-min=* | -mmacos-version-min=*) ;;
        *) args+=("\$arg") ;;
    esac
done
unset SDKROOT
exec $(printf '%q' "$zig") cc -target $zig_target -fno-sanitize=all "\${args[@]}"
EOF
    chmod 755 "$file"
    local hashed
    hashed="$file-$(sha256sum "$file" | cut -c1-12)"
    mv "$file" "$hashed"
    echo "$hashed"
}
printf '#!/bin/sh\nexec %q ar "$@"\n' "$zig" >"$tools/bin/zig-ar"
chmod 755 "$tools/bin/zig-ar"
export PATH="$tools/bin:$PATH"
# zig's compile cache: in the target folder, which a clean build empties, not ~/.cache/zig.
export ZIG_GLOBAL_CACHE_DIR="$CARGO_TARGET_DIR/zig-cache" ZIG_LOCAL_CACHE_DIR="$CARGO_TARGET_DIR/zig-cache"
# rustc passes it to ld64.lld as -syslibroot (and then does not look for Xcode).
export SDKROOT="$sdk"
export RUSTC="$bin/rustc"
export RUSTC_BOOTSTRAP=1
cargo=("$bin/cargo" --locked -Zbuild-std)

# --- The two slices. ---------------------------------------------------------------------------
# build TARGET ZIG_TARGET MACOSX_DEPLOYMENT_TARGET: prints the dylib's path.
build() {
    local target="$1" zig_target="$2" min="$3"
    local env_target="${target//-/_}"
    local upper
    upper="$(echo "$env_target" | tr '[:lower:]' '[:upper:]')"
    local cc
    cc="$(cc_wrapper "$target" "$zig_target")"
    local t1=$SECONDS
    log "building $target (macOS $min)"
    # `cargo rustc` so that -D warnings and the install name apply to our crate only;
    # what is compiled only on other platforms (cfg) shows up here as unused.
    env "CARGO_TARGET_${upper}_LINKER=ld64.lld-14" \
        "CARGO_TARGET_${upper}_RUSTFLAGS=-C linker-flavor=ld64.lld" \
        "CC_${env_target}=$cc" \
        "AR_${env_target}=$tools/bin/zig-ar" \
        "MACOSX_DEPLOYMENT_TARGET=$min" \
        "${cargo[@]}" rustc -p webrtc_rs --lib --target "$target" --profile "$cargo_profile" \
        -- -D warnings -C "link-arg=-install_name" -C "link-arg=$macos_install_name" >&2 \
        || die "cargo could not build $target"  # (set -e does not reach into "$(build ...)")
    log "$target built in $((SECONDS - t1)) s"
    echo "$CARGO_TARGET_DIR/$target/$profile_dir/libwebrtc_rs.dylib"
}
arm="$(build aarch64-apple-darwin aarch64-macos.11.0-none 11.0)"
intel="$(build x86_64-apple-darwin x86_64-macos.10.13-none 10.13)"

# --- The framework: universal binary, Info.plist, signature. -----------------------------------
out="$CARGO_TARGET_DIR/$macos_framework"
stage="$CARGO_TARGET_DIR/.$macos_framework.new"
rm -rf -- "$stage"
mkdir -p "$stage/Resources"
llvm-lipo-14 -create "$arm" "$intel" -output "$stage/$macos_framework_name"
macos_info_plist "$stage/Resources/Info.plist"
# Ad hoc (no certificate): Apple Silicon refuses to load unsigned code. Exported games are
# signed again by Godot's exporter with the developer's identity.
"$rcodesign" sign "$stage" >&2 || die "rcodesign could not sign $stage"
rm -rf -- "$out"
mv "$stage" "$out"

# --- Checks. ----------------------------------------------------------------------------------
fail() { die "$out: $*"; }
binary="$out/$macos_framework_name"
archs="$(llvm-lipo-14 -archs "$binary")"
for arch in x86_64 arm64; do
    grep -qw "$arch" <<<"$archs" || fail "has no $arch slice (it has: $archs)"
done
declare -A min_macos=([x86_64]=10.13 [arm64]=11.0)
for arch in x86_64 arm64; do
    exports="$(llvm-objdump-14 --macho --arch="$arch" --exports-trie "$binary")"
    grep -qE '[[:space:]]_gdext_rust_init$' <<<"$exports" || fail "$arch slice does not export gdext_rust_init"
    n_exports="$(grep -cE '^0x[0-9A-Fa-f]+[[:space:]]' <<<"$exports" || true)"
    # Only the entry point: a linker that ignored -exported_symbols_list (zig's) exports all.
    [ "$n_exports" -eq 1 ] || fail "$arch slice exports $n_exports symbols, not only gdext_rust_init"
    # The first line is the library's own install name (LC_ID_DYLIB).
    mapfile -t dylibs < <(llvm-objdump-14 --macho --arch="$arch" --dylibs-used "$binary" \
        | sed -n 's/^[[:space:]]\{1,\}\(.*\) (compatibility version.*/\1/p')
    [ "${dylibs[0]:-}" = "$macos_install_name" ] || fail "$arch slice's install name is '${dylibs[0]:-}', not $macos_install_name"
    for dylib in "${dylibs[@]:1}"; do
        case "$dylib" in
            /usr/lib/* | /System/*) ;;
            *) fail "$arch slice links $dylib, which is not part of macOS" ;;
        esac
    done
    # The oldest macOS the slice loads on: LC_BUILD_VERSION's minos, or LC_VERSION_MIN_MACOSX's
    # version (which the linker writes for x86_64 below 10.14).
    minos="$(llvm-objdump-14 --macho --arch="$arch" --private-headers "$binary" | awk '
        $1 == "cmd" { cmd = $2 }
        (cmd == "LC_BUILD_VERSION" && $1 == "minos") || (cmd == "LC_VERSION_MIN_MACOSX" && $1 == "version") { print $2; exit }')"
    [ "$minos" = "${min_macos[$arch]}" ] || fail "$arch slice is for macOS '$minos'+, not ${min_macos[$arch]}+"
    log "$arch slice: macOS $minos+, exports only gdext_rust_init, links ${dylibs[*]:1}"
done
# rcodesign verify (0.29) cannot check an ad-hoc signature: it parses the empty CMS blob that
# ad-hoc signatures carry and fails. .ci/check_macos_signature.py checks what codesign
# --verify checks for one: every slice's code directory against the file's bytes, Info.plist
# and _CodeSignature/CodeResources, and CodeResources against the bundle's files.
python3 .ci/check_macos_signature.py "$out" >&2 || fail "the signature does not verify"
sizes="$(llvm-objdump-14 --macho --universal-headers "$binary" \
    | awk '$1 == "architecture" { a = $2 } $1 == "size" { printf "%s%s %.1f MiB", sep, a, $2 / 1048576; sep = ", " }')"
log "$out: $(du -sk "$out" | cut -f1) KiB in all; $binary $(stat -c %s "$binary") bytes ($sizes)"
log "$out (universal, $profile) built and checked in $((SECONDS - t0)) s"
echo "$out"
