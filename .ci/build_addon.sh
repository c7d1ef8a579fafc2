#!/usr/bin/env bash
# Builds the extension and places the library where addons/webrtc_rs/webrtc_rs.gdextension
# expects it. Usage: .ci/build_addon.sh [debug|release] (default release).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
profile="${1:-release}"
cd "$repo"
bash .ci/patch_webrtc_rs.sh
case "$profile" in
    release) cargo build --locked --release -p webrtc_rs ;;
    debug) cargo build --locked -p webrtc_rs ;;
    *) echo "build_addon: unknown profile '$profile' (debug or release)" >&2; exit 2 ;;
esac
mkdir -p addons/webrtc_rs/lib
# Copy to a temporary name and rename, so a Godot that has the old library open keeps it.
cp "target/$profile/libwebrtc_rs.so" addons/webrtc_rs/lib/.libwebrtc_rs.linux.x86_64.so.new
mv -f addons/webrtc_rs/lib/.libwebrtc_rs.linux.x86_64.so.new addons/webrtc_rs/lib/libwebrtc_rs.linux.x86_64.so
echo "build_addon: addons/webrtc_rs/lib/libwebrtc_rs.linux.x86_64.so ($profile)" >&2
