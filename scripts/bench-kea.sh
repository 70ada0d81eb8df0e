#!/usr/bin/env bash
# Benchmark: DHCPv4 DORA exchanges per second of the real kea-dhcp4 with
#   (a) no hook library,
#   (b) Kea's own libdhcp_run_script.so, async, a no-op /bin/sh script,
#   (c) this project's libkea_runscript.so, async, the same script, default hook points,
#   (d) ours in worker mode, async, a Rust worker acknowledging each event at once
#       (kea-runscript-core/examples/ack_worker.rs), default hook points,
#   (e) ours in worker mode, async, examples/lease-log.py (a JSON line per event),
#   (f) ours, sync spawn of the no-op script at pkt4_receive (every query waits for it),
#   (g) ours, sync worker (the Rust one: its ack means continue) at pkt4_receive,
#   (n) a C++ hook whose callouts do nothing (bench/noop_hook.cc) at the hook points of
#       (c) and (d): Kea's own cost of having callouts there, the floor of any hook,
#   (r) ratelimit: the SDK's example hook (examples/rate-limit, libkea_hook_rate_limit.so)
#       at pkt4_receive, with a limit no client reaches (100 queries/s, bursts of 100;
#       each perfdhcp client sends 2): the cost of a Rust hook that reads every query;
#       goal >= 0.95x no hook,
#   and the growth cells (below, GROWTH): (a), (b), (c) and (d) again with 0, 300,000 and
#   1,000,000 leases preloaded into Kea's memfile,
# interleaved in one run (a, b, c, d, e, a, …), a fresh Kea per measurement,
# perfdhcp in a network namespace joined by a veth. Prints DORA/s per round,
# the medians, the ratios to no hook, and the resident memory of Kea and of the
# worker at the start and at the end of each worker cell.
#
# Usage (as root):  scripts/bench-kea.sh
# Environment:
#   ROUNDS=3         rounds of (a, b, c)
#   SECONDS=10       perfdhcp test period per measurement (PERIOD=… works too;
#                    SECONDS is read once at start-up, bash's own counter afterwards)
#   RATE=20000       perfdhcp -r (offered DORA/s; above what Kea can answer)
#   CLIENTS=1000000  perfdhcp -R (distinct clients, so every DORA is a new lease)
#   BURST=5000       the overflow cells' burst: this many new clients at RATE (perfdhcp -R/-n)
#   OURS_LIB=…       our library (default: $CARGO_TARGET_DIR or target/ + release/libkea_runscript.so;
#                    built with cargo when missing)
#   KEA_HOOK_LIB=…   Kea's run-script hook (default: Debian's path)
#   ACK_WORKER=…     the fast worker (default: target/release/examples/ack_worker; built when missing)
#   RATELIMIT_LIB=…  the example hook of (r) (default: $CARGO_TARGET_DIR or target/ +
#                    release/libkea_hook_rate_limit.so; built with cargo when missing)
#   BASELINE_LIB=…   another build of our library (e.g. main's, before a change): each of
#                    the cells ours, worker, parkspawn and parkworker in VARIANTS gets a twin
#                    "<cell>-base" with that library, measured right after it in every round,
#                    and the ratio this build / baseline is printed per cell: two builds
#                    compared in one interleaved run (the only comparison this noisy machine
#                    allows)
#   VARIANTS="none noop kea ours worker workerpy spawnsync workersync ratelimit"  the cells
#                    of each round (unset: these plus the parking cells parkspawn parkworker,
#                    see below)
#   GROWTH="0 300000 1000000"  preloaded lease counts of the growth cells ("" = none);
#                    each round runs them after the cells above
#   GROWTH_VARIANTS="none kea ours worker"  the growth cells at each count
#   LEASE_CACHE=…    where the generated lease files are kept (default target/bench-leases)
#   CHART_DIR=…      where the SVG charts go (default docs/; CHARTS=0: none), drawn by
#                    scripts/bench-chart.py (python3, standard library)
# Figures from one run are comparable with each other only; the machine's other
# load shows as spread between rounds.
bench_seconds_env=$SECONDS
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
. "$repo/scripts/lib/testbed.sh"
. "$repo/scripts/lib/bench.sh"

