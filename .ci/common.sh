# Shared by .ci/test and .ci/demo (sourced, not run).

export WEBRTC_RS_INTERFACES=lo

step() { printf '\n=== %s\n' "$*" >&2; }

# Runs a command in a fresh network namespace with only loopback up, if the machine lets us
# make one; otherwise on the host (the interface restriction still keeps it on loopback).
isolated() {
    if unshare --net true 2>/dev/null; then
        unshare --net -- bash -c 'ip link set lo up && exec "$@"' isolated "$@"
    else
        echo "note: no private network namespace here; running on the host's loopback" >&2
        "$@"
    fi
}

# Prints the Godot to use (downloading it into the cache on first use).
obtain_godot() {
    local godot
    godot="$(bash .ci/get_godot.sh | tail -n 1)"
    "$godot" --headless --version >&2
    printf '%s\n' "$godot"
}

# Exports the interop peers and tools the GDScript suite uses (installing them on first use):
# aiortc from PyPI; Debian's chromium, coturn and nftables; and the lobby's deployment tools,
# Debian's nginx and systemd-analyze (rust/itest/tests/test_lobby_deploy.gd).
export_interop_peers() {
    WEBRTC_RS_AIORTC_PYTHON="$(bash .ci/install_aiortc.sh | tail -n 1)"
    WEBRTC_RS_CHROMIUM="$(bash .ci/install_from_debian.sh chromium chromium | tail -n 1)"
    WEBRTC_RS_TURNSERVER="$(bash .ci/install_from_debian.sh turnserver coturn | tail -n 1)"
    WEBRTC_RS_NFT="$(bash .ci/install_from_debian.sh nft nftables | tail -n 1)"
    # Makes the test CA and certificate for the TURN-over-TLS tests (rust/itest/turn_server.gd).
    WEBRTC_RS_OPENSSL="$(bash .ci/install_from_debian.sh openssl openssl | tail -n 1)"
    WEBRTC_RS_NGINX="$(bash .ci/install_from_debian.sh nginx nginx | tail -n 1)"
    WEBRTC_RS_SYSTEMD_ANALYZE="$(bash .ci/install_from_debian.sh systemd-analyze systemd | tail -n 1)"
    export WEBRTC_RS_AIORTC_PYTHON WEBRTC_RS_CHROMIUM WEBRTC_RS_TURNSERVER WEBRTC_RS_NFT \
        WEBRTC_RS_OPENSSL WEBRTC_RS_NGINX WEBRTC_RS_SYSTEMD_ANALYZE
}

# Imports a project once so Godot registers the addon's .gdextension.
import_project() {
    local godot="$1" project="$2"
    "$godot" --headless --path "$project" --import >/dev/null 2>&1 || true
    grep -q webrtc_rs "$project/.godot/extension_list.cfg" 2>/dev/null || {
        echo "importing $project did not register the extension" >&2
        return 1
    }
}
