#!/usr/bin/env bash
# A Rust toolchain for x86_64-pc-windows-gnu that works on this Debian 12 host with no
# rustup target: Debian sid's rustc, cargo and rust-src, and sid's MinGW-w64 GCC and binutils,
# unpacked into the cache by .ci/sid_root.sh (the host system is not touched). Prints a folder
# of wrappers last; .ci/windows_gnu.sh builds the addon's Windows library with them.
#
# Sid's binaries need sid's glibc, so each wrapper starts its program through the sid root's
# own loader (ld-linux) with a library path into that root, as .ci/get_godot.sh does for
# Godot. --library-path is not inherited by child processes, so every sid program that
# another one starts needs its own wrapper too: cargo starts rustc (RUSTC); rustc starts the
# MinGW gcc (the linker) and dlltool; gcc and dlltool start cc1, as, collect2 and ld. The gcc
# wrapper passes -B<wrappers>/gcc/, which makes gcc (and collect2, through COMPILER_PATH) take
# those from there; they sit in a subfolder so that the host's gcc, which looks for `ld` and
# `as` on PATH, never finds the MinGW ones. Build scripts and proc macros are built for the
# host and linked by the host's own `cc`, so they run with the host's glibc like any other
# host program.
#
# sid's rustc ships a prebuilt std for its host (libstd-rust-dev) but none for windows-gnu,
# and rustup cannot add targets here (no network for it): std is built from rust-src with
# cargo's -Zbuild-std, which .ci/windows_gnu.sh enables with RUSTC_BOOTSTRAP=1.
#
# Usage: .ci/windows_gnu_toolchain.sh
#   stdout: only the wrapper folder's absolute path (last line). It holds rustc, cargo,
#           x86_64-w64-mingw32-{gcc,ar,dlltool,objdump}, and gcc's helpers in gcc/.
#   stderr: progress and errors.
# Environment: WEBRTC_RS_CACHE (default $HOME/.cache/webrtc_rs), as for .ci/sid_root.sh;
# the root is $WEBRTC_RS_CACHE/sid-windows-gnu/root, the wrappers its sibling bin/.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'windows_gnu_toolchain: %s\n' "$*" >&2; }
die() { printf 'windows_gnu_toolchain: error: %s\n' "$*" >&2; exit 1; }

root="$(bash .ci/sid_root.sh sid-windows-gnu rustc cargo rust-src gcc-mingw-w64-x86-64-posix | tail -n 1)"
source .ci/sid_wrappers.sh
sid_wrappers_begin "$root" v3
gcc_libexec="$(echo "$root"/usr/lib/gcc/x86_64-w64-mingw32/*-posix)"
[[ -x "$gcc_libexec/cc1" ]] || die "no MinGW-w64 cc1 under $root/usr/lib/gcc/x86_64-w64-mingw32"
mingw_bin="$root/usr/x86_64-w64-mingw32/bin"

wrap rustc "$root/usr/bin/rustc"
wrap cargo "$root/usr/bin/cargo"
wrap x86_64-w64-mingw32-gcc "$root/usr/bin/x86_64-w64-mingw32-gcc-posix" "-B$bin/gcc/"
for helper in cc1 collect2 lto-wrapper lto1; do
    wrap "gcc/$helper" "$gcc_libexec/$helper"
done
for tool in as ld; do
    wrap "gcc/$tool" "$(readlink -f "$mingw_bin/$tool")"
done
for tool in ar objdump; do
    wrap "x86_64-w64-mingw32-$tool" "$(readlink -f "$mingw_bin/$tool")"
done
# rustc runs dlltool for raw-dylib imports (std's), and dlltool runs the assembler.
wrap x86_64-w64-mingw32-dlltool "$(readlink -f "$mingw_bin/dlltool")" --as "$bin/gcc/as"

# --- Check the chain works: rustc, cargo, and gcc compiling and linking a Windows program. --
"$bin/rustc" -vV | sed -n 's/^release: /rustc /p' >&2 || die "sid's rustc does not run"
"$bin/cargo" -V >&2 || die "sid's cargo does not run"
sysroot="$("$bin/rustc" --print sysroot)"
[[ -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]] \
    || die "rustc's sysroot $sysroot has no rust-src (library/Cargo.lock)"
scratch="$(mktemp -d)"
trap 'rm -rf -- "$scratch"' EXIT
printf 'int main(void) { return 0; }\n' >"$scratch/hello.c"
"$bin/x86_64-w64-mingw32-gcc" -O2 -o "$scratch/hello.exe" "$scratch/hello.c" \
    || die "the MinGW-w64 gcc cannot compile and link a Windows program"
"$bin/x86_64-w64-mingw32-objdump" -f "$scratch/hello.exe" | grep -q 'pei-x86-64' \
    || die "the MinGW-w64 gcc made no PE32+ executable"

log "sid's Rust and MinGW-w64 toolchains ready in $bin"
sid_wrappers_done
