#!/usr/bin/env bash
# Unpacks Debian sid packages, with their whole dependency closure, into a private root in the
# cache, without touching the host system: the way .ci/get_godot.sh obtains Godot, and
# .ci/windows_gnu.sh sid's Rust and MinGW-w64 toolchains.
#
#   1. apt-get runs with a completely private configuration (own sources list, own package
#      lists, empty dpkg status, own archive cache) to resolve and download the packages plus
#      their closure, including sid's libc6;
#   2. every .deb is unpacked with `dpkg -x` into the root (no maintainer scripts run,
#      nothing is registered with the host's dpkg).
# Sid's binaries need sid's glibc: run them through the root's own dynamic loader
# (ld-linux-x86-64.so.2 in the root) with --library-path pointing into the root.
#
# Usage: .ci/sid_root.sh [--arch ARCH[,ARCH...]] NAME PACKAGE...
#   --arch: the Debian architectures the root holds, the first one native (what a PACKAGE
#           without :ARCH means); default amd64. amd64,arm64 gives an amd64 root that also
#           holds arm64 packages named PACKAGE:arm64 (a cross build's target libraries);
#           arm64 alone an arm64 root, whose programs run under qemu-user. Each architecture's
#           libraries go to their own multiarch folder (usr/lib/x86_64-linux-gnu,
#           usr/lib/aarch64-linux-gnu), so the loaders do not mix them.
#   stdout: only the absolute path of the root, $WEBRTC_RS_CACHE/NAME/root (last line).
#   stderr: progress and errors.
# Environment:
#   WEBRTC_RS_CACHE  cache base directory (default: $HOME/.cache/webrtc_rs).
#   DEBIAN_MIRROR    override the Debian mirror URL (default: the one the host's
#                    apt sources already use, e.g. http://deb.debian.org/debian).
#
# A complete root (stamp file naming the same packages) is reused at once, with no network.
# Needs: bash, apt-get, dpkg, flock (util-linux); run as root (apt-get's download step wants
# to lock its (private) dpkg admin dir).
set -euo pipefail

log() { printf 'sid_root: %s\n' "$*" >&2; }
die() { printf 'sid_root: error: %s\n' "$*" >&2; exit 1; }

