#!/usr/bin/env bash
# Builds the addon's Linux arm64 library on this x86_64 machine, for aarch64-unknown-linux-gnu,
# with Debian sid's Rust (its prebuilt arm64 std) and aarch64 cross GCC
# (.ci/linux_arm64_toolchain.sh), and checks the library: an AArch64 shared object that
# exports gdext_rust_init (the .gdextension's entry_symbol) and needs only glibc's libraries.
# Used by .ci/build_library.sh linux-arm64 on a host that is not arm64, and so by
# .ci/test-arm64, which runs the GDScript suite against it in sid's arm64 Godot under qemu-user.
#
#   .ci/linux_arm64.sh [release|debug]
#
# Prints the library's path last: target/linux-arm64/libwebrtc_rs.linux.arm64.so.
# Linked against sid's glibc, so it may need a newer glibc than a library built on an older
# distribution (the GLIBC_ versions it needs are printed); CI's linux-arm64 job builds natively
# on an arm64 runner instead.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
profile="${1:-release}"
case "$profile" in
    release) cargo_profile=dist; profile_dir=dist ;;
    debug) cargo_profile=dev; profile_dir=debug ;;
    *) echo "usage: .ci/linux_arm64.sh [release|debug]" >&2; exit 2 ;;
esac
target=aarch64-unknown-linux-gnu
t0=$SECONDS

bash .ci/patch_webrtc_rs.sh
bin="$(bash .ci/linux_arm64_toolchain.sh | tail -n 1)"

export RUSTC="$bin/rustc"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="$bin/aarch64-linux-gnu-gcc"
# For the C and assembly that ring builds for arm64 (cc crate).
export CC_aarch64_unknown_linux_gnu="$bin/aarch64-linux-gnu-gcc"
export AR_aarch64_unknown_linux_gnu="$bin/aarch64-linux-gnu-ar"
# Its own target folder: another rustc than rustup's.
export CARGO_TARGET_DIR="$repo/target/linux-arm64"

# `cargo rustc` so that -D warnings applies to our crate only; what is compiled only on other
# platforms (cfg) shows up here as unused.
"$bin/cargo" --locked rustc -p webrtc_rs --lib --target "$target" --profile "$cargo_profile" \
    -- -D warnings

out="$CARGO_TARGET_DIR/libwebrtc_rs.linux.arm64.so"
cp "$CARGO_TARGET_DIR/$target/$profile_dir/libwebrtc_rs.so" "$out"

# --- What the library is, exports and needs. -------------------------------------------------
fail() { echo "linux_arm64: $out $*" >&2; exit 1; }
"$bin/aarch64-linux-gnu-readelf" -h "$out" | grep -q 'Type:.*DYN' || fail "is not a shared object"
"$bin/aarch64-linux-gnu-readelf" -h "$out" | grep -q 'Machine:.*AArch64' || fail "is not AArch64"
"$bin/aarch64-linux-gnu-readelf" --dyn-syms -W "$out" \
    | awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }' | grep -qx gdext_rust_init \
    || fail "does not export gdext_rust_init"
mapfile -t needed < <("$bin/aarch64-linux-gnu-readelf" -d "$out" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in "${needed[@]}"; do
    case "$lib" in
        libc.so.6 | libm.so.6 | libgcc_s.so.1 | ld-linux-aarch64.so.1) ;;
        *) fail "needs $lib, which is not part of glibc (or libgcc_s)" ;;
    esac
done
glibc="$("$bin/aarch64-linux-gnu-readelf" -V -W "$out" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n 1)"
echo "linux_arm64: $out exports gdext_rust_init, needs ${needed[*]}, glibc symbols up to $glibc" >&2
echo "linux_arm64: $out ($target, $profile) built and checked in $((SECONDS - t0)) s" >&2
echo "$out"