rounds=${ROUNDS:-3}
period=${PERIOD:-$bench_seconds_env}
[ "$period" -gt 0 ] 2>/dev/null || period=10
rate=${RATE:-20000}
clients=${CLIENTS:-1000000}
kea_hook_lib=${KEA_HOOK_LIB:-/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_run_script.so}

for n in "$rounds" "$period" "$rate" "$clients"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || tb_die "ROUNDS, SECONDS/PERIOD, RATE and CLIENTS must be positive integers (got '$n')"
done
command -v perfdhcp >/dev/null || [ -x /usr/sbin/perfdhcp ] || tb_die "perfdhcp not found (apt-get install kea-admin, or run scripts/install-deps.sh)"
[ -x /usr/sbin/kea-dhcp4 ] || tb_die "/usr/sbin/kea-dhcp4 not found (run scripts/install-deps.sh)"
[ -f "$kea_hook_lib" ] || tb_die "Kea's run-script hook not found at $kea_hook_lib (set KEA_HOOK_LIB)"
bench_ours_lib
ack_worker=${ACK_WORKER:-${CARGO_TARGET_DIR:-$repo/target}/release/examples/ack_worker}
if [ ! -x "$ack_worker" ] && [ -z "${ACK_WORKER:-}" ]; then
    tb_log "building the fast worker (cargo build --release -p kea-runscript-core --example ack_worker)"
    cargo build --release -j2 -p kea-runscript-core --example ack_worker >&2 || tb_die "building ack_worker failed"
fi
[ -x "$ack_worker" ] || tb_die "fast worker not found at $ack_worker (build it, or set ACK_WORKER)"
ratelimit_lib=${RATELIMIT_LIB:-${CARGO_TARGET_DIR:-$repo/target}/release/libkea_hook_rate_limit.so}
if [[ " ${VARIANTS:-ratelimit} " == *" ratelimit "* ]]; then
    if [ ! -f "$ratelimit_lib" ] && [ -z "${RATELIMIT_LIB:-}" ]; then
        tb_log "building the SDK's example hook (cargo build --release -p kea-hook-rate-limit)"
        cargo build --release -j2 -p kea-hook-rate-limit >&2 || tb_die "building kea-hook-rate-limit failed"
    fi
    [ -f "$ratelimit_lib" ] || tb_die "the example hook not found at $ratelimit_lib (build it, or set RATELIMIT_LIB)"
fi

TB_KEA_SEVERITY=WARN
# Our library's own logger at INFO (its own file): a few lines per Kea, among
# them the counters at unload, which show whether every event ran the script.
TB_RUNSCRIPT_SEVERITY=INFO
tb_init
tb_netns_up

noop=$(tb_noop_script)

read -r -a variants <<<"${VARIANTS:-none noop kea ours worker workerpy spawnsync workersync ratelimit}"
declare -A label=([none]="no hook" [noop]="C++ no-op hook" [kea]="libdhcp_run_script" [ours]="libkea_runscript"
                  [worker]="ours, Rust worker" [workerpy]="ours, lease-log.py"
                  [spawnsync]="ours, sync spawn rcv" [workersync]="ours, sync worker rcv"
                  [ratelimit]="rate-limit example")
