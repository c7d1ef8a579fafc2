#!/usr/bin/env bash
# Installs check-jsonschema (the JSON-schema validator .ci/test's lint step runs on
# .github/workflows/*.yml, with the GitHub workflow schema it ships) into a private venv, from
# PyPI with pinned versions, binary wheels only (all of them are pure Python but rpds-py, which
# has manylinux wheels). Idempotent: a complete venv (stamp file matching the pins) is reused
# at once. The same pattern as .ci/install_aiortc.sh.
#
# Usage: .ci/install_check_jsonschema.sh
#   stdout: only the check-jsonschema command's path (last line).
#   stderr: progress and errors.
# Environment:
#   WEBRTC_RS_CACHE  cache base directory (default: $HOME/.cache/webrtc_rs);
#                    the venv is $WEBRTC_RS_CACHE/venv-check-jsonschema.
#   PYTHON           the base Python (default: the machine's python3).
set -euo pipefail

log() { printf 'install_check_jsonschema: %s\n' "$*" >&2; }
die() { printf 'install_check_jsonschema: error: %s\n' "$*" >&2; exit 1; }

# The whole closure is pinned, so every machine validates against the same schema. Bump together.
PINS=(
    check-jsonschema==0.39.0
    attrs==26.1.0
    certifi==2026.10.19.post1
    charset-normalizer==3.5.3
    click==8.5.1
    idna==3.20
    jsonschema==4.26.0
    jsonschema-specifications==2025.9.1
    referencing==0.37.0
    regress==2026.9.1
    requests==2.34.2
    rpds-py==2026.9.1
    ruamel.yaml==0.19.1
    typing_extensions==4.16.0
    urllib3==2.8.0
)

base="${WEBRTC_RS_CACHE:-${HOME:?HOME is not set and WEBRTC_RS_CACHE is not given}/.cache/webrtc_rs}"
mkdir -p "$base"
base="$(cd "$base" && pwd -P)"
venv="$base/venv-check-jsonschema"
tool="$venv/bin/check-jsonschema"
stamp="$venv/.complete"
key="$(printf '%s\n' "${PINS[@]}")"

# --- Fast path: a complete earlier run with the same pins. No network. --------------------
if [[ -f "$stamp" && -x "$tool" && "$(cat "$stamp")" == "$key" ]]; then
    printf '%s\n' "$tool"
    exit 0
fi

# Serialise concurrent runs; the second one then takes the fast path.
exec 9>"$base/venv-check-jsonschema.lock"
flock 9
if [[ -f "$stamp" && -x "$tool" && "$(cat "$stamp")" == "$key" ]]; then
    printf '%s\n' "$tool"
    exit 0
fi

t0=$SECONDS
python="${PYTHON:-$(command -v python3 || true)}"
[[ -n "$python" && -x "$python" ]] || die "no python3 found (set PYTHON)"

# No stamp (or other pins): start from scratch so nothing half-installed is reused.
if [[ -e "$venv" ]]; then
    log "removing incomplete or outdated venv $venv"
    rm -rf -- "$venv"
fi
log "creating $venv with $python ($("$python" --version 2>&1))"
if ! "$python" -m venv "$venv" >&2; then
    # Debian's own python3 keeps ensurepip in python3-venv.
    rm -rf -- "$venv"
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show python3-venv >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends python3-venv >&2
    "$python" -m venv "$venv" >&2 || die "could not create a venv with $python"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input --only-binary=:all: \
    "${PINS[@]}" >&2 || die "pip could not install ${PINS[*]}"

# The schema this script is for must be among the ones the package ships.
"$tool" --version >&2 || die "the installed check-jsonschema does not run"
help="$("$tool" --help)" || die "the installed check-jsonschema does not run"
grep -q 'vendor.github-workflows' <<<"$help" \
    || die "this check-jsonschema has no vendor.github-workflows schema"

printf '%s\n' "$key" >"$stamp"
log "ready in $((SECONDS - t0)) s"
printf '%s\n' "$tool"
