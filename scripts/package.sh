#!/usr/bin/env bash
# Builds the Debian package of the hook library for one Kea release into target/debian/.
#
#   scripts/package.sh [--check] [2.2|2.6|3.0]      (default: 2.2, this host's Kea)
#
# 2.2 builds on this host (Debian 12 bookworm); 2.6 and 3.0 build in the release's build
# chroot (trixie, forky; see scripts/lib/chroot.sh), against that release's Kea. The
# package (scripts/lib/make-deb.sh) holds the library in Kea's hooks directory, the
# examples in /usr/share/kea-runscript/examples and the docs, and depends on exactly the
# kea-common it was built against.
#
# --check then installs the package with `apt-get install ./<deb>` into a clean chroot of
# the release, starts kea-dhcp4 with a configuration naming the installed library and the
# installed debug.sh example, drives DHCP traffic and shows the events
# (scripts/lib/deb-check.sh). Prints `package: <version> ok, <deb>` at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOGS=$ROOT/target/matrix
OUT=$ROOT/target/debian
mkdir -p "$LOGS" "$OUT"
# shellcheck source=lib/chroot.sh
. scripts/lib/chroot.sh

die() { echo "package: $*" >&2; exit 1; }

check=""
[ "${1:-}" != --check ] || { check=1; shift; }
version=${1:-2.2}
[ -n "${SUITE[$version]:-}" ] || die "unknown version '$version' (2.2, 2.6 or 3.0)"
[ "$(id -u)" -eq 0 ] || die "run as root (chroots)"

# Build.
if [ "$version" = 2.2 ]; then
    [ "$(dpkg-query -W -f '${Version}' kea-common 2>/dev/null)" != "" ] || scripts/install-deps.sh
    case $(dpkg-query -W -f '${Version}' kea-common) in
        2.2.*) ;;
        *) die "this host's Kea is not 2.2; build 2.2 on Debian 12 bookworm" ;;
    esac
    [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
    deb=$(scripts/lib/make-deb.sh "$OUT" | tail -1)
else
    dir=$CACHE/${SUITE[$version]}
    ensure_chroot "$version"
    # scripts/matrix.sh has just put the tree in place for its tests.
    [ "${KRS_TREE_READY:-}" = 1 ] || prepare_tree "$version"
    rm -rf "$dir/build/debian"
    in_chroot "$dir" 'cd /src && scripts/lib/make-deb.sh /build/debian' \
        "${CHROOT_CARGO_VARS[@]}" >"$LOGS/package-$version.log" 2>&1 ||
        { tail -30 "$LOGS/package-$version.log" >&2; die "build for $version failed (log: $LOGS/package-$version.log)"; }
    built=$(tail -1 "$LOGS/package-$version.log")
    cp "$dir$built" "$OUT/"
    deb=$OUT/$(basename "$built")
fi
echo "package: built $deb"
dpkg-deb --field "$deb" Package Version Depends | sed 's/^/    /'

[ -n "$check" ] || exit 0

# Check: install into a clean chroot of the release and run Kea with it.
clean=$(mktemp -d "/tmp/krs-deb-check.XXXXXX")
trap 'rm -rf "$clean"' EXIT
clean_chroot "$version" "$clean"
mkdir -p "$clean/check"
cp "$deb" scripts/lib/testbed.sh scripts/lib/deb-check.sh "$clean/check/"
in_chroot "$clean" '
    set -euo pipefail
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./check/$DEB" | tail -3
    dpkg -s kea-runscript | grep -E "^(Status|Version|Depends):"
    bash /check/deb-check.sh /check/testbed.sh
' DEB="$(basename "$deb")" >"$LOGS/deb-check-$version.log" 2>&1 ||
    { cat "$LOGS/deb-check-$version.log" >&2; die "$version: the package check failed"; }
cat "$LOGS/deb-check-$version.log"
echo "package: $version ok, $(basename "$deb")"
