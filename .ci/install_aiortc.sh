#!/usr/bin/env bash
# Installs aiortc (the Python WebRTC stack the interop tests run as an echo peer,
# rust/itest/interop/aiortc_echo_peer.py) and the `websockets` client into a private venv,
# from PyPI with pinned versions, binary wheels preferred. Idempotent: a complete venv (stamp
# file matching the pins and the base Python) is reused at once (.ci/pinned_venv.sh).
#
# Usage: .ci/install_aiortc.sh
#   stdout: only the venv's python path (last line).
#   stderr: progress and errors.
# Environment:
#   WEBRTC_RS_CACHE  cache base directory (default: $HOME/.cache/webrtc_rs);
#                    the venv is $WEBRTC_RS_CACHE/venv-aiortc.
#   PYTHON           the base Python (default: the machine's python3, 3.11 or newer).
set -euo pipefail

source "$(dirname "$0")/pinned_venv.sh"
name=aiortc
entry=bin/python

# The whole closure is pinned, so every machine runs the same stack. Bump together.
PINS=(
    aiortc==1.16.0
    aioice==0.13.0
    av==18.1.0
    cffi==2.1.1
    cryptography==50.0.2
    dnspython==2.9.2
    google-crc32c==1.9.0
    ifaddr==0.2.0
    pycparser==3.12
    pyee==13.0.1
    pylibsrtp==1.0.0
    pyOpenSSL==26.4.0
    typing_extensions==4.16.0
    websockets==17.4
)

venv_reuse_or_start
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$python is $("$python" --version 2>&1); aiortc ${PINS[0]#*==} needs 3.11 or newer"
venv_create

pip=("$py" -m pip install -q --disable-pip-version-check --no-input)
if ! "${pip[@]}" --only-binary=:all: "${PINS[@]}" >&2; then
    # No wheel for this machine: build from source, with the C toolchain and libraries.
    log "binary wheels not available for everything; installing build dependencies"
    apt_install build-essential pkg-config libffi-dev libssl-dev libsrtp2-dev libopus-dev \
        libvpx-dev libavformat-dev libavcodec-dev libavdevice-dev libavfilter-dev \
        libavutil-dev libswscale-dev libswresample-dev python3-dev
    "${pip[@]}" --prefer-binary "${PINS[@]}" >&2 || die "pip could not install ${PINS[*]}"
fi

# Check the stack imports and that the loopback patch of the echo peer still applies.
"$py" - >&2 <<'EOF' || die "the installed aiortc does not work"
import aioice.ice, aiortc, websockets
from aiortc.sdp import candidate_from_sdp
assert callable(aioice.ice.get_host_addresses), "aioice.ice.get_host_addresses is gone"
print("aiortc", aiortc.__version__, "websockets", websockets.__version__)
EOF

venv_done
