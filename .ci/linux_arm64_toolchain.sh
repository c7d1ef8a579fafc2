#!/usr/bin/env bash
# A Rust toolchain for aarch64-unknown-linux-gnu that works on this Debian 12 x86_64 host with
# no rustup target: Debian sid's rustc and cargo, sid's prebuilt std for arm64
# (libstd-rust-dev:arm64, the std of that same compiler), and sid's aarch64 cross GCC, binutils
# and glibc, unpacked into the cache by .ci/sid_root.sh (the host system is not touched).
# Prints a folder of wrappers last; .ci/linux_arm64.sh builds the addon's Linux arm64 library
# with them.
#
# As in .ci/windows_gnu_toolchain.sh: sid's binaries need sid's glibc, so each wrapper starts
# its program through the sid root's own loader (ld-linux-x86-64) with a library path into
# that root, and every sid program that another one starts has its own wrapper (cargo starts
# rustc; rustc the cross gcc, the linker; gcc starts cc1, as, collect2 and ld). The gcc wrapper
# passes -B<wrappers>/gcc/ (gcc's helpers, kept apart so the host's gcc never finds the
# aarch64 `as` and `ld` on PATH) and --sysroot=<root>: the cross glibc's linker scripts
# (usr/aarch64-linux-gnu/lib/libc.so) name absolute paths, which ld then looks up inside the
# root instead of on the host. Build scripts and proc macros are built for the host and linked
# by the host's own `cc`, so they run with the host's glibc like any other host program.
#
# Unlike windows-gnu, no -Zbuild-std: sid ships std prebuilt for arm64, and with
# APT::Architectures amd64,arm64 (.ci/sid_root.sh --arch) it lands in the root's
# usr/lib/rustlib/aarch64-unknown-linux-gnu, next to the host's, in rustc's own sysroot.
#
# Usage: .ci/linux_arm64_toolchain.sh
#   stdout: only the wrapper folder's absolute path (last line). It holds rustc, cargo,
#           aarch64-linux-gnu-{gcc,ar,objdump,readelf}, and gcc's helpers in gcc/.
#   stderr: progress and errors.
# Environment: WEBRTC_RS_CACHE (default $HOME/.cache/webrtc_rs), as for .ci/sid_root.sh;
# the root is $WEBRTC_RS_CACHE/sid-linux-arm64/root, the wrappers its sibling bin/.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'linux_arm64_toolchain: %s\n' "$*" >&2; }
die() { printf 'linux_arm64_toolchain: error: %s\n' "$*" >&2; exit 1; }

root="$(bash .ci/sid_root.sh --arch amd64,arm64 sid-linux-arm64 \
    rustc cargo libstd-rust-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross | tail -n 1)"
source .ci/sid_wrappers.sh
sid_wrappers_begin "$root" v1
gcc_libexec="$(echo "$root"/usr/libexec/gcc-cross/aarch64-linux-gnu/*)"
[[ -x "$gcc_libexec/cc1" ]] || die "no aarch64 cc1 under $root/usr/libexec/gcc-cross/aarch64-linux-gnu"
cross_bin="$root/usr/aarch64-linux-gnu/bin"
[[ -f "$root/usr/lib/rustlib/aarch64-unknown-linux-gnu/lib/libstd.rlib" ]] \
    || compgen -G "$root/usr/lib/rustlib/aarch64-unknown-linux-gnu/lib/libstd-*.rlib" >/dev/null \
    || die "no arm64 std under $root/usr/lib/rustlib/aarch64-unknown-linux-gnu (libstd-rust-dev:arm64)"

wrap rustc "$root/usr/bin/rustc"
wrap cargo "$root/usr/bin/cargo"
wrap aarch64-linux-gnu-gcc "$(readlink -f "$root/usr/bin/aarch64-linux-gnu-gcc")" \
    "-B$bin/gcc/" "--sysroot=$root"
for helper in cc1 collect2 lto-wrapper lto1; do
    wrap "gcc/$helper" "$gcc_libexec/$helper"
done
for tool in as ld; do
    wrap "gcc/$tool" "$(readlink -f "$cross_bin/$tool")"
done
for tool in ar objdump readelf; do
    wrap "aarch64-linux-gnu-$tool" "$(readlink -f "$cross_bin/$tool")"
done

# --- Check the chain works: rustc, cargo, and gcc and rustc linking arm64 programs. ---------
"$bin/rustc" -vV | sed -n 's/^release: /rustc /p' >&2 || die "sid's rustc does not run"
"$bin/cargo" -V >&2 || die "sid's cargo does not run"
scratch="$(mktemp -d)"
trap 'rm -rf -- "$scratch"' EXIT
printf 'int main(void) { return 0; }\n' >"$scratch/hello.c"
"$bin/aarch64-linux-gnu-gcc" -O2 -o "$scratch/hello" "$scratch/hello.c" \
    || die "the aarch64 gcc cannot compile and link a Linux arm64 program"
printf 'fn main() { println!("hello"); }\n' >"$scratch/hello.rs"
"$bin/rustc" --target aarch64-unknown-linux-gnu -C "linker=$bin/aarch64-linux-gnu-gcc" \
    -o "$scratch/hello_rs" "$scratch/hello.rs" \
    || die "sid's rustc cannot build and link a Rust program for aarch64-unknown-linux-gnu"
for program in hello hello_rs; do
    "$bin/aarch64-linux-gnu-readelf" -h "$scratch/$program" | grep -q 'Machine:.*AArch64' \
        || die "$program is not an AArch64 ELF file"
done

log "sid's Rust and aarch64 cross toolchains ready in $bin"
sid_wrappers_done
