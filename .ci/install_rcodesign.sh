#!/usr/bin/env bash
# Installs rcodesign (crates.io crate apple-codesign: Apple code signing in pure Rust) into the
# cache, once, and prints the binary's path. .ci/macos.sh signs the macOS framework with it
# ad hoc on Linux, where Apple's codesign does not exist, and verifies the signature.
#
# Built with the host's cargo from crates.io, pinned, with --locked (the crate's own lock
# file). --no-default-features leaves out notarization (the App Store Connect and AWS S3
# clients), which ad-hoc signing does not use and which is most of the build.
#
# Usage: .ci/install_rcodesign.sh
#   stdout: only the rcodesign binary's path (last line).
#   stderr: progress and errors.
# Environment: WEBRTC_RS_CACHE (default $HOME/.cache/webrtc_rs); the binary goes to
# $WEBRTC_RS_CACHE/rcodesign-<version>/bin/rcodesign.
set -euo pipefail
version=0.29.0
base="${WEBRTC_RS_CACHE:-${HOME:?HOME is not set and WEBRTC_RS_CACHE is not given}/.cache/webrtc_rs}"
mkdir -p "$base"
root="$base/rcodesign-$version"
bin="$root/bin/rcodesign"
installed() { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qF "$version"; }
installed && { echo "$bin"; exit 0; }
# A concurrent run waits here, then finds the binary.
exec 9>"$root.lock"
flock 9
installed && { echo "$bin"; exit 0; }

t0=$SECONDS
echo "install_rcodesign: building apple-codesign $version from crates.io (once; cached in $root)" >&2
rm -rf -- "$root"
cargo install --locked --quiet --no-default-features --version "$version" --root "$root" \
    apple-codesign >&2 || { echo "install_rcodesign: cargo install apple-codesign $version failed" >&2; exit 1; }
installed || { echo "install_rcodesign: cargo install left no working $bin" >&2; exit 1; }
echo "install_rcodesign: $("$bin" --version) installed in $((SECONDS - t0)) s" >&2
echo "$bin"
