#!/usr/bin/env bash
# Benchmark: what partner events ("ha": {}) cost a Kea HA pair, hot-standby, DHCPv4.
# A real pair (Kea's libdhcp_ha.so + libdhcp_lease_cmds.so, the setup of
# scripts/ha-pair.sh, from scripts/lib/ha.sh) answers perfdhcp from the client namespace;
# the primary s1 serves, and before each DHCPACK it sends the lease to the standby s2
# (lease4-update), which writes it into its own lease database. The cells:
#   none: no library of ours (the pair alone: the floor),
#   off:  our library on both servers, an async worker ("mode": "worker") at
#         leases4_committed, WITHOUT "ha": s1's worker gets every lease s1 commits, s2's
#         worker gets nothing (no lease hook point fires for a replicated lease),
#   on:   the same with "ha": {}: s2's worker also gets every replicated lease as a
#         partner event (KEA_EVENT_ORIGIN=partner), from Kea's command_processed, which
#         runs on HA's HTTP listener threads of s2 while s1's DHCPACK waits for the answer.
# The worker is the Rust ack worker (kea-runscript-core/examples/ack_worker.rs: answers
# each event at once), so what is measured is our library's per-event work, not the
# worker's; WORKER=lease-log takes examples/lease-log.py (a JSON line per event) instead.
# Each cell is a fresh pair (empty in-memory lease databases, so every DORA is a new
# client and a new lease) that is waited for until both are in hot-standby; the cells are
# interleaved round by round and their order rotates from round to round (none off on,
# off on none, on none off, …), so the machine's drifting load hits every cell alike.
#
# Per cell it prints:
# - DORA/s at the primary: perfdhcp's "Rate:" (completed 4-way exchanges per second),
#   which includes the replication, since s1 answers a REQUEST only once s2 acknowledged
#   the lease;
# - the standby's CPU per replicated lease: utime + stime of s2's kea-dhcp4 (every thread)
#   from /proc/<pid>/stat right before and 2 s after perfdhcp, over the leases s2 holds at
#   the end; and apart from it the CPU of s2's worker (and its keeper), which Kea's own
#   figure does not include;
# - our counters (logged at unload): events each worker acknowledged, events dropped;
# - both servers' HA state after the traffic (a cell where the pair fell apart under load,
#   e.g. partner-down, is marked: its figures are not the pair's).
# Then the medians per cell, the ratio on/off of DORA/s (goal >= 0.9) and the standby's CPU
# per lease off vs on: the difference is what partner events add on the partner.
# It asserts nothing about speed. Note: on this machine both servers, perfdhcp and the
# workers share the same CPUs, so the standby's extra CPU is taken from the primary too
# (in production they are two machines): the ratio is, if anything, pessimistic.
#
# The traffic goes to s1 only (perfdhcp's server argument, unicast, relayed as always):
# then all the standby does is apply the primary's lease updates (and heartbeats), so its
# CPU per lease is the replication's and, in cell "on", our callout's and nothing else.
# With TRAFFIC=broadcast both servers get every query, as behind a relay that forwards to
# both (ha-pair.sh's way): the standby then also spends CPU on each query it drops (not
# its scope), per offered query rather than per lease, and at saturation a cell with fewer
# leases shows more of that CPU per lease, which blurs the off/on difference.
#
# Usage (as root):  scripts/bench-ha.sh
# Environment:
#   ROUNDS=5          rounds (each: one measurement per cell)
#   PERIOD=10         perfdhcp test period per measurement (seconds)
#   RATE=20000        perfdhcp -r (offered DORA/s; above what the pair answers)
#   CLIENTS=1000000   perfdhcp -R (distinct clients drawn at random)
#   CELLS="none off on"  the cells of each round
#   TRAFFIC=unicast   unicast (perfdhcp to s1) or broadcast (both servers see every query)
#   WORKER=ack        ack (the Rust ack worker) or lease-log (examples/lease-log.py)
#   OURS_LIB=…        our library (default: $CARGO_TARGET_DIR or target/ +
#                     release/libkea_runscript.so; built with cargo when missing)
#   ACK_WORKER=…      the Rust worker (default: …/release/examples/ack_worker; built when missing)
#   HA_MAX_RESPONSE_DELAY=10000  ms a server waits for its loaded partner before it calls
#                     it down (ha-pair.sh uses 3000 to show failover quickly; under
#                     perfdhcp's full rate on 2 CPUs a heartbeat can be late, and a pair
#                     gone to partner-down would measure something else)
#   TB_KEEP=1         keep the temporary directory (configs, logs)
# Figures from one run are comparable with each other only.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
. "$repo/scripts/lib/testbed.sh"
. "$repo/scripts/lib/ha.sh"

