#!/usr/bin/env bash
# Obtain a runnable headless Godot 4 on Debian 12 (bookworm) x86_64 without
# touching the host system.
#
# Debian 12 has no Godot 4, but Debian sid ships `godot` 4.x. Its binaries
# need a newer glibc than bookworm's, and upgrading the host libc is not an
# option. So we:
#   1. (.ci/sid_root.sh) run apt-get with a completely private configuration (own sources list,
#      own package lists, empty dpkg status, own archive cache) to resolve and
#      download sid's `godot` package plus its whole dependency closure,
#      including sid's libc6;
#   2. (.ci/sid_root.sh) unpack every .deb with `dpkg -x` into a private root (no maintainer
#      scripts run, nothing is registered with the host's dpkg);
#   3. write a wrapper that starts Godot through the private root's own
#      dynamic loader (ld-linux) with a library path pointing into that root,
#      so Godot uses sid's glibc while the rest of the machine keeps bookworm's.
#      Processes that Godot spawns get the host loader/libs again, because
#      --library-path (unlike LD_LIBRARY_PATH) is not inherited.
#
# Usage: .ci/get_godot.sh [arm64]
#   arm64: sid's Linux arm64 Godot instead, with its arm64 closure (.ci/sid_root.sh --arch),
#          run by sid's qemu-user (qemu-aarch64, from the same root) through the root's
#          ld-linux-aarch64; for .ci/test-arm64. GODOT does not apply to it.
#   stdout: only the absolute path of the runnable godot wrapper (last line).
#   stderr: progress and errors.
# Environment:
#   GODOT            if set to an executable, it is printed as-is, nothing else
#                    happens.
#   WEBRTC_RS_CACHE  cache base directory (default: $HOME/.cache/webrtc_rs);
#                    Godot lives in $WEBRTC_RS_CACHE/godot-sid (arm64: godot-sid-arm64).
#   DEBIAN_MIRROR    override the Debian mirror URL (default: the one the host's
#                    apt sources already use, e.g. http://deb.debian.org/debian).
#
# Needs: bash, apt-get, dpkg, flock (util-linux); run as root (apt-get's
# download step wants to lock its (private) dpkg admin dir).
set -euo pipefail

log() { printf 'get_godot: %s\n' "$*" >&2; }
die() { printf 'get_godot: error: %s\n' "$*" >&2; exit 1; }

arch="${1:-x86_64}"
case "$arch" in
    x86_64) name=godot-sid triplet=x86_64-linux-gnu loader_name=ld-linux-x86-64.so.2 ;;
    arm64) name=godot-sid-arm64 triplet=aarch64-linux-gnu loader_name=ld-linux-aarch64.so.1 ;;
    *) die "usage: .ci/get_godot.sh [arm64]" ;;
esac

# --- Explicit override: use the caller's Godot, do nothing else. -----------
if [[ "$arch" == x86_64 && -n "${GODOT:-}" ]]; then
    if [[ -x "$GODOT" && ! -d "$GODOT" ]]; then
        printf '%s\n' "$GODOT"
        exit 0
    fi
    die "GODOT is set to '$GODOT' but that is not an executable file"
fi

base="${WEBRTC_RS_CACHE:-${HOME:?HOME is not set and WEBRTC_RS_CACHE is not given}/.cache/webrtc_rs}"
mkdir -p "$base"
base="$(cd "$base" && pwd -P)"  # absolute: the wrapper bakes in absolute paths
dir="$base/$name"
# Bump the suffix when the wrapper changes, so cached copies are rebuilt.
stamp="$dir/.complete-v2"
wrapper="$dir/godot"

# --- Fast path: a complete earlier run. No network, no apt, no locking. ----
# The stamp is written only after the wrapper has been verified to run.
if [[ -f "$stamp" && -x "$wrapper" ]]; then
    printf '%s\n' "$wrapper"
    exit 0
fi

command -v flock >/dev/null || die "'flock' not found (this script targets Debian 12)"

# Serialise concurrent runs (e.g. parallel test jobs): the second one waits and
# then takes the fast path below.
exec 9>"$base/$name.lock"
flock 9
if [[ -f "$stamp" && -x "$wrapper" ]]; then
    printf '%s\n' "$wrapper"
    exit 0
fi

# Steps 1 and 2 (private apt, unpacked closure): .ci/sid_root.sh, which reuses a complete
# root from an earlier run whose wrapper was not finished.
t0=$SECONDS
if [[ "$arch" == x86_64 ]]; then
    root="$(bash "$(dirname "$0")/sid_root.sh" godot-sid godot | tail -n 1)" \
        || die "could not obtain sid's godot package and its dependencies"
    run=()
else
    # An arm64 root with qemu-user from amd64 next to it (a static program: it needs no loader).
    root="$(bash "$(dirname "$0")/sid_root.sh" --arch arm64,amd64 godot-sid-arm64 \
        godot qemu-user:amd64 | tail -n 1)" \
        || die "could not obtain sid's arm64 godot package, its dependencies and qemu-user"
    run=("$root/usr/bin/qemu-aarch64")
    [[ -x "${run[0]}" ]] || die "no ${run[0]} (qemu-user missing from the closure?)"
fi
[[ "$root" == "$dir/root" ]] || die "sid_root.sh unpacked into $root, expected $dir/root"

