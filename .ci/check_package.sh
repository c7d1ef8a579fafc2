#!/usr/bin/env bash
# Checks a release zip the way a user meets it: unpacks it into a scratch copy of the test
# layout (rust/itest and demo_project beside an addons/ folder that comes only from the
# zip), imports both projects with headless Godot, and runs part of the GDScript suite —
# registration, packets, stats, logging, a two-process multiplayer match, and the README's
# ten-line game and wss:// through the packaged lobby, the packaged systemd unit's and
# Dockerfile's command lines — against the packaged library. Then it opens the addon's classes in the help of a headless editor and
# checks their documentation is there.
#
#   .ci/check_package.sh [ZIP]     (default: the newest zip in target/addon-zip)
#
# WEBRTC_RS_GODOT_ARCH=arm64 runs it all in sid's arm64 Godot under qemu-user instead
# (.ci/get_godot.sh arm64), against the zip's arm64 library, less the timing assertion that
# emulation breaks (.ci/test-arm64 says which).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source .ci/common.sh
zip="${1:-$(ls -t target/addon-zip/webrtc_rs-*.zip | head -n 1)}"
[ -f "$zip" ] || { echo "check_package: no zip at '$zip'" >&2; exit 1; }

scratch="$repo/target/package-check"
rm -rf "$scratch"
mkdir -p "$scratch/rust"
python3 -m zipfile -e "$zip" "$scratch"
for file in webrtc_rs.gdextension LICENSE README.md THIRD_PARTY_LICENSES.md lobby/server.gd lobby/client.gd \
        lobby/protocol.gd lobby/lobby_server.gd lobby/PROTOCOL.md lobby/deploy/nginx-lobby.conf \
        "lobby/deploy/webrtc-lobby@.service" lobby/deploy/Dockerfile lobby/deploy/Dockerfile.dockerignore; do
    [ -f "$scratch/addons/webrtc_rs/$file" ] || { echo "check_package: the zip has no addons/webrtc_rs/$file" >&2; exit 1; }
done
ls "$scratch"/addons/webrtc_rs/lib/* >/dev/null 2>&1 || { echo "check_package: the zip has no library" >&2; exit 1; }
# The macOS framework, when the zip has it: whole, and its ad-hoc signature still valid.
framework="$scratch/addons/webrtc_rs/lib/webrtc_rs.macos.framework"
if [ -e "$framework" ]; then
    python3 .ci/check_macos_signature.py "$framework" >&2 \
        || { echo "check_package: the zip's macOS framework is not validly signed" >&2; exit 1; }
fi
# Copies keep their relative `addons` links, which now lead to the unpacked addon.
cp -a rust/itest "$scratch/rust/itest"
cp -a demo_project "$scratch/demo_project"
cp README.md "$scratch/README.md"  # test_lobby runs its "Multiplayer in ten lines"
rm -rf "$scratch/rust/itest/.godot" "$scratch/demo_project/.godot"
[ "$(readlink -f "$scratch/rust/itest/addons")" = "$scratch/addons" ] || { echo "check_package: rust/itest/addons is not the relative link it should be" >&2; exit 1; }

if [ "${WEBRTC_RS_GODOT_ARCH:-}" = arm64 ]; then
    godot="$(bash .ci/get_godot.sh arm64 | tail -n 1)"
    "$godot" --headless --version >&2
    export WEBRTC_RS_EXPECT_ARCH=arm64
    export WEBRTC_RS_TEST_EXCLUDE=test_multiplayer:test_two_processes_connect_through_the_signaling_server
else
    godot="$(obtain_godot)"
fi
import_project "$godot" "$scratch/rust/itest"
import_project "$godot" "$scratch/demo_project"
export GODOT_EXECUTABLE="$godot"
# The zip's systemd unit is checked by Debian's systemd-analyze (test_lobby_deploy.gd).
WEBRTC_RS_SYSTEMD_ANALYZE="$(bash .ci/install_from_debian.sh systemd-analyze systemd | tail -n 1)"
export WEBRTC_RS_SYSTEMD_ANALYZE
export WEBRTC_RS_TEST_FILTER="test_registration,test_packets,test_stats,test_logging,test_multiplayer:test_two_processes,test_lobby:test_the_readme,test_lobby:test_tls,test_lobby_deploy:test_the_systemd,test_lobby_deploy:test_the_dockerfile"
isolated timeout 600 "$godot" --headless --path "$scratch/rust/itest" -s res://run_tests.gd
echo "check_package: $zip loads and passes the packaged-addon tests" >&2

# The class documentation, as the editor's help shows it (rust/itest/docs_check, a plugin
# enabled only in this scratch project).
docs="$scratch/docs_project"
mkdir -p "$docs/addons"
ln -s ../../addons/webrtc_rs "$docs/addons/webrtc_rs"
cp -r rust/itest/docs_check "$docs/addons/docs_check"
printf '%s\n' 'config_version=5' '[application]' 'config/name="webrtc_rs docs check"' \
    '[editor_plugins]' 'enabled=PackedStringArray("res://addons/docs_check/plugin.cfg")' >"$docs/project.godot"
# The first import of a project with a GDExtension can abort at exit (Godot issue #111048,
# documentation generation racing editor shutdown); the import itself is complete by then.
import_project "$godot" "$docs"
DOCS_CHECK_OUT="$scratch/docs.txt" timeout 120 "$godot" --headless --editor --path "$docs" >/dev/null 2>&1 || true
for expected in "Class:.*WebRTCRsPeerConnection" "You rarely name this class" "get_stats()" "set_log_level" \
        "Class:.*WebRTCRsDataChannel" "Packets of up to 65536 bytes" \
        "Class:.*WebRTCLobbyClient" "ready WebRTCMultiplayerPeer" "Class:.*WebRTCLobbyServer" "max_messages_per_second" \
        "Class:.*WebRTCLobbyListener" "EVENT_CLOSED comes exactly once"; do
    grep -q -- "$expected" "$scratch/docs.txt" 2>/dev/null || {
        echo "check_package: the editor's help does not show \"$expected\" (see $scratch/docs.txt)" >&2
        exit 1
    }
done
echo "check_package: the editor's help shows the addon's classes' documentation (the library's three, the lobby's server and client)" >&2
