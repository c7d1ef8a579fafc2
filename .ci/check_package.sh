#!/usr/bin/env bash
# Checks a release zip the way a user meets it: unpacks it into a scratch copy of the test
# layout (rust/itest and demo_project beside an addons/ folder that comes only from the
# zip), imports both projects with headless Godot, and runs part of the GDScript suite —
# registration, packets, stats, logging and a two-process multiplayer match — against the
# packaged library.
#
#   .ci/check_package.sh [ZIP]     (default: the newest zip in target/dist)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source .ci/common.sh
zip="${1:-$(ls -t target/dist/webrtc_rs-*.zip | head -n 1)}"
[ -f "$zip" ] || { echo "check_package: no zip at '$zip'" >&2; exit 1; }

scratch="$repo/target/package-check"
rm -rf "$scratch"
mkdir -p "$scratch/rust"
python3 -m zipfile -e "$zip" "$scratch"
for file in webrtc_rs.gdextension LICENSE README.md THIRD_PARTY_LICENSES.md; do
    [ -f "$scratch/addons/webrtc_rs/$file" ] || { echo "check_package: the zip has no addons/webrtc_rs/$file" >&2; exit 1; }
done
ls "$scratch"/addons/webrtc_rs/lib/* >/dev/null 2>&1 || { echo "check_package: the zip has no library" >&2; exit 1; }
# Copies keep their relative `addons` links, which now lead to the unpacked addon.
cp -a rust/itest "$scratch/rust/itest"
cp -a demo_project "$scratch/demo_project"
rm -rf "$scratch/rust/itest/.godot" "$scratch/demo_project/.godot"
[ "$(readlink -f "$scratch/rust/itest/addons")" = "$scratch/addons" ] || { echo "check_package: rust/itest/addons is not the relative link it should be" >&2; exit 1; }

godot="$(obtain_godot)"
import_project "$godot" "$scratch/rust/itest"
import_project "$godot" "$scratch/demo_project"
export GODOT_EXECUTABLE="$godot"
export WEBRTC_RS_TEST_FILTER="test_registration,test_packets,test_stats,test_logging,test_multiplayer:test_two_processes"
isolated timeout 600 "$godot" --headless --path "$scratch/rust/itest" -s res://run_tests.gd
echo "check_package: $zip loads and passes the packaged-addon tests" >&2
