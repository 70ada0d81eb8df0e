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
# What runs where: the host runs the whole of scripts/test.sh (lints, the debug suite, the
# end-to-end tests against the release build, fuzzing, the soak); the chroots run what
# depends on Kea's version, `scripts/test.sh --kea` (the hook crate's unit and end-to-end
# tests, debug build, with the release's own Rust). The env, core and cli crates know
# nothing of Kea, so running their tests three times would test nothing new. Lints run on
# the host only (Debian's toolchains lack rustfmt and clippy).
#
# Two lanes side by side (KRS_MATRIX_LANES=2, the default; 1 runs them one after the
# other): the host's run, and the chroots' (2.6, then 3.0). Much of either is waiting
# (mmdebstrap and apt on the registry, end-to-end tests on Kea and the network), so on 2
# cores the lanes overlap well. The chroots are made in the background from the start.
#
# Every run is under CI=true (a missing prerequisite fails) and prints the wall time of
# each phase; the figures of a cold run (fresh clone, empty caches, nothing installed) are
# in the README's "Kea versions" section.
#
# Prints one line per version: `matrix: 2.6 ok, N tests passed` (or `FAILED`), then
# the plain `N passed, N failed` count of versions; exits non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
LOGS=$ROOT/target/matrix
mkdir -p "$LOGS"
# shellcheck source=lib/chroot.sh
. scripts/lib/chroot.sh

die() { echo "matrix: $*" >&2; exit 1; }

# Sums the passed tests in LOG: nextest's `Summary [...] N tests run: N passed` lines and
# cargo test's `test result: ok. N passed` ones (the doc tests).
passed_in() {
    sed -n -e 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed.*/\1/p' \
        -e 's/^ *Summary \[.*\] *[0-9]* tests\{0,1\} run: \([0-9]*\) passed.*/\1/p' "$1" |
        awk '{s+=$1} END {print s+0}'
}

# Reports VERSION's result and records it in $LOGS/VERSION.status (the lanes run in
# subshells; the count at the end reads the files).
report() {
    local version=$1 status=$2 log=$3 n
    n=$(passed_in "$log")
    echo "$status" >"$LOGS/$version.status"
    if [ "$status" -eq 0 ]; then
        echo "matrix: $version ok, $n tests passed"
    else
        echo "matrix: $version FAILED (exit $status), $n tests passed; log: $log"
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
    step 2.2 "build and tests" "$log" env CI=true scripts/test.sh
    # The phase times of test.sh, from its summary.
    sed -n '/phase wall times/,$p' "$log" | sed 's/^==> test.sh: /    /'
    if [ "$rc" -eq 0 ]; then
        await_background 2.2 "$log"
        step 2.2 package "$log" scripts/package.sh --check 2.2
        { grep -E '^(package|deb-check):' "$log" || true; } | tail -2 | sed 's/^/    /'
    fi
    report 2.2 "$rc" "$log"
}

# The build in VERSION's chroot, apart from the tests so that each phase's time shows:
# the library and the test binaries of the hook and the SDK (what `scripts/test.sh --kea` runs).
chroot_build() {
    in_chroot "$CACHE/${SUITE[$1]}" '
        set -euo pipefail
        cd /src
        rustc --version; cargo --version; cargo nextest --version | head -1
        cargo build -p kea-runscript-hook
        cargo test -p kea-runscript-hook -p kea-hook-sdk --no-run
    ' "${CHROOT_CARGO_VARS[@]}"
}

# What depends on Kea's version, in VERSION's chroot. CI=true: a missing prerequisite
# fails instead of skipping.
chroot_tests() {
    in_chroot "$CACHE/${SUITE[$1]}" 'cd /src && scripts/test.sh --kea' \
        CI=true KRS_LINTS=host "${CHROOT_CARGO_VARS[@]}"
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
    case $v in 2.2 | 2.6 | 3.0) ;; *) die "unknown version '$v' (2.2, 2.6 or 3.0)" ;; esac
    rm -f "$LOGS/$v.status"
done
matrix_start=$SECONDS
# Everything the lanes install on the host, once, before they start: two apt-gets at once
# would wait on dpkg's lock, and the chroot lane copies the host's cargo-nextest.
step host "install what is missing" "$LOGS/install.log" env INSTALL_FUZZ=1 scripts/install-deps.sh
[ "$rc" -eq 0 ] || { tail -30 "$LOGS/install.log"; die "scripts/install-deps.sh failed (log: $LOGS/install.log)"; }
need_mmdebstrap

host_lane() { for v in "${versions[@]}"; do [ "$v" != 2.2 ] || run_host; done; }
chroot_lane() { for v in "${versions[@]}"; do [ "$v" = 2.2 ] || run_chroot "$v"; done; }
chroot_versions=()
for v in "${versions[@]}"; do [ "$v" = 2.2 ] || chroot_versions+=("$v"); done
if [ "${KRS_MATRIX_LANES:-2}" = 1 ]; then
    start_background "${versions[@]}"
    host_lane
    chroot_lane
else
    # Each lane starts its own background jobs: a shell waits only for its own children.
    [ ${#chroot_versions[@]} -eq 0 ] || {
        trap 'for p in "${BG_PID[@]}"; do wait "$p" || true; done' EXIT
        start_background "${chroot_versions[@]}"
        chroot_lane
    } &
    chroot_lane_pid=$!
    [ ${#chroot_versions[@]} -eq ${#versions[@]} ] || start_background 2.2
    host_lane
    wait "$chroot_lane_pid" || true
fi
ok_count=0 fail_count=0
for v in "${versions[@]}"; do
    if [ "$(cat "$LOGS/$v.status" 2>/dev/null)" = 0 ]; then ok_count=$((ok_count + 1)); else fail_count=$((fail_count + 1)); fi
done
echo "matrix: all versions took $((SECONDS - matrix_start)) s"
echo "matrix: $ok_count passed, $fail_count failed"
[ "$fail_count" -eq 0 ]
