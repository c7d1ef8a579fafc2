# A private Python venv holding a pinned package set, reused at once while its pins hold.
# Sourced (not run) by .ci/install_aiortc.sh and .ci/install_check_jsonschema.sh, which set:
#   name     the venv's name (the venv is $WEBRTC_RS_CACHE/venv-$name)
#   PINS     the pinned closure, an array
#   entry    what the script prints, relative to the venv (bin/python, bin/<tool>)
# then call `venv_reuse_or_start`, install into "$venv", check it, and call `venv_done`.
# Environment: WEBRTC_RS_CACHE (default $HOME/.cache/webrtc_rs), PYTHON (default python3).

log() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { printf '%s: error: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show "$1" >/dev/null 2>&1 || apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Prints the entry and exits when a complete earlier run had the same pins (no network, no
# Python). Otherwise takes the lock (a concurrent run then takes the fast path), finds the
# base Python in $python and leaves an empty venv at $venv, its interpreter at $py.
venv_reuse_or_start() {
    base="${WEBRTC_RS_CACHE:-${HOME:?HOME is not set and WEBRTC_RS_CACHE is not given}/.cache/webrtc_rs}"
    mkdir -p "$base"
    base="$(cd "$base" && pwd -P)"
    venv="$base/venv-$name"
    py="$venv/bin/python"
    stamp="$venv/.complete"
    # What the venv was made with: other pins rebuild it. (The venv's python is a symlink to
    # its base interpreter, so a base Python that went away fails the -x test.)
    key="$(printf '%s\n' "${PINS[@]}")"
    venv_complete && { printf '%s\n' "$venv/$entry"; exit 0; }
    exec 9>"$base/venv-$name.lock"
    flock 9
    venv_complete && { printf '%s\n' "$venv/$entry"; exit 0; }

    t0=$SECONDS
    python="${PYTHON:-$(command -v python3 || true)}"
    [[ -n "$python" && -x "$python" ]] || die "no python3 found (set PYTHON)"
}

venv_complete() {
    [[ -f "$stamp" && -x "$py" && -x "$venv/$entry" && "$(cat "$stamp")" == "$key" ]]
}

# Makes the venv from scratch, so nothing half-installed is reused.
venv_create() {
    if [[ -e "$venv" ]]; then
        log "removing incomplete or outdated venv $venv"
        rm -rf -- "$venv"
    fi
    log "creating $venv with $python ($("$python" --version 2>&1))"
    if ! "$python" -m venv "$venv" >&2; then
        # Debian's own python3 keeps ensurepip in python3-venv.
        rm -rf -- "$venv"
        apt_install python3-venv
        "$python" -m venv "$venv" >&2 || die "could not create a venv with $python"
    fi
}

# Marks the venv complete and prints the entry.
venv_done() {
    printf '%s\n' "$key" >"$stamp"
    log "ready in $((SECONDS - t0)) s"
    printf '%s\n' "$venv/$entry"
}
