#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian machine (run as root):
#   1. installs what is missing (scripts/install-deps.sh: Kea, perfdhcp, headers, cargo),
#   2. builds the hook library (cargo build --release -p kea-runscript-hook),
#   3. starts the real kea-dhcp4 with libkea_runscript.so and examples/debug.sh in a
#      network namespace, and drives it with perfdhcp from a second namespace:
#      a handful of DORA exchanges, renews and releases; short leases then expire,
#   4. does the same with kea-dhcp6 (SARR asking for an address and a prefix),
#   5. prints every call of the script: hook point and its variables, sorted.
# Nothing leaves the two namespaces; everything is removed on exit, success or not.
# Exit code 0 when every expected hook point was seen, non-zero with a message otherwise.
#
# Environment: DEMO_V6=0 skips the DHCPv6 part; DEMO_FULL=1 prints the variables
# of every call (default: of the first call per hook point; the whole log is
# copied to DEMO_LOG, default /tmp/kea-runscript-demo.log); TB_KEEP=1 keeps the
# temp dir (Kea configs and logs); DEMO_VALID_LIFETIME (seconds, default 8);
# CARGO_TARGET_DIR is honoured.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
. "$repo/scripts/lib/testbed.sh"
tb_require_root

step() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

step "Installing missing packages (scripts/install-deps.sh)"
scripts/install-deps.sh || tb_die "scripts/install-deps.sh failed"

# Debian bookworm's own rustc (1.63) is older than the workspace needs: say so
# plainly instead of letting cargo fail on some dependency.
need_rust=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
have_rust=$(rustc --version 2>/dev/null | awk '{print $2}')
if [ -n "$need_rust" ] && [ -n "$have_rust" ] &&
   [ "$(printf '%s\n%s\n' "$need_rust" "${have_rust%%-*}" | sort -V | head -n 1)" != "$need_rust" ]; then
    tb_die "rustc $have_rust is older than the $need_rust this workspace needs; install a current toolchain (https://rustup.rs: curl --proto '=https' -sSf https://sh.rustup.rs | sh) and run again"
fi

step "Building the hook library (cargo build --release -p kea-runscript-hook)"
cargo build --release -p kea-runscript-hook || tb_die "the build failed (output above)"
lib=${CARGO_TARGET_DIR:-$repo/target}/release/libkea_runscript.so
[ -f "$lib" ] || tb_die "the build did not produce $lib"
echo "built $lib"

tb_init
tb_netns_up
# Short leases, so expiry shows up within the demo.
TB_VALID_LIFETIME=${DEMO_VALID_LIFETIME:-8}
[[ "$TB_VALID_LIFETIME" =~ ^[1-9][0-9]*$ ]] || tb_die "DEMO_VALID_LIFETIME must be a positive number of seconds (got '$TB_VALID_LIFETIME')"
debug_log="$TB_DIR/debug.log"
script="$repo/examples/debug.sh"
[ -x "$script" ] || tb_die "$script is missing or not executable"
hooks="[{\"library\": \"$lib\",
         \"parameters\": {\"name\": \"$script\", \"sync\": false,
                          \"env\": {\"KEA_RUNSCRIPT_DEBUG_LOG\": \"$debug_log\"}}}]"

# count_calls HOOK_POINT: how many calls of the script the log shows for it.
count_calls() {
    grep -c "^=== [^ ]* $1 " "$debug_log" 2>/dev/null || true
}