rounds=${ROUNDS:-5}
period=${PERIOD:-10}
rate=${RATE:-20000}
clients=${CLIENTS:-1000000}
read -r -a cells <<<"${CELLS:-none off on}"
worker_kind=${WORKER:-ack}
traffic=${TRAFFIC:-unicast}
for n in "$rounds" "$period" "$rate" "$clients"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || tb_die "ROUNDS, PERIOD, RATE and CLIENTS must be positive integers (got '$n')"
done
for c in "${cells[@]}"; do
    case $c in none|off|on) ;; *) tb_die "CELLS takes none, off, on (got '$c')" ;; esac
done
case $traffic in unicast|broadcast) ;; *) tb_die "TRAFFIC takes unicast or broadcast (got '$traffic')" ;; esac
target=${CARGO_TARGET_DIR:-$repo/target}
ours_lib=${OURS_LIB:-$target/release/libkea_runscript.so}
ack_worker=${ACK_WORKER:-$target/release/examples/ack_worker}
if [ ! -f "$ours_lib" ] && [ -z "${OURS_LIB:-}" ]; then
    tb_log "building libkea_runscript.so (cargo build --release -p kea-runscript-hook)"
    cargo build --release -j2 -p kea-runscript-hook >&2 || tb_die "building kea-runscript-hook failed"
fi
[ -f "$ours_lib" ] || tb_die "our library not found at $ours_lib (build it, or set OURS_LIB)"
case $worker_kind in
    ack)
        if [ ! -x "$ack_worker" ] && [ -z "${ACK_WORKER:-}" ]; then
            tb_log "building the ack worker (cargo build --release -p kea-runscript-core --example ack_worker)"
            cargo build --release -j2 -p kea-runscript-core --example ack_worker >&2 || tb_die "building ack_worker failed"
        fi
        [ -x "$ack_worker" ] || tb_die "the ack worker not found at $ack_worker (build it, or set ACK_WORKER)"
        worker_params="\"name\": \"$ack_worker\""
        ;;
    lease-log)
        # One lease log per server (@NAME@: s1 / s2), in the temporary directory.
        worker_params="\"name\": \"$repo/examples/lease-log.py\", \"env\": {\"LEASE_LOG\": \"@DIR@/@NAME@-lease-log.jsonl\"}"
        ;;
    *) tb_die "WORKER takes ack or lease-log (got '$worker_kind')" ;;
esac

