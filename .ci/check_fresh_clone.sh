#!/usr/bin/env bash
# Checks that cargo leaves a fresh clone as git made it, before and after
# .ci/patch_webrtc_rs.sh: in a new clone of this repository's HEAD (in a temporary folder),
#   1. `cargo build`, `cargo build --locked` and `cargo metadata` stop, naming the unpatched
#      webrtc-rs-patched/ (the [patch.crates-io] entries of Cargo.toml), and change no tracked
#      file (Cargo.lock above all: it locks the patched crates as path packages);
#   2. after .ci/patch_webrtc_rs.sh, `cargo metadata` (which resolves as `cargo build` does)
#      changes no tracked file and `cargo metadata --locked` succeeds.
# Cheap: nothing is compiled (the crates cargo resolves are downloaded, if not yet in cargo's
# cache); about 2 s. With --build it also runs `cargo build --locked -p webrtc_rs --lib` in the
# clone and checks again: a full debug build in a temporary target folder, or, with
# CARGO_TARGET_DIR=<a checkout's target>, only the patched crates and webrtc_rs (their paths
# differ; 25 s here) -- but the clone's libwebrtc_rs.so then takes the place of that
# checkout's in target/debug/ (a cdylib's file name has no hash), so its next build links again.
#
#   .ci/check_fresh_clone.sh [--build]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build=false
case "${1:-}" in
    "") ;;
    --build) build=true ;;
    *) echo "usage: .ci/check_fresh_clone.sh [--build]" >&2; exit 2 ;;
esac

fail() {
    printf 'check_fresh_clone: FAILED: %s\n' "$*" >&2
    exit 1
}
log() { printf 'check_fresh_clone: %s\n' "$*" >&2; }

# The checkout may belong to another user (a CI container): these commands only read it.
git_repo() { git -c safe.directory="$repo" -C "$repo" "$@"; }
if ! head="$(git_repo rev-parse --verify -q HEAD)"; then
    log "skipped: $repo is not a git checkout with a commit"
    exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/webrtc_rs-fresh-clone.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
clone="$tmp/webrtc_rs"
git -c safe.directory='*' clone -q --no-checkout "$repo" "$clone"
git -C "$clone" checkout -q --detach "$head"
cd "$clone"
log "fresh clone of ${head:0:12} in $clone"
# Nothing is built in steps 1 and 2; a separate target folder keeps the clone's cargo away
# from the checkout's.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$tmp/target}"

# unchanged WHAT: fails if the clone's tracked files (or untracked, not ignored ones) changed.
unchanged() {
    local status
    status="$(git status --porcelain)"
    [ -z "$status" ] || fail "$1 changed the fresh clone (git status --porcelain):
$status
$(git diff --stat)"
}

# stops CMD...: the command must change nothing and fail because webrtc-rs-patched/ is missing.
stops() {
    local out="$tmp/out.txt" rc=0
    "$@" >"$out" 2>&1 || rc=$?
    unchanged "\`$*\` (before .ci/patch_webrtc_rs.sh)"
    [ "$rc" != 0 ] \
        || fail "\`$*\` succeeded in a clone where .ci/patch_webrtc_rs.sh has not run; it should stop"
    grep -q 'webrtc-rs-patched/.*Cargo.toml' "$out" \
        || fail "\`$*\` failed, but not because webrtc-rs-patched/ is missing:
$(cat "$out")"
    log "ok: \`$*\` stops and changes nothing ($(grep -m 1 'failed to read' "$out" | sed 's/^ *//'))"
}

# The cheap one first: where cargo would re-lock, metadata shows it without compiling.
stops cargo metadata --format-version 1
stops cargo build --locked
stops cargo build

bash .ci/patch_webrtc_rs.sh
unchanged ".ci/patch_webrtc_rs.sh"
cargo metadata --format-version 1 >/dev/null \
    || fail "\`cargo metadata\` failed after .ci/patch_webrtc_rs.sh"
unchanged "\`cargo metadata\` after .ci/patch_webrtc_rs.sh"
cargo metadata --locked --format-version 1 >/dev/null \
    || fail "\`cargo metadata --locked\` failed after .ci/patch_webrtc_rs.sh: Cargo.lock does not match Cargo.toml and the patched crates"
log "ok: after .ci/patch_webrtc_rs.sh, \`cargo metadata\` changes nothing and \`cargo metadata --locked\` succeeds"

if $build; then
    cargo build --locked -p webrtc_rs --lib \
        || fail "\`cargo build --locked -p webrtc_rs --lib\` failed in the fresh clone"
    unchanged "\`cargo build --locked -p webrtc_rs --lib\`"
    log "ok: \`cargo build --locked -p webrtc_rs --lib\` builds and changes nothing"
fi
log "passed"
