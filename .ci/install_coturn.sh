#!/usr/bin/env bash
# Installs Debian's coturn (the TURN/STUN server the interop tests start on loopback) if it
# is missing, without starting its system service. Prints the turnserver path last.
set -euo pipefail
if ! command -v turnserver >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # policy-rc.d keeps the package's service from being started on install.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-cache show coturn >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends coturn >&2
fi
command -v turnserver
