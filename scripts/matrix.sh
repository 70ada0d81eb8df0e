#!/usr/bin/env bash
# Runs the whole test suite against each supported Kea: 2.2 on this host (Debian 12
# bookworm), 2.6 in a Debian 13 trixie chroot, 3.0 in a Debian forky chroot.
#
#   scripts/matrix.sh [2.2|2.6|3.0|all]...     (default: all)
#
# Each chroot is made once with mmdebstrap from the Debian registry this host uses,
# with that release's Kea (servers, headers, perfdhcp), Boost, g++, iproute2, procps,
# nftables, python3 and Rust toolchain, and kept under $KRS_MATRIX_CACHE
# (/var/cache/kea-runscript-matrix/<suite>); later runs reuse it. The source tree is
# copied in and its crates vendored by the host's cargo (the chroot builds offline); the
# build directory stays in the chroot, so a second run is incremental. Every run happens
# in a private mount namespace (/proc, /sys, /dev and an empty /run for `ip netns`), so
# nothing stays mounted afterwards.
#
# After the tests, each version's Debian package is built and checked in a clean chroot
# of its release (scripts/package.sh --check): installed with apt-get, Kea started with
# the installed library and example, events shown.
#
# Lints (rustfmt, clippy) run in the host's run only: Debian's toolchains do not ship
# them, and formatting does not depend on Kea's version.
#
# Prints one line per version: `matrix: 2.6 ok, N tests passed` (or `FAILED`), then
# the plain `N passed, N failed` count of versions; exits non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOGS=$ROOT/target/matrix
mkdir -p "$LOGS"
# shellcheck source=lib/chroot.sh
. scripts/lib/chroot.sh

die() { echo "matrix: $*" >&2; exit 1; }

# Sums `test result: ok. N passed` lines of cargo test output in LOG.
passed_in() { sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}'; }

ok_count=0 fail_count=0
report() {
    local version=$1 status=$2 log=$3 n
    n=$(passed_in "$log")
    if [ "$status" -eq 0 ]; then
        echo "matrix: $version ok, $n tests passed"; ok_count=$((ok_count + 1))
    else
        echo "matrix: $version FAILED (exit $status), $n tests passed; log: $log"; fail_count=$((fail_count + 1))
        # What failed, where a CI log shows it.
        grep -E -A12 '^(---- .* stdout ----|failures:|error(\[|:))' "$log" | tail -80 | sed "s/^/    [$version] /"
    fi
}

# Builds VERSION's package and checks it in a clean chroot of its release, appending to LOG;
# prints the check's last lines.
check_package() {
    local version=$1 log=$2 status=0
    scripts/package.sh --check "$version" >>"$log" 2>&1 || status=$?
    grep -E '^(package|deb-check):' "$log" | tail -2 | sed 's/^/    /'
    return "$status"
}

run_host() {
    local log=$LOGS/2.2.log status=0
    echo "matrix: 2.2 on the host ($(dpkg-query -W -f '${Version}' kea-dev 2>/dev/null || echo 'kea-dev not installed yet'))"
    scripts/test.sh >"$log" 2>&1 || status=$?
    [ "$status" -ne 0 ] || check_package 2.2 "$log" || status=$?
    report 2.2 "$status" "$log"
}

run_chroot() {
    local version=$1 log=$LOGS/$1.log status=0 dir=$CACHE/${SUITE[$1]}
    ensure_chroot "$version"
    prepare_tree "$version"
    echo "matrix: $version in the ${SUITE[$version]} chroot (Kea $(chroot "$dir" dpkg-query -W -f '${Version}' kea-dev))"
    # CI=true: a missing prerequisite fails instead of skipping.
    in_chroot "$dir" '
        set -euo pipefail
        cd /src
        rustc --version; cargo --version
        scripts/test.sh
    ' CI=true KRS_LINTS=host "${CHROOT_CARGO_VARS[@]}" >"$log" 2>&1 || status=$?
    [ "$status" -ne 0 ] || check_package "$version" "$log" || status=$?
    report "$version" "$status" "$log"
}

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(all)
[ "${versions[*]}" != all ] || versions=(2.2 2.6 3.0)
[ "$(id -u)" -eq 0 ] || die "run as root (chroots, network namespaces)"
for v in "${versions[@]}"; do
    case $v in
        2.2) run_host ;;
        2.6 | 3.0) run_chroot "$v" ;;
        *) die "unknown version '$v' (2.2, 2.6, 3.0 or all)" ;;
    esac
done
echo "matrix: $ok_count passed, $fail_count failed"
[ "$fail_count" -eq 0 ]