usage="usage: .ci/sid_root.sh [--arch ARCH[,ARCH...]] NAME PACKAGE..."
arches=amd64
if [[ "${1:-}" == --arch ]]; then
    [[ $# -ge 2 ]] || die "$usage"
    arches="$2"
    shift 2
fi
[[ "$arches" =~ ^[a-z0-9]+(,[a-z0-9]+)*$ ]] || die "--arch takes a comma-separated list, not '$arches'"
IFS=, read -ra arch_list <<<"$arches"
native_arch="${arch_list[0]}"
[[ $# -ge 2 ]] || die "$usage"
name="$1"
shift
packages=("$@")
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "NAME must be a plain folder name, not '$name'"

base="${WEBRTC_RS_CACHE:-${HOME:?HOME is not set and WEBRTC_RS_CACHE is not given}/.cache/webrtc_rs}"
mkdir -p "$base"
base="$(cd "$base" && pwd -P)"  # absolute: callers bake the root's path into wrappers
dir="$base/$name"
root="$dir/root"
stamp="$dir/.unpacked"
# Bump the v1 when what this script makes changes, so cached roots are rebuilt. The default
# architecture is left out, so the roots made before --arch existed stay valid.
key="v1 ${packages[*]}"
[[ "$arches" == amd64 ]] || key+=" arch=$arches"

# --- Fast path: a complete earlier run. No network, no apt, no locking. ----
if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    printf '%s\n' "$root"
    exit 0
fi

for tool in apt-get dpkg flock; do
    command -v "$tool" >/dev/null || die "'$tool' not found (this script targets Debian 12)"
done
[[ "$(dpkg --print-architecture)" == amd64 ]] \
    || die "only amd64 (x86_64) hosts are supported, this is $(dpkg --print-architecture)"

# Serialise concurrent runs (e.g. parallel test jobs): the second one waits and then takes
# the fast path. (Not NAME.lock: a caller may hold that one while it calls this script.)
exec 8>"$base/$name.unpack.lock"
flock 8
if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    printf '%s\n' "$root"
    exit 0
fi

# No stamp means nothing, an interrupted run or other packages: start from scratch so no
# half-downloaded or half-extracted state leaks into the result.
if [[ -e "$dir" ]]; then
    log "removing incomplete or outdated previous attempt in $dir"
    rm -rf -- "$dir"
fi
mkdir -p "$dir"/{etc,lists/partial,archives/partial,root}
: >"$dir/status"  # empty dpkg status: apt resolves the full closure from zero

# --- Which Debian mirror? --------------------------------------------------
# Use the host that the machine's own apt sources already use: that is the
# one known to be reachable (some machines only reach their configured
# mirror). Take the first http(s) URI whose path ends in /debian, which skips
# debian-security and third-party repositories.
detect_mirror() {
    local f uri uris=""
    # One-line format: deb [options] URI suite components...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        uris+="$(sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f")"$'\n'
    done
    # deb822 format: "URIs: uri [uri...]"
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        uris+="$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f")"$'\n'
    done
    for uri in $uris; do
        uri="${uri%/}"
        if [[ "$uri" =~ ^https?://[^/]+(/.*)?/debian$ ]]; then
            printf '%s\n' "$uri"
            return 0
        fi
    done
}
mirror="${DEBIAN_MIRROR:-$(detect_mirror)}"
if [[ -z "$mirror" ]]; then
    mirror="http://deb.debian.org/debian"
    log "no Debian mirror found in /etc/apt sources, falling back to $mirror"
fi
mirror="${mirror%/}"

# --- Trust: verify sid's InRelease with the host's Debian archive keyring. --
# bookworm's debian-archive-keyring (2023.3+deb12u2) contains the bookworm
# (12) and trixie (13) automatic signing keys, and sid's InRelease is
# currently signed by exactly those, so apt verifies it with no extra key
# material. We never disable verification. If a future sid is signed only by
# keys newer than the host knows, apt fails with NO_PUBKEY; the secure fix is
# to update the host's debian-archive-keyring through bookworm's own signed
# channels (stable updates/proposed-updates/backports) - never to fetch sid's
# keyring package, which could not itself be verified.
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r "$keyring" ]] || die "$keyring missing; install the debian-archive-keyring package"
printf 'deb [arch=%s signed-by=%s] %s sid main\n' "$arches" "$keyring" "$mirror" >"$dir/etc/sources.list"

# --- Private apt configuration. ---------------------------------------------
# Everything apt reads or writes points into $dir; the host's sources, pins,
# package lists, dpkg database and archive cache are neither read nor written.
# The host's apt.conf.d is still read on purpose (proxy settings, timeouts,
# Check-Valid-Until policy), but the hooks it may define are cleared: they act
# on the host's caches (docker-clean, appstream, packagekit). Clearing a list
# needs `#clear` in a config file (`-o Foo::=` would only append to it), so
# the whole private configuration lives in one file passed with -c.
[[ "$dir" != *'"'* ]] || die "cache path must not contain a double quote: $dir"
cat >"$dir/etc/apt.conf" <<EOF
// Generated by .ci/sid_root.sh: private apt setup for sid's ${packages[*]}.
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State::Lists "$dir/lists";
// dpkg's locks are taken next to the status file, i.e. in $dir as well.
Dir::State::Status "$dir/status";
Dir::Cache "$dir";
Dir::Cache::Archives "$dir/archives";
APT::Architecture "$native_arch";
#clear APT::Architectures;
APT::Architectures { $(printf '"%s"; ' "${arch_list[@]}")};
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
// Only the Packages index is needed: no translations, no AppStream data.
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
// Belt and braces: never accept unsigned or unverifiable data.
Acquire::AllowInsecureRepositories "false";
APT::Get::AllowUnauthenticated "false";
Acquire::Retries "3";
EOF
apt_opts=(-c "$dir/etc/apt.conf")
# apt drops privileges to the `_apt` user for downloads, but _apt usually
# cannot enter a cache under /root. apt would then fall back to root anyway,
# with a warning; say so explicitly instead. Integrity does not depend on the
# sandbox: every .deb is checked against the SHA256 in the signed index.
if [[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1 \
    && ! runuser -u _apt -- test -x "$dir/archives" 2>/dev/null; then
    apt_opts+=(-o "APT::Sandbox::User=root")
fi

# --- Resolve and download the closure. -------------------------------------
t0=$SECONDS
log "fetching the sid package index from $mirror (signature checked against $keyring)"
apt-get "${apt_opts[@]}" -q --error-on=any update >&2 \
    || die "apt-get update for sid failed (mirror $mirror unreachable or signature not verifiable)"

# The closure is always resolved by apt, never hard-coded. --print-uris
# lists one "'URL' file size hash" line per package without downloading.
uris="$(apt-get "${apt_opts[@]}" -qq install --print-uris --no-install-recommends -y "${packages[@]}")" \
    || die "apt could not resolve sid's ${packages[*]} and their dependencies"
n_pkgs=$(grep -c "^'" <<<"$uris" || true)
[[ "$n_pkgs" -gt 0 ]] || die "apt resolved no packages for ${packages[*]}"
mb=$(awk "/^'/ { s += \$3 } END { printf \"%.0f\", s / 1e6 }" <<<"$uris")
log "downloading $n_pkgs packages (~$mb MB) into $dir/archives"

# Download-only install into the private archive cache: apt fetches with
# retries and verifies each .deb's SHA256 against the signed index.
# Nothing is unpacked or configured by apt, and the host's dpkg is not
# involved.
apt-get "${apt_opts[@]}" -q install --download-only --no-install-recommends -y "${packages[@]}" >&2 \
    || die "downloading the closure of ${packages[*]} failed"
n_debs=$(find "$dir/archives" -maxdepth 1 -name '*.deb' | wc -l)
[[ "$n_debs" -eq "$n_pkgs" ]] || die "expected $n_pkgs .debs, found $n_debs in $dir/archives"
log "index and packages fetched in $((SECONDS - t0)) s"

# --- Unpack into the private root. -----------------------------------------
# dpkg -x only unpacks files: no maintainer scripts, no dpkg database entry.
log "unpacking into $root"
for deb in "$dir/archives"/*.deb; do
    dpkg -x "$deb" "$root" || die "dpkg -x failed for $deb"
done
# The .debs and package lists are not needed once unpacked.
rm -rf -- "$dir/archives" "$dir/lists"

printf '%s\n' "$key" >"$stamp"
log "${packages[*]} unpacked in $((SECONDS - t0)) s"
printf '%s\n' "$root"
