#!/usr/bin/env bash
# Installs zig (PyPI package ziglang: the Zig toolchain, whose `zig cc` is clang with the
# headers and libSystem stubs of macOS bundled) into a private venv, pinned, binary wheel only,
# and prints the path of its `zig` binary. .ci/macos.sh compiles ring's C and assembly for
# macOS with it and links against its libSystem stub: no Apple SDK is needed on Linux.
# Idempotent: a complete venv (stamp file matching the pins) is reused at once
# (.ci/pinned_venv.sh).
#
# Usage: .ci/install_zig.sh
#   stdout: only the zig binary's path (last line; a link in the venv's bin/).
#   stderr: progress and errors.
# Environment: WEBRTC_RS_CACHE (default $HOME/.cache/webrtc_rs; the venv is
# $WEBRTC_RS_CACHE/venv-zig), PYTHON (the base Python, default the machine's python3).
set -euo pipefail

source "$(dirname "$0")/pinned_venv.sh"
name=zig
entry=bin/zig
PINS=(ziglang==0.17.1)

venv_reuse_or_start
venv_create
"$py" -m pip install -q --disable-pip-version-check --no-input --only-binary=:all: \
    "${PINS[@]}" >&2 || die "pip could not install ${PINS[*]}"
# The wheel puts the zig binary (and its lib/ folder, which zig finds next to its own real
# path) inside the package; a link in bin/ gives it a fixed path.
package="$("$py" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')" \
    || die "the installed ziglang package does not import"
[[ -x "$package/zig" ]] || die "no zig binary in $package"
ln -sf "$package/zig" "$venv/$entry"
"$venv/$entry" version >&2 || die "the installed zig does not run"
[[ -f "$package/lib/libc/darwin/libSystem.tbd" ]] || die "this zig has no macOS libSystem stub"

venv_done