# Kea at WARN: INFO logs every packet and slows Kea down. Our library's logger at INFO in
# its own file (s1-runscript.log, s2-runscript.log): a few lines per Kea, among them the
# counters at unload. A slow partner must not be declared down (see HA_MAX_RESPONSE_DELAY).
export TB_KEA_SEVERITY=WARN TB_RUNSCRIPT_SEVERITY=INFO
export HA_MAX_RESPONSE_DELAY=${HA_MAX_RESPONSE_DELAY:-10000}
ha_init 4 hot-standby
ha_net_up
# perfdhcp's server argument: s1's address (unicast), or none (broadcast to both).
server=()
[ "$traffic" = broadcast ] || server=("${IP4[s1]}")
# The perfdhcp command as printed (the interface is eth0 in the client namespace).
perfdhcp_text="perfdhcp -4 -l eth0 -r $rate -p $period -R $clients${server[*]:+ ${server[*]}} ($traffic)"
worker_params=${worker_params//@DIR@/$TB_DIR}

# One config per cell and server: $TB_DIR/<cell>-<server>.json. Our library comes after
# lease_cmds and HA (HA_EXTRA_HOOK), as configuration.md asks for "ha".
declare -A hook=(
    [none]=""
    [off]="{\"library\": \"$ours_lib\", \"parameters\": {$worker_params, \"mode\": \"worker\", \"hook-points\": [\"leases4_committed\"]}}"
    [on]="{\"library\": \"$ours_lib\", \"parameters\": {$worker_params, \"mode\": \"worker\", \"hook-points\": [\"leases4_committed\"], \"ha\": {}}}"
)
for c in "${cells[@]}"; do
    for s in s1 s2; do
        HA_EXTRA_HOOK=${hook[$c]} ha_config "$s" "$TB_DIR/$c-$s.json" >/dev/null
        # kea-dhcp4 -t parses the config and loads the libraries: a mistake fails here,
        # before the first round.
        out=$(ip netns exec "${NS[$s]}" env KEA_PIDFILE_DIR="$TB_DIR" KEA_LOCKFILE_DIR="$TB_DIR" \
              /usr/sbin/kea-dhcp4 -t "$TB_DIR/$c-$s.json" 2>&1) || { echo "$out" | tail -n 20 >&2; tb_die "kea-dhcp4 rejected $c-$s.json"; }
    done
done

hz=$(getconf CLK_TCK)
# cpu_ticks PID...: utime + stime (clock ticks) summed over the given processes, each
# with all its threads (fields 14 and 15 of /proc/PID/stat, counted after the ")" that
# ends the command name). A process gone meanwhile counts 0.
cpu_ticks() {
    local p total=0 t
    for p in "$@"; do
        t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || t=0
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
# descendants PID: every process below PID (our keepers and workers below Kea).
descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1"); do
        echo "$c"
        descendants "$c"
    done
}
# counter FILE NAME: the value of NAME in the last "unload: counters events=… acked=… …"
# line of our log, "-" when there is none.
counter() {
    local v
    v=$(sed -n 's/.*unload: counters //p' "$1" 2>/dev/null | tail -n 1 | tr ' ' '\n' | awk -F= -v n="$2" '$1 == n {print $2}')
    echo "${v:--}"
}
# warnings FILE: Kea's warnings and errors, beyond the three every Kea of these configs
# prints at start-up (no lease file, multi-threading on, reservations looked up first).
startup_warnings='DHCPSRV_MEMFILE_NO_STORAGE|DHCP4_MULTI_THREADING_INFO|DHCP4_RESERVATIONS_LOOKUP_FIRST_ENABLED'
warnings() {
    grep -E ' (WARN|ERROR|FATAL) ' "$1" | grep -c -v -E "$startup_warnings" || true
}

# measure CELL ROUND: a fresh pair, one perfdhcp run; appends "cell round dora/s acks
# leases-s1 leases-s2 kea2-ticks worker2-ticks acked-s1 acked-s2 dropped states warnings"
# to results.
measure() {
    local c=$1 r=$2 s out rc dora acks k0 k1 w0 w1 wpids l1 l2 st1 st2 a1 a2 d warn mark=""
    for s in s1 s2; do : >"$TB_DIR/$s.log"; : >"$TB_DIR/$s-runscript.log"; done
    ha_start s1 "$TB_DIR/$c-s1.json"
    ha_start s2 "$TB_DIR/$c-s2.json"
    ha_wait s1 hot-standby 60 >/dev/null
    ha_wait s2 hot-standby 30 >/dev/null
    [ "$(cat "/proc/${PID[s2]}/comm")" = kea-dhcp4 ] || tb_die "pid ${PID[s2]} is not s2's kea-dhcp4"
    # s2's worker (and its keeper) were started at load; they are sampled with Kea.
    wpids=$(descendants "${PID[s2]}" | tr '\n' ' ')
    k0=$(cpu_ticks "${PID[s2]}")
    # shellcheck disable=SC2086
    w0=$(cpu_ticks $wpids)
    rc=0
    out=$(ip netns exec "${NS[cli]}" perfdhcp -4 -l eth0 -r "$rate" -p "$period" -R "$clients" "${server[@]}" 2>&1) || rc=$?
    # 3 = "some exchanges not completed": expected when offering more than Kea answers.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        echo "$out" | tail -n 20 >&2
        tb_die "perfdhcp failed with exit code $rc ($c, round $r)"
    fi
    # The workers get their events asynchronously (batched, up to 2 ms late): let them
    # finish before the second sample (s2 idles meanwhile, but for a heartbeat a second).
    sleep 2
    k1=$(cpu_ticks "${PID[s2]}")
    # shellcheck disable=SC2086
    w1=$(cpu_ticks $wpids)
    st1=$(ha_state s1) st2=$(ha_state s2)
    l1=$(ha_leases s1) l2=$(ha_leases s2)
    ha_stop s2
    ha_stop s1
    dora=$(echo "$out" | awk '/^Rate:/ {print $2; exit}')
    [ -n "$dora" ] || { echo "$out" | tail -n 20 >&2; tb_die "no 'Rate:' line in perfdhcp's output ($c, round $r)"; }
    acks=$(echo "$out" | awk '/Statistics for: REQUEST-ACK/ {s=1} s && /^received packets:/ {print $3; exit}')
    a1=- a2=- d=-
    if [ "$c" != none ]; then
        a1=$(counter "$TB_DIR/s1-runscript.log" acked)
        a2=$(counter "$TB_DIR/s2-runscript.log" acked)
        d=$(counter "$TB_DIR/s1-runscript.log" dropped)+$(counter "$TB_DIR/s2-runscript.log" dropped)
    fi
    warn=$(( $(warnings "$TB_DIR/s1.log") + $(warnings "$TB_DIR/s2.log") ))
    # Keep the warnings' message ids for the end of the run.
    grep -h -E ' (WARN|ERROR|FATAL) ' "$TB_DIR/s1.log" "$TB_DIR/s2.log" |
        grep -v -E "$startup_warnings" | awk '{print $5}' >>"$TB_DIR/warnings-$c" || true
    [ "$st1/$st2" = hot-standby/hot-standby ] || mark=" <- pair not in hot-standby after the traffic"
    echo "$c $r $dora ${acks:-0} $l1 $l2 $((k1 - k0)) $((w1 - w0)) $a1 $a2 $d $st1/$st2 $warn" >>"$TB_DIR/results"
    printf '  round %d  %-4s %9.1f DORA/s  %6s ACKs, leases s1 %s s2 %s; s2 CPU %5.2f s Kea + %5.2f s worker; acked s1 %s s2 %s, dropped %s; %s warnings%s\n' \
        "$r" "$c" "$dora" "${acks:-0}" "$l1" "$l2" "$(echo "$((k1 - k0)) $hz" | awk '{print $1 / $2}')" \
        "$(echo "$((w1 - w0)) $hz" | awk '{print $1 / $2}')" "$a1" "$a2" "$d" "$warn" "$mark" >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
tb_log "kea-dhcp4 $(/usr/sbin/kea-dhcp4 -v), $(nproc) CPUs, load average $load_before"
tb_log "ours: $ours_lib ($(date -u -r "$ours_lib" +%FT%TZ); checkout at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')); worker: $worker_kind"
tb_log "hot-standby pair, $perfdhcp_text; $rounds rounds of: ${cells[*]} (order rotated)"
t_start=$(date +%s)
: >"$TB_DIR/results"
n=${#cells[@]}
for r in $(seq "$rounds"); do
    # Round r starts with cell (r-1) mod n: each cell runs first, second, … equally often.
    for i in $(seq 0 $((n - 1))); do
        measure "${cells[$(((r - 1 + i) % n))]}" "$r"
        sleep 1
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
tb_log "load average after: $load_after; $(( $(date +%s) - t_start )) s of measurements"

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# col CELL N: column N of CELL's rows, from rounds whose pair stayed in hot-standby.
col() { awk -v c="$1" -v n="$2" '$1 == c && $12 == "hot-standby/hot-standby" {print $n}' "$TB_DIR/results"; }
# us_per_lease CELL N: per round, ticks of column N over s2's leases, in µs per lease.
us_per_lease() {
    awk -v c="$1" -v n="$2" -v hz="$hz" '$1 == c && $12 == "hot-standby/hot-standby" && $6 > 0 {print $n / hz / $6 * 1e6}' "$TB_DIR/results"
}

# The report (stdout). Rows of a cell whose pair left hot-standby are shown with a "*"
# and left out of the medians.
echo
echo "HA pair (hot-standby), DHCPv4, fresh pair per cell; $perfdhcp_text"
echo "$(nproc) CPUs, load average before $load_before, after $load_after; worker: $worker_kind"
echo
echo "DORA/s at the primary:"
printf '%-7s' round
for c in "${cells[@]}"; do printf ' %10s' "$c"; done
echo
for r in $(seq "$rounds"); do
    printf '%-7s' "$r"
    for c in "${cells[@]}"; do
        printf ' %10s' "$(awk -v c="$c" -v r="$r" '$1 == c && $2 == r {
            printf "%.1f%s", $3, ($12 == "hot-standby/hot-standby" ? "" : "*")}' "$TB_DIR/results")"
    done
    echo
done
declare -A med kcpu wcpu
for c in "${cells[@]}"; do
    med[$c]=$(col "$c" 3 | median)
    kcpu[$c]=$(us_per_lease "$c" 7 | median)
    wcpu[$c]=$(us_per_lease "$c" 8 | median)
done
printf '%-7s' median
for c in "${cells[@]}"; do printf ' %10.1f' "${med[$c]}"; done
echo
echo
echo "Standby (s2) CPU per replicated lease, µs: kea-dhcp4 + the worker with its keeper:"
printf '%-7s' round
for c in "${cells[@]}"; do printf ' %16s' "$c"; done
echo
for r in $(seq "$rounds"); do
    printf '%-7s' "$r"
    for c in "${cells[@]}"; do
        printf ' %16s' "$(awk -v c="$c" -v r="$r" -v hz="$hz" '$1 == c && $2 == r && $6 > 0 {
            printf "%.1f + %.1f%s", $7 / hz / $6 * 1e6, $8 / hz / $6 * 1e6, ($12 == "hot-standby/hot-standby" ? "" : "*")}' "$TB_DIR/results")"
    done
    echo
done
printf '%-7s' median
for c in "${cells[@]}"; do printf ' %16s' "$(printf '%.1f + %.1f' "${kcpu[$c]}" "${wcpu[$c]}")"; done
echo
if awk '$12 != "hot-standby/hot-standby" {found = 1} END {exit !found}' "$TB_DIR/results"; then
    echo "(*: the pair was not in hot-standby after the traffic; left out of the medians)"
fi
echo
if [ -n "${med[on]:-}" ] && [ -n "${med[off]:-}" ]; then
    awk -v a="${med[on]}" -v b="${med[off]}" 'BEGIN {printf "ratio on/off (median DORA/s): %.3f   (goal >= 0.9)\n", a / b}'
fi
if [ -n "${med[none]:-}" ]; then
    for c in off on; do
        [ -n "${med[$c]:-}" ] || continue
        awk -v a="${med[$c]}" -v b="${med[none]}" -v c="$c" 'BEGIN {printf "ratio %s/none (median DORA/s): %.3f\n", c, a / b}'
    done
fi
if [ -n "${kcpu[on]:-}" ] && [ -n "${kcpu[off]:-}" ]; then
    awk -v ko="${kcpu[off]}" -v wo="${wcpu[off]}" -v kn="${kcpu[on]}" -v wn="${wcpu[on]}" 'BEGIN {
        printf "standby CPU per replicated lease (medians): off %.1f µs (Kea %.1f + worker %.1f), on %.1f µs (Kea %.1f + worker %.1f)\n",
            ko + wo, ko, wo, kn + wn, kn, wn
        printf "partner events add on the standby: %+.1f µs per lease in kea-dhcp4, %+.1f µs with the worker\n", kn - ko, (kn + wn) - (ko + wo)}'
fi
for c in "${cells[@]}"; do
    [ "$c" = none ] && continue
    awk -v c="$c" '$1 == c {a1 += $9; a2 += $10; l1 += $5; l2 += $6; split($11, d, "+"); dr += d[1] + d[2]} END {
        printf "cell %s, all rounds: events acknowledged by the workers s1 %d, s2 %d; leases s1 %d, s2 %d; dropped %d\n",
            c, a1, a2, l1, l2, dr}' "$TB_DIR/results"
done
for c in "${cells[@]}"; do
    [ -s "$TB_DIR/warnings-$c" ] || continue
    echo "Kea warnings, cell $c: $(sort "$TB_DIR/warnings-$c" | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')"
done
