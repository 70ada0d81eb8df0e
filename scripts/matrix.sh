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
# The chroots are made in the background from the start, while the host's phases run
# (see start_background). A cold run (fresh clone, empty cache) on a 2-core machine shared
# with other builds: the three versions' chroots 58-208 s, all ready within the host's
# lints; the host 2,166 s (scripts/test.sh: lints 221, debug build 115, tests 561,
# release-build tests 613, fuzzing 345, soak 311) and its package 7 s; 2.6 973 s (build
# 417, tests 423, package 130); 3.0 674 s (build 182, tests 381, package 109): 3,820 s
# (64 minutes) in all against CI's 90, with the load average at 3-9 (2026-11-30).
#
# Lints (rustfmt, clippy) run in the host's run only: Debian's toolchains do not ship
# them, and formatting does not depend on Kea's version. So do the extended tests of
# scripts/test.sh (KRS_EXTENDED: release-build e2e, fuzzing, soak): they test the library's
# own code, which is the same against every Kea, and would multiply CI's time.
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
        { grep -E -A12 '^(---- .* stdout ----|failures:|error(\[|:)|(chroot|package|test\.sh|install-deps): )' "$log" || true; } |
            tail -80 | sed "s/^/    [$version] /"
        echo "    [$version] last lines of $log:"
        tail -15 "$log" | sed "s/^/    [$version] /"
    fi
}

# Runs phase NAME of VERSION: "$@" (a command or a function of this script) with `set -e`
# in force, its output appended to LOG. Sets `rc` to its exit status and prints the phase's
# wall time. Call it as a plain statement: bash ignores `set -e` in anything run from an
# `if`, `&&` or `||` list, so a failing step inside would go unnoticed.
step() {
    local version=$1 name=$2 log=$3 start=$SECONDS
    shift 3
    echo "=== matrix: $version $name" >>"$log"
    set +e
    (set -e; "$@") >>"$log" 2>&1
    rc=$?
    set -e
    echo "matrix: $version $name: $((SECONDS - start)) s$([ "$rc" -eq 0 ] || echo " (FAILED, exit $rc)")"
}

# The chroots are made in the background from the start: mmdebstrap and apt are bound by
# the registry and dpkg, not the CPU, so they overlap the host's lints, builds and tests
# (and each other). One job per version makes its build chroot (2.6, 3.0) and the clean
# chroot tarball of its package check (all three). A version's turn first waits for its
# job and appends the job's log to its own. A failed job is only reported: the version's
# own steps then make what is missing again (a second try), and a failure there counts.
declare -A BG_PID=()
start_background() {
    local v
    need_mmdebstrap # here, not in the jobs: two apt-gets at once collide on dpkg's lock
    for v in "$@"; do
        (
            set -e
            start=$SECONDS
            [ "$v" = 2.2 ] || ensure_chroot "$v"
            ensure_clean_tarball "$v"
            echo "chroot: $v chroots ready after $((SECONDS - start)) s"
        ) >"$LOGS/$v-background.log" 2>&1 &
        BG_PID[$v]=$!
    done
}
await_background() {
    local version=$1 log=$2 pid=${BG_PID[$1]:-} start=$SECONDS bg_rc=0
    [ -n "$pid" ] || return 0
    unset "BG_PID[$version]"
    wait "$pid" || bg_rc=$?
    { echo "=== matrix: $version chroots made in the background"; cat "$LOGS/$version-background.log"; } >>"$log"
    if [ "$bg_rc" -eq 0 ]; then
        echo "matrix: $version chroots (background): $(tail -1 "$LOGS/$version-background.log" | sed 's/.*after //'), waited $((SECONDS - start)) s"
    else
        echo "matrix: $version chroots (background): FAILED (exit $bg_rc; log: $LOGS/$version-background.log), made again now"
    fi
}
# On an early exit (a failed host run), the jobs are let finish: a killed mmdebstrap
# could leave its mounts behind.
trap 'for p in "${BG_PID[@]}"; do wait "$p" || true; done' EXIT

run_host() {
    local log=$LOGS/2.2.log
    : >"$log"
    echo "matrix: 2.2 on the host ($(dpkg-query -W -f '${Version}' kea-dev 2>/dev/null || echo 'kea-dev not installed yet'))"
    step 2.2 "build and tests" "$log" scripts/test.sh
    if [ "$rc" -eq 0 ]; then
        await_background 2.2 "$log"
        step 2.2 package "$log" scripts/package.sh --check 2.2
        { grep -E '^(package|deb-check):' "$log" || true; } | tail -2 | sed 's/^/    /'
    fi
    report 2.2 "$rc" "$log"
}

# The build in VERSION's chroot, apart from the tests so that each phase's time shows.
chroot_build() {
    in_chroot "$CACHE/${SUITE[$1]}" '
        set -euo pipefail
        cd /src
        rustc --version; cargo --version
        cargo build -p kea-runscript-hook
        cargo test --workspace --no-run
    ' "${CHROOT_CARGO_VARS[@]}"
}

# The whole suite in VERSION's chroot. CI=true: a missing prerequisite fails instead of
# skipping.
chroot_tests() {
    in_chroot "$CACHE/${SUITE[$1]}" 'cd /src && scripts/test.sh' \
        CI=true KRS_LINTS=host KRS_EXTENDED=0 "${CHROOT_CARGO_VARS[@]}"
}

run_chroot() {
    local version=$1 log=$LOGS/$1.log dir=$CACHE/${SUITE[$1]} start=$SECONDS
    : >"$log"
    echo "matrix: $version in the ${SUITE[$version]} chroot $dir"
    await_background "$version" "$log"
    step "$version" "chroot (made once, then reused)" "$log" ensure_chroot "$version"
    if [ "$rc" -eq 0 ]; then
        echo "    Kea $(chroot "$dir" dpkg-query -W -f '${Version}' kea-dev)"
        step "$version" "source tree and vendored crates" "$log" prepare_tree "$version"
    fi
    if [ "$rc" -eq 0 ]; then
        step "$version" "build in the chroot" "$log" chroot_build "$version"
    fi
    if [ "$rc" -eq 0 ]; then
        step "$version" "tests in the chroot" "$log" chroot_tests "$version"
    fi
    if [ "$rc" -eq 0 ]; then
        # The tree is in place: the package build reuses it (and the chroot's build cache).
        step "$version" package "$log" env KRS_TREE_READY=1 scripts/package.sh --check "$version"
        { grep -E '^(package|deb-check):' "$log" || true; } | tail -2 | sed 's/^/    /'
    fi
    echo "matrix: $version took $((SECONDS - start)) s"
    report "$version" "$rc" "$log"
}

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(all)
[ "${versions[*]}" != all ] || versions=(2.2 2.6 3.0)
[ "$(id -u)" -eq 0 ] || die "run as root (chroots, network namespaces)"
for v in "${versions[@]}"; do
    case $v in 2.2 | 2.6 | 3.0) ;; *) die "unknown version '$v' (2.2, 2.6, 3.0 or all)" ;; esac
done
start_background "${versions[@]}"
for v in "${versions[@]}"; do
    case $v in
        2.2) run_host ;;
        *) run_chroot "$v" ;;
    esac
done
echo "matrix: $ok_count passed, $fail_count failed"
[ "$fail_count" -eq 0 ]