# wait_for_call HOOK_POINT SECONDS: bounded wait until the log shows the hook point.
wait_for_call() {
    local hp=$1 _
    for _ in $(seq $(($2 * 10))); do
        [ "$(count_calls "$hp")" -gt 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# run_perfdhcp ARGS...: perfdhcp in the client namespace; exit code 3 means some
# exchange got no answer, which releases always do in DHCPv4 (they have none).
run_perfdhcp() {
    local rc=0 out
    out=$(tb_cli perfdhcp "$@" 2>&1) || rc=$?
    echo "$out" | awk '/^\*\*\*Statistics for:/ {name = $0; sub(/^\*\*\*Statistics for: /, "", name); sub(/\*\*\*$/, "", name)}
                       /^sent packets:/ {sent = $3} /^received packets:/ {printf "  %-28s sent %3d  received %3d\n", name, sent, $3}'
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        echo "$out" | tail -n 20 >&2
        tb_die "perfdhcp $* failed with exit code $rc"
    fi
}

# expect HOOK_POINT...: fail unless the script was called at each of them.
expect() {
    local hp missing=()
    for hp in "$@"; do
        [ "$(count_calls "$hp")" -gt 0 ] || missing+=("$hp")
    done
    [ ${#missing[@]} -eq 0 ] || {
        echo "--- Kea's log (last lines):" >&2; tail -n 30 "$TB_KEA_LOG" >&2
        tb_die "examples/debug.sh was never called at: ${missing[*]}"
    }
}

step "DHCPv4: kea-dhcp4 with libkea_runscript.so in namespace $TB_SRV, perfdhcp in $TB_CLI"
tb_kea4_config "$TB_DIR/kea-dhcp4.json" "$hooks"
tb_kea_check 4 "$TB_DIR/kea-dhcp4.json"
tb_kea_start 4 "$TB_DIR/kea-dhcp4.json"
echo "kea-dhcp4 (pid $TB_KEA_PID) listens on $TB_VSRV; hook parameters:"
echo "  {\"name\": \"$script\", \"sync\": false, \"env\": {\"KEA_RUNSCRIPT_DEBUG_LOG\": \"$debug_log\"}}"
echo "perfdhcp -4: 4 clients, 2 exchanges/s (DORA, renew, release) for 5 s"
run_perfdhcp -4 -l "$TB_VCLI" -r 2 -R 4 -f 1 -F 1 -p 5 -W 500000
echo "waiting (at most 20 s) for a lease to expire (valid-lifetime $TB_VALID_LIFETIME s)…"
wait_for_call lease4_expire 20 || echo "  (no lease4_expire within 20 s)"
grep -h 'KEA_RUNSCRIPT' "$TB_KEA_LOG" | head -n 10 | sed 's/^/  kea log: /' || true
tb_kea_stop
expect leases4_committed lease4_renew lease4_release lease4_expire
v4_calls=$(grep -c '^===' "$debug_log")

if [ "${DEMO_V6:-1}" != 0 ]; then
    step "DHCPv6: kea-dhcp6 with libkea_runscript.so, perfdhcp -6 asking for an address and a prefix"
    tb_kea6_config "$TB_DIR/kea-dhcp6.json" "$hooks"
    tb_kea_check 6 "$TB_DIR/kea-dhcp6.json"
    tb_kea_start 6 "$TB_DIR/kea-dhcp6.json"
    echo "perfdhcp -6 -e address-and-prefix: 3 clients, 2 exchanges/s (SARR, renew, release) for 4 s"
    run_perfdhcp -6 -l "$TB_VCLI" -e address-and-prefix -r 2 -R 3 -f 1 -F 1 -p 4 -W 500000
    sleep 1
    tb_kea_stop
    expect leases6_committed lease6_renew lease6_release
fi

saved_log=${DEMO_LOG:-/tmp/kea-runscript-demo.log}
cp "$debug_log" "$saved_log"
if [ "${DEMO_FULL:-0}" = 1 ]; then
    step "What examples/debug.sh saw: every call with its variables"
    cat "$debug_log"
else
    step "What examples/debug.sh saw: every call, with the variables of the first call per hook point"
    awk '/^===/ {show = !seen[$3]++} show || /^===/' "$debug_log"
fi
echo
echo "(all calls with all their variables: $saved_log; DEMO_FULL=1 prints them here)"

step "Summary: calls of examples/debug.sh per hook point"
grep '^===' "$debug_log" | awk '{print $3}' | sort | uniq -c | sed 's/^/  /'
echo
echo "OK: $v4_calls DHCPv4 calls$([ "${DEMO_V6:-1}" != 0 ] && echo ", $(( $(grep -c '^===' "$debug_log") - v4_calls )) DHCPv6 calls"), each with its variables above."
