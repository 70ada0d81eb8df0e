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
# build directory stays in the chroot, so a second run is incremental. Every run happens in a private mount namespace (/proc,
# /sys, /dev and an empty /run for `ip netns`), so nothing stays mounted afterwards.
#
# Lints (rustfmt, clippy) run in the host's run only: Debian's toolchains do not ship
# them, and formatting does not depend on Kea's version.
#
# Prints one line per version: `matrix: 2.6 ok, N tests passed` (or `FAILED`), then
# the plain `N passed, N failed` count of versions; exits non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=${KRS_MATRIX_CACHE:-/var/cache/kea-runscript-matrix}
# cargo -j inside the chroots: the machine has 2 cores shared with everything else.
JOBS=${KRS_MATRIX_JOBS:-2}
LOGS=$ROOT/target/matrix
mkdir -p "$LOGS"

# Version -> Debian suite, extra apt options, and how the chroot resolves Cargo.lock:
# `committed` builds with the repository's Cargo.lock; `msrv` re-resolves it with
# cargo's Rust-version-aware resolver (trixie's cargo 1.85 cannot build every crate
# version the committed lock pins, e.g. cxx 1.0.205 needs 1.88).
declare -A SUITE=([2.6]=trixie [3.0]=forky)
declare -A LOCK=([2.6]=msrv [3.0]=committed)
# This registry serves a frozen snapshot whose forky Release file has expired.
declare -A APTOPT=([2.6]="" [3.0]='Acquire::Check-Valid-Until "false"')
PACKAGES=kea-dhcp4-server,kea-dhcp6-server,kea-dev,kea-admin,libboost-dev,libssl-dev,g++,iproute2,procps,nftables,python3,rustc,cargo,ca-certificates

die() { echo "matrix: $*" >&2; exit 1; }

# The Debian mirror this host's apt uses (deb822 or one-line format).
mirror() {
    local uri
    uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
          grep -v -e security -e nodesource -e google | head -1 || true)
    [ -n "$uri" ] || uri=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*debian\)[[:space:]].*/\2/p' \
                          /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

# Makes $CACHE/<suite> unless a complete one is there (an interrupted run leaves only
# <suite>.tmp, which is started over).
ensure_chroot() {
    local version=$1 suite=${SUITE[$1]} dir=$CACHE/${SUITE[$1]}
    [ -f "$dir/.krs-matrix-ready" ] && return 0
    command -v mmdebstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
    mkdir -p "$CACHE"
    rm -rf "$dir.tmp" "$dir"
    local opts=(--variant=apt --include="$PACKAGES")
    [ -z "${APTOPT[$version]}" ] || opts+=(--aptopt="${APTOPT[$version]}")
    echo "matrix: creating the $suite chroot in $dir (once)"
    mmdebstrap "${opts[@]}" "$suite" "$dir.tmp" "$(mirror)" >"$LOGS/mmdebstrap-$suite.log" 2>&1 ||
        { tail -20 "$LOGS/mmdebstrap-$suite.log" >&2; die "mmdebstrap $suite failed (log: $LOGS/mmdebstrap-$suite.log)"; }
    [ -z "${APTOPT[$version]}" ] || echo "${APTOPT[$version]};" >"$dir.tmp/etc/apt/apt.conf.d/99krs-matrix"
    touch "$dir.tmp/.krs-matrix-ready"
    mv "$dir.tmp" "$dir"
}

# Runs `bash -c SCRIPT` as root inside the chroot of VERSION, in a private mount
# namespace with /proc, /sys, /dev and an empty /run, with the variables given after it.
in_chroot() {
    local dir=$CACHE/${SUITE[$1]} script=$2
    shift 2
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    unshare --mount --propagation private -- bash -c '
        set -e
        r=$1; shift
        # The chroot'"'"'s / must be a mount point: `ip netns exec` remounts it.
        mount --bind "$r" "$r"
        mount -t proc proc "$r/proc"
        mount -t sysfs sysfs "$r/sys"
        mount --rbind /dev "$r/dev"
        mount -t tmpfs -o mode=0755 tmpfs "$r/run"
        mkdir -p "$r/run/lock"
        exec chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
    ' matrix-chroot "$dir" "$@" bash -c "$script"
}

# Copies the working tree (without target/ and .git) to /src in the chroot, resolves its
# Cargo.lock as the version's LOCK says and vendors every crate it names into /vendor.
# The host's cargo talks to the registry; the chroot builds offline from /vendor, so it
# needs no network access of its own.
prepare_tree() {
    local dir=$CACHE/${SUITE[$1]}
    rm -rf "$dir/src"
    mkdir -p "$dir/src/.cargo"
    tar -C "$ROOT" --exclude=./target --exclude=./.git -cf - . | tar -C "$dir/src" -xf -
    if [ "${LOCK[$1]}" = msrv ]; then
        # Rust-version-aware resolution (cargo >= 1.84): the newest versions that build
        # with the workspace's rust-version, older ones where needed.
        rm -f "$dir/src/Cargo.lock"
        (cd "$dir/src" && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile -q)
    fi
    (cd "$dir/src" && cargo vendor -q --locked "$dir/vendor" >/dev/null)
    cat >"$dir/src/.cargo/config.toml" <<'CONFIG'
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "/vendor"
CONFIG
}

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
    fi
}

run_host() {
    local log=$LOGS/2.2.log status=0
    echo "matrix: 2.2 on the host ($(dpkg-query -W -f '${Version}' kea-dev 2>/dev/null || echo 'kea-dev not installed yet'))"
    scripts/test.sh >"$log" 2>&1 || status=$?
    report 2.2 "$status" "$log"
}

run_chroot() {
    local version=$1 log=$LOGS/$1.log status=0
    ensure_chroot "$version"
    prepare_tree "$version"
    echo "matrix: $version in the ${SUITE[$version]} chroot (Kea $(chroot "$CACHE/${SUITE[$version]}" dpkg-query -W -f '${Version}' kea-dev))"
    # The build directory and cargo's home stay in the chroot (/build), so reruns are
    # incremental. CI=true: a missing prerequisite fails instead of skipping.
    in_chroot "$version" '
        set -euo pipefail
        cd /src
        rustc --version; cargo --version
        scripts/test.sh
    ' CI=true KRS_LINTS=host CARGO_HOME=/build/cargo-home CARGO_NET_OFFLINE=true \
      CARGO_TARGET_DIR=/build/target CARGO_BUILD_JOBS="$JOBS" >"$log" 2>&1 || status=$?
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