lease_log="$TB_DIR/lease-log.jsonl"
declare -A hooks=(
    [none]="[]"
    [kea]="[{\"library\": \"$kea_hook_lib\", \"parameters\": {\"name\": \"$noop\", \"sync\": false}}]"
    [ours]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$noop\", \"sync\": false}}]"
    [worker]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$ack_worker\", \"mode\": \"worker\"}}]"
    [ratelimit]="[{\"library\": \"$ratelimit_lib\", \"parameters\": {\"max-per-second\": 100, \"burst\": 100}}]"
    [workerpy]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$repo/examples/lease-log.py\", \"mode\": \"worker\", \"env\": {\"LEASE_LOG\": \"$lease_log\"}}}]"
    [spawnsync]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$noop\", \"sync\": true, \"hook-points\": [\"pkt4_receive\"]}}]"
    [workersync]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$ack_worker\", \"mode\": \"worker\", \"sync\": true, \"hook-points\": [\"pkt4_receive\"]}}]"
)
# ---- parking cells (branch i7park; kept apart from the cells above to ease merging) ----
# (h) parkspawn: ours, sync spawn at leases4_committed of a script that sleeps 50 ms:
#     each REQUEST's query is parked while its script runs, Kea keeps answering others;
#     Kea's parked-packet-limit (default 256) bounds how many wait at once.
# (i) parkworker: ours, sync Rust worker at leases4_committed: parked, unparked as soon
#     as the worker's ack (continue) arrives. Goal: >= 0.8x no hook.
# Both run by default (when VARIANTS is not set); for parkspawn each round also
# prints the peak number of parked queries, sampled every 20 ms as our keepers in
# Kea's namespace (a keeper per running script: one per parked query).
sleep50="$TB_DIR/sleep50.sh"
printf '#!/bin/sh\nsleep 0.05\n' >"$sleep50"
chmod 755 "$sleep50"
label[parkspawn]="ours, park spawn 50ms"
label[parkworker]="ours, park sync worker"
hooks[parkspawn]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$sleep50\", \"sync\": true, \"timeout-ms\": 5000, \"hook-points\": [\"leases4_committed\"]}}]"
hooks[parkworker]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$ack_worker\", \"mode\": \"worker\", \"sync\": true, \"hook-points\": [\"leases4_committed\"]}}]"
[ -n "${VARIANTS:-}" ] || variants+=(parkspawn parkworker)
# ---- end of parking cells (part 1) ----
# ---- overflow cells (kept apart from the cells above, as the parking cells are) ----
# (o) ovfmerge / ovfblock / ovfdrop: ours, async spawn of the no-op script at the default
#     hook points with max-in-flight 4, under a burst of BURST (5000) new clients at
#     perfdhcp's full rate (a switch reboot; far above what 4 script slots run; DORA/s
#     over the burst), overflow "merge" / "block" / "drop" with the default bounds.
#     Before Kea is stopped the cell waits until no script runs any more (so nothing is
#     discarded at unload), then prints the counters: events, started (delivered),
#     merged, blocked, dropped (lost). Goal: merge >= 0.9x the DORA/s of drop, 0 dropped.
burst=${BURST:-5000}
[[ "$burst" =~ ^[1-9][0-9]*$ ]] || tb_die "BURST must be a positive integer (got '$burst')"
label[ovfmerge]="ours, burst merge"
label[ovfblock]="ours, burst block"
label[ovfdrop]="ours, burst drop"
hooks[ovfmerge]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$noop\", \"max-in-flight\": 4, \"overflow\": \"merge\"}}]"
hooks[ovfblock]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$noop\", \"max-in-flight\": 4, \"overflow\": \"block\"}}]"
hooks[ovfdrop]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$noop\", \"max-in-flight\": 4, \"overflow\": \"drop\"}}]"
[ -n "${VARIANTS:-}" ] || variants+=(ovfmerge ovfblock ovfdrop)
# ---- end of overflow cells (part 1) ----
# BASELINE_LIB: a twin "<cell>-base" right after each of our cells, the same but for the
# library (spawn, worker, parked spawn, parked worker).
if [ -n "${BASELINE_LIB:-}" ]; then
    [ -f "$BASELINE_LIB" ] || tb_die "BASELINE_LIB: no such file: $BASELINE_LIB"
    twinned=()
    for v in "${variants[@]}"; do
        twinned+=("$v")
        case $v in
            ours|worker|parkspawn|parkworker)
                twinned+=("$v-base")
                label[$v-base]="${label[$v]} [base]"
                hooks[$v-base]=${hooks[$v]//"$ours_lib"/"$BASELINE_LIB"}
                ;;
        esac
    done
    variants=("${twinned[@]}")
fi
for v in "${variants[@]}"; do
    [ -n "${label[$v]:-}" ] || tb_die "unknown variant '$v' in VARIANTS"
done
# Built only when asked for (it needs g++ and Kea's headers).
[[ " ${variants[*]} " != *" noop "* ]] || hooks[noop]="[{\"library\": \"$(tb_noop_hook noop_hook)\"}]"
for v in "${variants[@]}"; do
    tb_kea4_config "$TB_DIR/bench-$v.json" "${hooks[$v]}"
    tb_kea_check 4 "$TB_DIR/bench-$v.json"
done
# ---- growth cells (part 1; branch i7b): the no-op cells with leases preloaded ----
# A growth cell is "BASE@N": cell BASE with N leases in Kea's memfile at start (a fresh
# copy of a generated lease file per measurement; lease file cleanup off). Kea's memory
# grows with its leases; Kea's hook forks all of it per event, our keeper shares it.
# The preloaded leases are active until 2100 and sit at 10.128.0.0 and up, inside
# perfdhcp's pool but far above where Kea's iterative allocator hands out addresses
# (from 10.0.0.10), so they cost memory, not allocation.
read -r -a growth_sizes <<<"${GROWTH-0 300000 1000000}"
read -r -a growth_variants <<<"${GROWTH_VARIANTS:-none kea ours worker}"
lease_cache=${LEASE_CACHE:-${CARGO_TARGET_DIR:-$repo/target}/bench-leases}
growth=()
# lease_file N: the cached lease file of N leases, generated when missing.
lease_file() {
    local n=$1 file="$lease_cache/leases4-$1.csv"
    if [ ! -s "$file" ]; then
        mkdir -p "$lease_cache"
        tb_log "generating $n leases into $file"
        python3 - "$n" "$file.tmp" <<'PY' || tb_die "generating the lease file failed"
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,"
            "fqdn_fwd,fqdn_rev,hostname,state,user_context\n")
    for i in range(n):
        b = i.to_bytes(4, "big")
        f.write(f"10.{128 + b[1]}.{b[2]}.{b[3]},02:42:{b[0]:02x}:{b[1]:02x}:{b[2]:02x}:{b[3]:02x},"
                ",4000,4102444800,2,0,0,,0,\n")
PY
        mv "$file.tmp" "$file"
    fi
    echo "$file"
}
for n in "${growth_sizes[@]}"; do
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -le 16000000 ] || tb_die "GROWTH takes lease counts 0..16000000 (got '$n')"
    lease_file "$n" >/dev/null
    for b in "${growth_variants[@]}"; do
        case $b in none|kea|ours|worker) ;; *) tb_die "GROWTH_VARIANTS takes none, kea, ours, worker (got '$b')" ;; esac
        v="$b@$n"
        growth+=("$v")
        label[$v]="${label[$b]} @ $n"
        TB_LEASE_DB="{\"type\": \"memfile\", \"persist\": true, \"name\": \"$TB_DIR/leases4.csv\", \"lfc-interval\": 0}" \
            tb_kea4_config "$TB_DIR/bench-$v.json" "${hooks[$b]}"
        tb_kea_check 4 "$TB_DIR/bench-$v.json"
    done
