#!/usr/bin/env bash
# Installs a Debian package if its command is missing, without starting any service it
# ships, and prints the command's path last. Usage: .ci/install_from_debian.sh COMMAND PACKAGE
# Used for the test peers and tools: chromium, coturn (turnserver), nftables (nft), nginx,
# systemd (systemd-analyze).
set -euo pipefail
command_name="$1"
package="$2"
if ! command -v "$command_name" >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # policy-rc.d keeps a package's service (coturn's, say) from being started on install.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-cache show "$package" >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$package" >&2
fi
command -v "$command_name"
