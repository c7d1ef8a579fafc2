#!/usr/bin/env bash
# Installs nftables if missing: the bad-link test loses packets with it where the kernel has
# no netem. Prints the nft path last.
set -euo pipefail
if ! command -v nft >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show nftables >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends nftables >&2
fi
command -v nft
