#!/usr/bin/env bash
# Installs cargo-about (the dependency-license report tool) from crates.io into
# ~/.cache/webrtc_rs/cargo-tools, once, and prints the path of the binary.
set -euo pipefail
version=0.9.3
root="${XDG_CACHE_HOME:-$HOME/.cache}/webrtc_rs/cargo-tools"
bin="$root/bin/cargo-about"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
    echo "$bin"
    exit 0
fi
echo "install_cargo_about: building cargo-about $version from crates.io (once; cached in $root)" >&2
cargo install --locked --quiet --features cli --version "$version" --root "$root" cargo-about >&2
[ -x "$bin" ] || { echo "install_cargo_about: cargo install left no $bin" >&2; exit 1; }
echo "$bin"
