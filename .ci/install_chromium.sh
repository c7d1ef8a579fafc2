#!/usr/bin/env bash
# Installs Debian's chromium (the browser the interop tests drive headless) if it is missing.
# Prints the chromium path last.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show chromium >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium >&2
fi
command -v chromium