done
# Kea reads a million leases before it opens its sockets.
TB_KEA_START_WAIT=${TB_KEA_START_WAIT:-300}
# ---- end of growth cells (part 1) ----

# Processes the kernel created system-wide (/proc/stat "processes"): each
# script run costs one, so the delta shows whether every lease ran the script.
forks() { awk '$1 == "processes" {print $2}' /proc/stat; }

# Resident memory in KiB of Kea and of its workers (children of its keepers).
rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
worker_rss() {
    local keeper total=0 w
    for keeper in $(ps -o pid= --ppid "$TB_KEA_PID"); do
        for w in $(ps -o pid= --ppid "$keeper"); do total=$((total + $(rss_of "$w"))); done
    done
    echo "$total"
}

# measure VARIANT ROUND: fresh Kea, one perfdhcp run; appends "variant round dora/s
# leases processes warnings script-runs dropped kea-rss0 kea-rss1 worker-rss0
# worker-rss1" to results (script runs: events answered, for the workers).
measure() {
    local v=$1 r=$2 f0 f1 dora acks warns counters started dropped k0 k1 w0 w1
    # A growth cell BASE@N behaves as BASE, with N leases loaded at start.
    local base=${v%@*}
    # A twin "<cell>-base" behaves as its cell, with the baseline library.
    local kind=${base%-base}
    [ "$v" = "$base" ] || cp "$(lease_file "${v#*@}")" "$TB_DIR/leases4.csv"
    : >"$lease_log"
    tb_kea_start 4 "$TB_DIR/bench-$v.json"
    k0=$(rss_of "$TB_KEA_PID") w0=$(worker_rss)
    f0=$(forks)
    # The traffic: for SECONDS, or an overflow cell's burst of BURST new clients.
    local load=(-p "$period" -R "$clients")
    case $kind in ovf*) load=(-R "$burst" -n "$burst") ;; esac
    bench_perfdhcp4 "$v, round $r" -r "$rate" "${load[@]}"
    # Let async scripts of the last leases finish before counting and stopping.
    sleep 1
    f1=$(forks)
    k1=$(rss_of "$TB_KEA_PID") w1=$(worker_rss)
    tb_kea_stop
    dora=$bench_dora
    acks=$(echo "$bench_out" | awk '/Statistics for: REQUEST-ACK\*/ {s=1} s && /^received packets:/ {print $3; exit}')
    # Warnings beyond the two every memfile Kea prints at start-up (e.g. our
    # library reporting events it could not queue) are counted and listed.
    grep -E ' (WARN|ERROR|FATAL) ' "$TB_KEA_LOG" | grep -v -E 'DHCPSRV_MEMFILE_NO_STORAGE|DHCP4_MULTI_THREADING_INFO' \
        | awk '{print $5}' >>"$TB_DIR/warnings-$v" || true
    warns=$(grep -E ' (WARN|ERROR|FATAL) ' "$TB_KEA_LOG" | grep -c -v -E 'DHCPSRV_MEMFILE_NO_STORAGE|DHCP4_MULTI_THREADING_INFO' || true)
    # Our counters at unload: "events=… started=… … dropped=…".
    started=- dropped=-
    if [ "$kind" != none ] && [ "$kind" != kea ] && [ "$kind" != noop ] && [ "$kind" != ratelimit ]; then
        counters=$(grep -o 'unload: counters [^@]*' "$TB_RUNSCRIPT_LOG" | tail -n 1 || true)
        [ -n "$counters" ] || tb_die "our library logged no counters at unload (see $TB_RUNSCRIPT_LOG)"
        # Spawn: runs started; worker: events the worker answered.
        if [ "$kind" = ours ] || [ "$kind" = spawnsync ]; then
            started=$(echo "$counters" | grep -o ' started=[0-9]*' | cut -d= -f2)
        else
            started=$(echo "$counters" | grep -o ' acked=[0-9]*' | cut -d= -f2)
        fi
        dropped=$(echo "$counters" | grep -o ' dropped=[0-9]*' | cut -d= -f2)
    fi
    printf '%s %s %s %s %s %s %s %s %s %s %s %s\n' "$v" "$r" "$dora" "${acks:-0}" "$((f1 - f0))" "$warns" "$started" "$dropped" \
        "$k0" "$k1" "$w0" "$w1" >>"$TB_DIR/results"
    printf '  round %d  %-20s %10.1f DORA/s  (%s leases, %s processes system-wide, script runs/acks %s, dropped %s, %s Kea warnings; RSS KiB Kea %s->%s, worker %s->%s)\n' \
        "$r" "${label[$v]}" "$dora" "${acks:-0}" "$((f1 - f0))" "$started" "$dropped" "$warns" "$k0" "$k1" "$w0" "$w1" >&2
}

