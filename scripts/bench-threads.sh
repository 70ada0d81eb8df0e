#!/usr/bin/env bash
# Where the CPU goes: CPU time per DORA exchange of each kea-dhcp4 thread (Kea's packet
# thread, our worker's writer "kea-rs-writer" and reader "kea-rs-worker") and of the worker
# processes, and of the whole machine (perfdhcp and the kernel too), at a fixed offered rate
# below what Kea can answer, so the figures are cost, not throughput. From
# /proc/<pid>/task/*/stat and /proc/stat around one perfdhcp run per cell; a fresh Kea per
# cell. PERF=1 also records Kea's packet thread with perf (DWARF call graphs) into
# $PERF_DIR/perf-<cell>.data, for `perf report --children -i …`.
#
# Usage (as root):  scripts/bench-threads.sh
# Environment:
#   CELLS="none worker parkworker"  among: none; worker (async Rust ack worker, default hook
#                    points); parkworker (it as a sync worker at leases4_committed: parked);
#                    idle (a worker selected at lease4_decline only: callouts, no events);
#                    spawn (async no-op script); baseline (worker with BASELINE_LIB);
#                    noop (bench/noop_hook.cc: callouts that do nothing at the hook
#                    points of the worker cell, Kea's own cost of having them)
#   ROUNDS=2  RATE=1500  PERIOD=10  (perfdhcp -r, -p)
#   OURS_LIB=…, ACK_WORKER=…, BASELINE_LIB=…  as for scripts/bench-kea.sh
#   PERF=1, PERF_DIR=target/bench-threads
# Figures from one run are comparable with each other only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib/testbed.sh
rate=${RATE:-1500} period=${PERIOD:-10}
target=${CARGO_TARGET_DIR:-$repo/target}
ours=${OURS_LIB:-$target/release/libkea_runscript.so}
ack=${ACK_WORKER:-$target/release/examples/ack_worker}
perf_dir=${PERF_DIR:-$target/bench-threads}
[ -f "$ours" ] || tb_die "our library not found at $ours (cargo build --release, or set OURS_LIB)"
[ -x "$ack" ] || tb_die "fast worker not found at $ack (cargo build --release -p kea-runscript-core --example ack_worker, or set ACK_WORKER)"
TB_KEA_SEVERITY=WARN
TB_RUNSCRIPT_SEVERITY=INFO
tb_init
tb_netns_up
noop=$(tb_noop_script)
worker_of() { echo "[{\"library\": \"$1\", \"parameters\": {\"name\": \"$ack\", \"mode\": \"worker\"$2}}]"; }
declare -A hooks=(
    [none]="[]"
    [worker]=$(worker_of "$ours" "")
    [parkworker]=$(worker_of "$ours" ", \"sync\": true, \"hook-points\": [\"leases4_committed\"]")
    [idle]=$(worker_of "$ours" ", \"hook-points\": [\"lease4_decline\"]")
    [spawn]="[{\"library\": \"$ours\", \"parameters\": {\"name\": \"$noop\", \"sync\": false}}]"
    [baseline]=$(worker_of "${BASELINE_LIB:-}" "")
)
read -r -a cells <<<"${CELLS:-none worker parkworker}"
[[ " ${cells[*]} " != *" noop "* ]] || hooks[noop]="[{\"library\": \"$(tb_noop_hook noop_hook)\"}]"
for c in "${cells[@]}"; do
    [ -n "${hooks[$c]:-}" ] || tb_die "unknown cell '$c' in CELLS"
done
[[ " ${cells[*]} " != *" baseline "* ]] || [ -f "${BASELINE_LIB:-}" ] || tb_die "cell baseline needs BASELINE_LIB"

# "name=ticks " per thread of process $1 (user + system, in clock ticks).
threads() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s=%s ' "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
    done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Busy ticks of the whole machine (every CPU, perfdhcp and the kernel included). Sampled
# at the timer tick, unlike the per-thread times: on short or light runs it can read less
# than Kea's own time, so compare it only between long runs at the same rate.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
# Ticks of the processes two levels below Kea (workers, under their keepers).
worker_ticks() {
    local k w total=0
    for k in $(ps -o pid= --ppid "$TB_KEA_PID"); do
        for w in $(ps -o pid= --ppid "$k"); do total=$((total + $(ticks "$w"))); done
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)
for r in $(seq "${ROUNDS:-2}"); do
    for c in "${cells[@]}"; do
        tb_kea4_config "$TB_DIR/threads-$c.json" "${hooks[$c]}"
        tb_kea_start 4 "$TB_DIR/threads-$c.json"
        sleep 0.5
        t0=$(threads "$TB_KEA_PID") w0=$(worker_ticks) m0=$(machine_ticks)
        perf_pid=
        if [ -n "${PERF:-}" ]; then
            mkdir -p "$perf_dir"
            perf record -F 1000 --call-graph dwarf,32768 -o "$perf_dir/perf-$c.data" -t "$TB_KEA_PID" >/dev/null 2>&1 &
            perf_pid=$!
        fi
        out=$(tb_cli perfdhcp -4 -l "$TB_VCLI" -r "$rate" -p "$period" -R 1000000 2>&1) || true
        sleep 0.5
        t1=$(threads "$TB_KEA_PID") w1=$(worker_ticks) m1=$(machine_ticks)
        if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
        tb_kea_stop
        acks=$(echo "$out" | awk '/Statistics for: REQUEST-ACK\*/ {s=1} s && /^received packets:/ {print $3; exit}')
        [ "${acks:-0}" -gt 0 ] || { echo "$out" | tail -n 20 >&2; tb_die "no ACK received ($c, round $r)"; }
        python3 - "$c" "$r" "$acks" "$hz" "$t0" "$t1" "$((w1 - w0))" "$((m1 - m0))" <<'EOF'
import collections, sys
cell, rnd, acks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def parse(s):
    c = collections.Counter()
    for kv in s.split():
        k, v = kv.rsplit("=", 1)
        c[k] += int(v)
    return c
a, b = parse(sys.argv[5]), parse(sys.argv[6])
us = lambda t: t * 1e6 / hz / acks
per = {k: us(b[k] - a[k]) for k in b}
print("round %s  %-10s %6d ACKs  Kea %6.1f us/DORA (%s)  worker processes %5.1f us/DORA  machine %6.1f us/DORA" % (
    rnd, cell, acks, sum(per.values()),
    ", ".join("%s %.1f" % (k, v) for k, v in per.items()), us(int(sys.argv[7])), us(int(sys.argv[8]))))
EOF
    done
done
