#!/usr/bin/env bash
# Installs check-jsonschema (the JSON-schema validator .ci/test's lint step runs on
# .github/workflows/*.yml, with the GitHub workflow schema it ships) into a private venv, from
# PyPI with pinned versions, binary wheels only (all of them are pure Python but rpds-py, which
# has manylinux wheels). Idempotent: a complete venv (stamp file matching the pins) is reused
# at once (.ci/pinned_venv.sh, shared with .ci/install_aiortc.sh).
#
# Usage: .ci/install_check_jsonschema.sh
#   stdout: only the check-jsonschema command's path (last line).
#   stderr: progress and errors.
# Environment:
#   WEBRTC_RS_CACHE  cache base directory (default: $HOME/.cache/webrtc_rs);
#                    the venv is $WEBRTC_RS_CACHE/venv-check-jsonschema.
#   PYTHON           the base Python (default: the machine's python3).
set -euo pipefail

source "$(dirname "$0")/pinned_venv.sh"
name=check-jsonschema
entry=bin/check-jsonschema

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

venv_reuse_or_start
venv_create
"$py" -m pip install -q --disable-pip-version-check --no-input --only-binary=:all: \
    "${PINS[@]}" >&2 || die "pip could not install ${PINS[*]}"

# The schema this script is for must be among the ones the package ships.
"$venv/$entry" --version >&2 || die "the installed check-jsonschema does not run"
help="$("$venv/$entry" --help)" || die "the installed check-jsonschema does not run"
grep -q 'vendor.github-workflows' <<<"$help" \
    || die "this check-jsonschema has no vendor.github-workflows schema"

venv_done