# ---- parking cells (part 2): the peak number of parked queries per round ----
# park_sampler OUT: until killed, counts our keepers (processes named kea-runscript,
# one per running script: one per parked query) in the server namespace every 20 ms,
# keeping the maximum in OUT.
park_sampler() {
    local out=$1 n peak=0
    while :; do
        n=$(ip netns pids "$TB_SRV" | xargs -r ps -o comm= -p 2>/dev/null | grep -c '^kea-runscript' || true)
        if [ "${n:-0}" -gt "$peak" ]; then peak=$n; echo "$peak" >"$out"; fi
        sleep 0.02
    done
}
eval "$(declare -f measure | sed '1s/^measure /measure_unsampled /')"
measure() {
    if [ "${1%-base}" != parkspawn ]; then
        measure_unsampled "$@"
        return
    fi
    local sampler peak_file="$TB_DIR/park-peak-$1-$2"
    echo 0 >"$peak_file"
    park_sampler "$peak_file" &
    sampler=$!
    measure_unsampled "$@"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    printf '  round %d  %-20s peak parked queries (our keepers, sampled every 20 ms): %s\n' \
        "$2" "${label[$1]}" "$(cat "$peak_file")" >&2
    echo "$1 $2 $(cat "$peak_file")" >>"$TB_DIR/park-peaks"
}
# ---- end of parking cells (part 2) ----
# ---- overflow cells (part 2): drain before stopping, then the counters ----
# Our keepers (one per running script) in the server namespace.
ovf_keepers() { ip netns pids "$TB_SRV" | xargs -r ps -o comm= -p 2>/dev/null | grep -c '^kea-runscript' || true; }
eval "$(declare -f tb_kea_stop | sed '1s/^tb_kea_stop /tb_kea_stop_now /')"
ovf_cell=""
tb_kea_stop() {
    if [ -n "$ovf_cell" ]; then
        # The queue is drained when no script has run for two samples in a row.
        local idle=0 waited=0
        while [ "$idle" -lt 2 ] && [ "$waited" -lt 600 ]; do
            if [ "$(ovf_keepers)" -eq 0 ]; then idle=$((idle + 1)); else idle=0; fi
            sleep 0.5
            waited=$((waited + 1))
        done
    fi
    tb_kea_stop_now "$@"
}
eval "$(declare -f measure | sed '1s/^measure /measure_before_ovf /')"
measure() {
    case $1 in ovf*) ;; *) measure_before_ovf "$@"; return ;; esac
    ovf_cell=$1
    measure_before_ovf "$@"
    ovf_cell=""
    local c
    c=$(grep -o 'unload: counters [^@]*' "$TB_RUNSCRIPT_LOG" | tail -n 1 || true)
    ovf_get() { echo "$c" | grep -o " $1=[0-9]*" | cut -d= -f2; }
    printf '  round %d  %-20s events %s, delivered (started) %s, merged %s, blocked %s, dropped (lost) %s\n' \
        "$2" "${label[$1]}" "$(ovf_get events)" "$(ovf_get started)" "$(ovf_get merged)" "$(ovf_get blocked)" "$(ovf_get dropped)" >&2
    echo "$1 $2 $(ovf_get events) $(ovf_get started) $(ovf_get merged) $(ovf_get blocked) $(ovf_get dropped)" >>"$TB_DIR/ovf-counts"
}
# ---- end of overflow cells (part 2) ----