# --- Locate the loader and the Godot binary inside the root. ---------------
# Take the real file, not a symlink: a symlink with an absolute target would
# point back into the host.
loader="$(find "$root" -type f -name "$loader_name" -print -quit)"
[[ -n "$loader" ]] || die "no $loader_name found in $root (libc6 missing from the closure?)"

# Resolve a path inside $root, following symlinks relative to $root (an
# absolute symlink target means "inside the root", not "on the host").
resolve_in_root() {
    local p="$1" target i
    for ((i = 0; i < 20; i++)); do
        [[ -L "$root$p" ]] || { printf '%s\n' "$root$p"; return 0; }
        target="$(readlink "$root$p")"
        if [[ "$target" == /* ]]; then p="$target"; else p="$(dirname "$p")/$target"; fi
    done
    return 1
}
godot_bin=""
for cand in /usr/bin/godot /usr/bin/godot4 /usr/games/godot /usr/games/godot4; do
    [[ -e "$root$cand" || -L "$root$cand" ]] || continue
    godot_bin="$(resolve_in_root "$cand")" || continue
    [[ -f "$godot_bin" ]] && break
    godot_bin=""
done
[[ -n "$godot_bin" ]] || die "no godot binary found under $root/usr/bin or $root/usr/games"
# The loader can only run ELF executables, not shell wrappers.
[[ "$(head -c 4 "$godot_bin" | od -An -c | tr -d ' ')" == '177ELF' ]] \
    || die "$godot_bin is not an ELF executable; the loader wrapper cannot run it"

# Search path for the loader: every library directory the packages use.
libpath=""
for d in "usr/lib/$triplet" "usr/lib/$triplet/pulseaudio" usr/lib "lib/$triplet" lib; do
    [[ -d "$root/$d" && ! -L "$root/$d" ]] && libpath="${libpath:+$libpath:}$root/$d"
done

# Every DT_NEEDED library must come from the root; a miss would silently fall
# back to the host's (older) copy via /etc/ld.so.cache, or fail at runtime.
deps="$("${run[@]}" "$loader" --library-path "$libpath" --list "$godot_bin" 2>&1)" \
    || die "the loader cannot resolve Godot's libraries: $deps"
if grep -q 'not found' <<<"$deps"; then
    die "libraries missing from the sid root: $(grep 'not found' <<<"$deps" | tr -s '\t\n' ' ')"
fi
outside="$(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<<"$deps" | grep -v -F "$root/" || true)"
[[ -z "$outside" ]] || die "some libraries resolve to the host, not the sid root: $outside"

# --- Write the wrapper. ------------------------------------------------------
# --argv0 keeps argv[0] pointing at Godot instead of the loader.
# Known limitation: /proc/self/exe is the loader, so OS.get_executable_path()
# reports ld-linux and Godot cannot relaunch itself (OS.create_instance etc.);
# start extra Godot processes through this wrapper instead. The wrapper exports
# GODOT_EXECUTABLE (its own path) so a project that launches Godot processes
# (the demo's --local-match) can find a command that works.
tmp_wrapper="$wrapper.tmp"
{
    printf '#!/bin/sh\n'
    printf '# Generated by .ci/get_godot.sh: Debian sid Godot run with sid glibc\n'
    printf '# from a private root, leaving the host libc untouched.\n'
    printf 'GODOT_EXECUTABLE=%q\nexport GODOT_EXECUTABLE\n' "$wrapper"
    printf 'exec'
    [[ ${#run[@]} -eq 0 ]] || printf ' %q' "${run[@]}"
    printf ' %q --library-path %q --argv0 %q %q "$@"\n' \
        "$loader" "$libpath" "$godot_bin" "$godot_bin"
} >"$tmp_wrapper"
chmod 755 "$tmp_wrapper"
mv -f -- "$tmp_wrapper" "$wrapper"

# --- Verify it really runs, then mark the cache complete. ------------------
version="$("$wrapper" --headless --version 2>&1)" \
    || die "'$wrapper --headless --version' failed: $version"
version="$(tail -n 1 <<<"$version")"
[[ "$version" == 4.* ]] || die "expected Godot 4.x, got '$version'"

# A throwaway project (outside any repo) proves a project can load and quit.
# Its user data/config/cache goes to the same throwaway dir, not to $HOME.
smoke="$(mktemp -d "${TMPDIR:-/tmp}/get_godot_smoke.XXXXXX")"
trap 'rm -rf -- "$smoke"' EXIT
cat >"$smoke/project.godot" <<'EOF'
config_version=5

[application]
config/name="get_godot_smoke"
run/main_scene="res://main.tscn"
EOF
cat >"$smoke/main.tscn" <<'EOF'
[gd_scene format=3]

[node name="Main" type="Node"]
EOF
if ! out="$(XDG_DATA_HOME="$smoke/xdg" XDG_CONFIG_HOME="$smoke/xdg" XDG_CACHE_HOME="$smoke/xdg" \
    "$wrapper" --headless --path "$smoke" --quit 2>&1)"; then
    die "'$wrapper --headless --path <tiny project> --quit' failed: $out"
fi

printf '%s\n' "$version" >"$stamp"
log "Godot $version ready (total $((SECONDS - t0)) s)"
printf '%s\n' "$wrapper"
