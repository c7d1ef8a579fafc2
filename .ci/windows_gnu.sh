#!/usr/bin/env bash
# Builds the addon's Windows x86_64 library here, for x86_64-pc-windows-gnu, with Debian sid's
# Rust and MinGW-w64 toolchains (.ci/windows_gnu_toolchain.sh), and checks the DLL: it exports
# gdext_rust_init (the .gdextension's entry_symbol) and imports only DLLs that every Windows
# 10/11 has. This is the Windows library of the release zip (.ci/release, through
# .ci/build_library.sh windows-x86_64 on a host that is not Windows); the workflow's `build`
# job also builds an MSVC one on a Windows runner.
#
#   .ci/windows_gnu.sh [release|debug] [--tests]
#
# The DLL goes to target/windows-gnu/webrtc_rs.windows.x86_64.dll; .ci/build_library.sh
# windows-x86_64 places it in addons/webrtc_rs/lib/ on a host that is not Windows.
# --tests also builds for Windows the crate's unit and integration tests, and the tests of the
# patched crates whose patches are Windows code (quinn-udp), and lists them, one
# "package<TAB>executable" a line, in target/windows-gnu/test-executables.txt (.ci/test-windows
# runs them under Wine).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
profile=release
tests=false
for arg in "$@"; do
    case "$arg" in
        release | debug) profile="$arg" ;;
        --tests) tests=true ;;
        *) echo "usage: .ci/windows_gnu.sh [release|debug] [--tests]" >&2; exit 2 ;;
    esac
done
[ "$profile" = release ] && cargo_profile=dist || cargo_profile=dev
[ "$cargo_profile" = dev ] && profile_dir=debug || profile_dir=dist
target=x86_64-pc-windows-gnu
t0=$SECONDS

bash .ci/patch_webrtc_rs.sh
bin="$(bash .ci/windows_gnu_toolchain.sh | tail -n 1)"

export RUSTC="$bin/rustc"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="$bin/x86_64-w64-mingw32-gcc"
# For the C and assembly that ring builds for Windows (cc crate).
export CC_x86_64_pc_windows_gnu="$bin/x86_64-w64-mingw32-gcc"
export AR_x86_64_pc_windows_gnu="$bin/x86_64-w64-mingw32-ar"
# rustc looks for dlltool under this name when it makes import libraries (raw-dylib).
export PATH="$bin:$PATH"
# Sid's rustc has no prebuilt std for windows-gnu (only for its host), so std is built from
# rust-src with -Zbuild-std, an unstable cargo flag: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain take it.
export RUSTC_BOOTSTRAP=1
# Its own target folder: another rustc than rustup's, and std built from source.
export CARGO_TARGET_DIR="$repo/target/windows-gnu"
cargo=("$bin/cargo" --locked -Zbuild-std)

# The library: `cargo rustc` so that -D warnings applies to our crate only (not to std or
# the dependencies); what is compiled only on other platforms (cfg) shows up here as unused.
"${cargo[@]}" rustc -p webrtc_rs --lib --target "$target" --profile "$cargo_profile" -- -D warnings
# Prints "package<TAB>executable" for each test executable in cargo's JSON messages.
test_executables() {
    python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") and message["profile"]["test"]:
        print(message["package_id"].split("#")[-1].split("@")[0].rsplit("/", 1)[-1] + "\t" + message["executable"])'
}
if $tests; then
    list="$CARGO_TARGET_DIR/test-executables.txt"
    "${cargo[@]}" test -p webrtc_rs --target "$target" --no-run --message-format=json-render-diagnostics \
        | test_executables >"$list"
    # quinn-udp from its own manifest: its dev-dependencies are not in our lock file, and the
    # lock file it was published with does not hold std's dependencies (-Zbuild-std), so
    # cargo resolves them (not --locked).
    "$bin/cargo" -Zbuild-std test --manifest-path webrtc-rs-patched/quinn-udp-*/Cargo.toml --target "$target" \
        --test tests --no-run --message-format=json-render-diagnostics | test_executables >>"$list"
    [ "$(cut -f1 "$list" | sort -u | tr '\n' ' ')" = "quinn-udp webrtc_rs " ] \
        || { echo "windows_gnu: expected test executables of webrtc_rs and quinn-udp, got: $(cat "$list")" >&2; exit 1; }
fi

dll="$CARGO_TARGET_DIR/$target/$profile_dir/webrtc_rs.dll"
out="$CARGO_TARGET_DIR/webrtc_rs.windows.x86_64.dll"
cp "$dll" "$out"

# --- What the DLL exports and imports. -------------------------------------------------------
dump="$("$bin/x86_64-w64-mingw32-objdump" -p "$out")"
grep -q 'file format pei-x86-64' <<<"$dump" || { echo "windows_gnu: $out is not a PE32+ DLL" >&2; exit 1; }
# The export table lists "[ordinal] name" lines under "[Ordinal/Name Pointer] Table".
if ! sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' <<<"$dump" | grep -qw gdext_rust_init; then
    echo "windows_gnu: $out does not export gdext_rust_init" >&2
    exit 1
fi
mapfile -t imports < <(sed -n 's/^[[:space:]]*DLL Name: //p' <<<"$dump" | sort -fu)
echo "windows_gnu: $out exports gdext_rust_init and imports: ${imports[*]}" >&2
# DLLs every Windows 10/11 has: the Win32 system DLLs a Rust program of ours can reach,
# msvcrt.dll (the C runtime MinGW-w64 links), and API sets (api-ms-win-*).
# A MinGW runtime DLL (libgcc_s_seh-1.dll, libwinpthread-1.dll, libstdc++-6.dll) is not there.
system_dll() {
    case "${1,,}" in
        kernel32.dll | kernelbase.dll | ntdll.dll | advapi32.dll | bcrypt.dll | bcryptprimitives.dll \
            | crypt32.dll | dbghelp.dll | iphlpapi.dll | msvcrt.dll | ncrypt.dll | ole32.dll \
            | oleaut32.dll | secur32.dll | shell32.dll | user32.dll | userenv.dll | ws2_32.dll \
            | api-ms-win-*.dll) return 0 ;;
    esac
    return 1
}
others=()
for dll_name in "${imports[@]}"; do
    system_dll "$dll_name" || others+=("$dll_name")
done
if [ "${#others[@]}" -gt 0 ]; then
    echo "windows_gnu: $out imports DLLs a stock Windows does not have: ${others[*]}" >&2
    exit 1
fi
echo "windows_gnu: $out ($target, $profile) built and checked in $((SECONDS - t0)) s" >&2
echo "$out"