tb_log "kea-dhcp4 $(/usr/sbin/kea-dhcp4 -v), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
tb_log "ours: $ours_lib ($(date -u -r "$ours_lib" +%FT%TZ); checkout at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
tb_log "perfdhcp -4 -l <veth> -r $rate -p $period -R $clients; $rounds rounds of: ${variants[*]} ${growth[*]}"
: >"$TB_DIR/results"
for r in $(seq "$rounds"); do
    for v in "${variants[@]}" "${growth[@]}"; do
        measure "$v" "$r"
        sleep 1
    done
done
tb_log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

col() { awk -v v="$1" -v c="$2" '$1 == v {print $c}' "$TB_DIR/results"; }

echo
echo "DORA exchanges/s (perfdhcp -4 -r $rate -p $period -R $clients; fresh kea-dhcp4 per cell, loggers at WARN)"
bench_table 20 "${variants[@]}"
echo
if [ -n "${med[kea]:-}" ] && [ -n "${med[ours]:-}" ]; then
    awk -v o="${med[ours]}" -v k="${med[kea]}" 'BEGIN {printf "ratio ours/kea-hook (medians): %.2fx   (target >= 1.8x)\n", o / k}'
fi
if [ -n "${med[none]:-}" ]; then
    for v in "${variants[@]}"; do
        [ "$v" = none ] && continue
        goal=""
        [ "$v" = worker ] && goal="   (goal >= 0.9)"
        [ "$v" = ratelimit ] && goal="   (goal >= 0.95)"
        awk -v x="${med[$v]}" -v n="${med[none]}" -v l="${label[$v]}" -v g="$goal" \
            'BEGIN {printf "ratio %-20s/ no hook (medians): %.3f%s\n", l, x / n, g}'
    done
