#!/usr/bin/env bash
# Kea's own cost of having callouts, in instructions per DORA exchange counted by
# valgrind's callgrind: kea-dhcp4 with no hook library against kea-dhcp4 with
# bench/noop_hook.cc (callouts that do nothing, at the default hook points of
# libkea_runscript.so). That difference is the floor of any hook at these points,
# whatever it does. Instruction counts barely move between runs, where CPU times on this
# shared machine vary by 20 % (scripts/bench-threads.sh); they leave out what
# instructions do not show (cache misses, contention, waits).
#
# Our library itself cannot run under valgrind: valgrind supports clone() only as
# fork or thread creation, not the clone(CLONE_VM | CLONE_FILES | CLONE_PIDFD) of our
# process keepers (kea-runscript-spawn), and stops Kea at the first one.
#
# Per cell: a fresh kea-dhcp4 under callgrind (instrumentation off during start-up), a
# slow perfdhcp run (Kea is some 50 times slower under valgrind) with instrumentation
# on, a dump, then Kea is stopped. Prints the instructions per DORA of Kea's packet
# thread and the ratio no hook / no-op hook.
#
# Usage (as root):  scripts/bench-instructions.sh
# Environment:  RATE=40  PERIOD=10  (perfdhcp -r, -p);  KEEP_DIR=… keeps the callgrind
#               files there (for callgrind_annotate)
#               CELLS="none noop"  the cells, "none" first; also "nooprcv" (the no-op hook
#               at pkt4_receive/pkt6_receive only: the floor there) and "ratelimit": the SDK's
#               example hook (examples/rate-limit, release build; built when missing) at
#               pkt4_receive with a limit no client reaches (100 queries/s, burst 100)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib/testbed.sh
rate=${RATE:-40} period=${PERIOD:-10}
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
    || tb_die "valgrind not found (apt-get install valgrind)"
TB_KEA_SEVERITY=WARN
TB_KEA_START_WAIT=120
tb_init
tb_netns_up
read -r -a cells <<<"${CELLS:-none noop}"
[ "${cells[0]}" = none ] || tb_die "CELLS must start with none (the ratios are to it)"
declare -A hooks=([none]="[]")
for c in "${cells[@]}"; do
    case $c in
        none) ;;
        noop) hooks[noop]="[{\"library\": \"$(tb_noop_hook noop_hook)\"}]" ;;
        nooprcv) hooks[nooprcv]="[{\"library\": \"$(tb_noop_hook noop_rcv -DNOOP_RECEIVE_ONLY)\"}]" ;;
        ratelimit)
            ratelimit_lib=${CARGO_TARGET_DIR:-$repo/target}/release/libkea_hook_rate_limit.so
            [ -f "$ratelimit_lib" ] || cargo build --release -p kea-hook-rate-limit >&2 \
                || tb_die "building kea-hook-rate-limit failed"
            hooks[ratelimit]="[{\"library\": \"$ratelimit_lib\", \"parameters\": {\"max-per-second\": 100, \"burst\": 100}}]" ;;
        *) tb_die "unknown cell '$c' in CELLS (none, noop, nooprcv, ratelimit)" ;;
    esac
done
declare -A per_dora

for c in "${cells[@]}"; do
    out_dir="$TB_DIR/callgrind-$c"
    mkdir -p "$out_dir"
    TB_KEA_PREFIX=(valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes
                   --callgrind-out-file="$out_dir/cg.%p")
    tb_kea4_config "$TB_DIR/instr-$c.json" "${hooks[$c]}"
    tb_kea_start 4 "$TB_DIR/instr-$c.json"
    sleep 2
    callgrind_control --instr=on "$TB_KEA_PID" >/dev/null 2>&1
    out=$(tb_cli perfdhcp -4 -l "$TB_VCLI" -r "$rate" -p "$period" -R 1000000 2>&1) || true
    sleep 2
    callgrind_control --dump="after traffic" "$TB_KEA_PID" >/dev/null 2>&1
    callgrind_control --instr=off "$TB_KEA_PID" >/dev/null 2>&1
    tb_kea_stop
    acks=$(echo "$out" | awk '/Statistics for: REQUEST-ACK\*/ {s=1} s && /^received packets:/ {print $3; exit}')
    [ "${acks:-0}" -gt 0 ] || { echo "$out" | tail -n 20 >&2; tb_die "no ACK received ($c)"; }
    # The dump's files, one per thread ("<name>.<dump>-<thread>"): thread 1 is Kea's
    # packet thread, the only one that runs callouts here.
    total=$(awk '/^(summary|totals):/ {print $2; exit}' "$out_dir"/cg.*.1-01)
    per_dora[$c]=$(awk -v t="$total" -v a="$acks" 'BEGIN {printf "%.0f", t / a}')
    printf "%-9s %5d ACKs  %8d instructions per DORA in Kea's packet thread\n" "$c" "$acks" "${per_dora[$c]}"
    if [ -n "${KEEP_DIR:-}" ]; then mkdir -p "$KEEP_DIR" && cp -r "$out_dir" "$KEEP_DIR/"; fi
done
for c in "${cells[@]:1}"; do
    awk -v c="$c" -v n="${per_dora[none]}" -v o="${per_dora[$c]}" 'BEGIN {
        printf "%s: +%d instructions per DORA (+%.1f %%); no hook / %s = %.3f\n", c, o - n, 100 * (o - n) / n, c, n / o }'
done