fi
for v in ours worker parkspawn parkworker; do
    [ -n "${med[$v]:-}" ] && [ -n "${med[$v-base]:-}" ] || continue
    awk -v x="${med[$v]}" -v b="${med[$v-base]}" -v l="${label[$v]}" \
        'BEGIN {printf "ratio %-22s this build / BASELINE_LIB (medians): %.3f\n", l, x / b}'
done
if [ -n "${med[spawnsync]:-}" ] && [ -n "${med[workersync]:-}" ]; then
    awk -v w="${med[workersync]}" -v s="${med[spawnsync]}" 'BEGIN {printf "ratio sync worker / sync spawn at pkt4_receive (medians): %.2fx\n", w / s}'
fi
for v in worker worker-base workerpy workersync; do
    [ -n "${med[$v]:-}" ] || continue
    awk -v v="$v" -v l="${label[$v]}" '$1 == v {printf "memory %-20s round %s: Kea %d -> %d KiB, worker %d -> %d KiB\n", l, $2, $9, $10, $11, $12}' "$TB_DIR/results"
done
echo
echo "work done (all rounds). Processes = all the kernel created during the runs (other"
echo "load included): about one per lease when the script ran for each. Ours also counts exactly:"
for v in "${variants[@]}"; do
    [ "$v" = none ] && continue
    awk -v v="$v" -v k="${v%-base}" -v l="${label[$v]}" '$1 == v {a += $4; f += $5; w += $6; s += $7; d += $8}
        END {printf "  %-20s %d leases, %d processes (%.2f per lease), %d Kea warnings/errors", l, a, f, (a ? f / a : 0), w
             if (k == "ours") printf ", %d script runs, %d events dropped", s, d
             if (k == "spawnsync") printf ", %d script runs, %d events dropped", s, d
             if (k == "worker" || k == "workerpy" || k == "workersync") printf ", %d events answered by the worker, %d dropped", s, d
             printf "\n"}' "$TB_DIR/results"
    if [ -s "$TB_DIR/warnings-$v" ]; then
        sort "$TB_DIR/warnings-$v" | uniq -c | sort -rn | head -n 5 | sed 's/^/      /'
    fi
done

# ---- growth cells (part 3): the table, and the charts ----
if [ "${#growth[@]}" -gt 0 ]; then
    echo
    echo "Growth: DORA/s (medians) with leases preloaded into Kea's memfile; Kea's RSS at start"
    printf '%-22s' cell
    for n in "${growth_sizes[@]}"; do printf ' %14s' "$n leases"; done
    echo
    for b in "${growth_variants[@]}"; do
        printf '%-22s' "${label[$b]}"
        for n in "${growth_sizes[@]}"; do printf ' %14.1f' "$(col "$b@$n" 3 | bench_median)"; done
        echo
    done
    printf '%-22s' "Kea RSS at start, MiB"
    for n in "${growth_sizes[@]}"; do
        printf ' %14.0f' "$(awk -v p="none@$n" -v q="kea@$n" '$1 == p || $1 == q {print $9 / 1024}' "$TB_DIR/results" | bench_median)"
    done
    echo
    for b in "${growth_variants[@]}"; do
        [ "$b" = none ] && continue
        printf '%-22s' "${label[$b]} / no hook"
        for n in "${growth_sizes[@]}"; do
            awk -v x="$(col "$b@$n" 3 | bench_median)" -v y="$(col "none@$n" 3 | bench_median)" \
                'BEGIN {if (y > 0) printf " %13.3fx", x / y; else printf " %14s", "-"}'
        done
        echo
    done
    if [[ " ${growth_variants[*]} " == *" ours "* && " ${growth_variants[*]} " == *" kea "* ]]; then
        printf '%-22s' "ours / Kea's hook"
        for n in "${growth_sizes[@]}"; do
            awk -v x="$(col "ours@$n" 3 | bench_median)" -v y="$(col "kea@$n" 3 | bench_median)" \
                'BEGIN {if (y > 0) printf " %13.2fx", x / y; else printf " %14s", "-"}'
        done
        echo
    fi
fi
if [ "${CHARTS:-1}" != 0 ]; then
    chart_dir=${CHART_DIR:-$repo/docs}
    # The run's figures are kept for redrawing: scripts/bench-chart.py results labels DIR TEXT.
    last=${CARGO_TARGET_DIR:-$repo/target}/bench-last
    mkdir -p "$last"
    for v in "${variants[@]}" "${growth[@]}"; do printf '%s\t%s\n' "$v" "${label[$v]}"; done >"$last/labels"
    cp "$TB_DIR/results" "$last/results"
    python3 "$repo/scripts/bench-chart.py" "$last/results" "$last/labels" "$chart_dir" \
        "perfdhcp -4 -r $rate -p $period -R $clients, $rounds round(s), $(date -u +%F), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs" \
        || tb_die "drawing the charts failed"
fi
# ---- end of growth cells (part 3) ----

# ---- overflow cells (part 3): the summary ----
if [ -s "$TB_DIR/ovf-counts" ]; then
    echo
    echo "Overflow under a burst (async no-op script, max-in-flight 4; per cell: medians of the rounds)"
    for v in ovfmerge ovfblock ovfdrop; do
        awk -v v="$v" '$1 == v' "$TB_DIR/ovf-counts" | grep -q . || continue
        printf '%-20s %10.1f DORA/s  events %s  delivered %s  merged %s  blocked %s  dropped %s\n' "${label[$v]}" \
            "$(col "$v" 3 | bench_median)" \
            "$(awk -v v="$v" '$1 == v {print $3}' "$TB_DIR/ovf-counts" | bench_median)" \
            "$(awk -v v="$v" '$1 == v {print $4}' "$TB_DIR/ovf-counts" | bench_median)" \
            "$(awk -v v="$v" '$1 == v {print $5}' "$TB_DIR/ovf-counts" | bench_median)" \
            "$(awk -v v="$v" '$1 == v {print $6}' "$TB_DIR/ovf-counts" | bench_median)" \
            "$(awk -v v="$v" '$1 == v {print $7}' "$TB_DIR/ovf-counts" | bench_median)"
    done
    if [ -n "${med[ovfmerge]:-}" ] && [ -n "${med[ovfdrop]:-}" ]; then
        awk -v m="${med[ovfmerge]}" -v d="${med[ovfdrop]}" 'BEGIN {printf "ratio burst merge / burst drop (medians): %.3f   (goal >= 0.9, with 0 dropped under merge)\n", m / d}'
    fi
fi
# ---- end of overflow cells (part 3) ----
