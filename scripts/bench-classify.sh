#!/usr/bin/env bash
# Benchmark (issue 25, "scripts that decide"): DHCPv4 DORA exchanges per second of the real
# kea-dhcp4 when a script puts clients into a client class at pkt4_receive, against no hook:
#   (a) none:   no hook library, the same configuration otherwise (the classes, the pools),
#   (b) worker: examples/classify-worker.py as a sync worker at pkt4_receive: every
#               DISCOVER and REQUEST waits for its answer (the classes, from memory),
#   (c) spawn:  a sync spawned /bin/sh classifier at pkt4_receive, one process per query,
#               looking the client up in the same map with grep and printing KEA_CLASS=…,
#   (d) ack:    the Rust ack worker (kea-runscript-core/examples/ack_worker.rs) as a sync
#               worker at pkt4_receive, answering at once without classes: the cost of
#               the round trip to any sync worker, Python's share of (b) being the rest,
#   and each of them as "<cell>-mt": Kea with multi-threading (a pool of THREADS threads),
#   where a query waiting for the worker holds one Kea thread, not the server,
# interleaved in one run (a, b, c, a, b, c, …), a fresh Kea per measurement, perfdhcp in a
# network namespace joined by a veth (scripts/lib/testbed.sh). The map lists MAP_SIZE of
# perfdhcp's clients (spread evenly over its CLIENTS, which perfdhcp picks at random) in
# class "quarantine", whose pool is the upper half of perfdhcp's subnet; every other
# client gets the lower half (class "regular"). Each measurement also counts, in Kea's
# lease file, the leases of listed clients and in which pool they are: the proof that
# the classes were applied (in the none cell listed clients get the regular pool).
# Prints DORA/s per round, the medians and the ratios to no hook of the same threading
# (goal for the worker: >= 0.6x no hook).
#
# Usage (as root):  scripts/bench-classify.sh
# Environment:
#   ROUNDS=3          rounds of the cells
#   SECONDS=10        perfdhcp test period per measurement (PERIOD=… works too)
#   RATE=20000        perfdhcp -r (offered DORA/s; above what Kea can answer)
#   CLIENTS=1000000   perfdhcp -R (distinct clients, so nearly every DORA is a new lease)
#   MAP_SIZE=50000    clients listed in the map (of CLIENTS)
#   VARIANTS="none worker spawn none-mt worker-mt spawn-mt"  the cells of each round
#                     (also: ack, ack-mt)
#   THREADS=4         Kea's thread-pool-size in the -mt cells
#   ACK_WORKER=…      the ack cells' worker (default: target/release/examples/ack_worker;
#                     built when missing)
#   OURS_LIB=…        our library (default: $CARGO_TARGET_DIR or target/ +
#                     release/libkea_runscript.so; built with cargo when missing)
# Figures from one run are comparable with each other only.
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
map_size=${MAP_SIZE:-50000}
threads=${THREADS:-4}
for n in "$rounds" "$period" "$rate" "$clients" "$map_size" "$threads"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || tb_die "ROUNDS, SECONDS/PERIOD, RATE, CLIENTS, MAP_SIZE and THREADS must be positive integers (got '$n')"
done
[ "$map_size" -le "$clients" ] || tb_die "MAP_SIZE ($map_size) must not exceed CLIENTS ($clients)"
command -v perfdhcp >/dev/null || [ -x /usr/sbin/perfdhcp ] || tb_die "perfdhcp not found (apt-get install kea-admin, or run scripts/install-deps.sh)"
[ -x /usr/sbin/kea-dhcp4 ] || tb_die "/usr/sbin/kea-dhcp4 not found (run scripts/install-deps.sh)"
command -v python3 >/dev/null || tb_die "python3 not found (the classifier worker is Python)"
bench_ours_lib

TB_KEA_SEVERITY=WARN
# Our logger at INFO in its own file: the counters at unload (events answered, answers
# refused).
TB_RUNSCRIPT_SEVERITY=INFO
tb_init
tb_netns_up

# The map: MAP_SIZE of perfdhcp's clients. perfdhcp makes client r (0 <= r < CLIENTS) of
# its MAC template 00:0c:01:02:03:04 by adding r's bytes to the template's last bytes,
# each without carry (perfdhcp's TestControl::generateMacAddress).
map=$TB_DIR/class-map.csv
python3 - "$clients" "$map_size" "$map" <<'PY' || tb_die "writing the map failed"
import sys
clients, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
template = [0x00, 0x0c, 0x01, 0x02, 0x03, 0x04]
with open(path, "w") as f:
    for k in range(size):
        r, mac, i = k * (clients // size), list(template), 5
        while True:
            mac[i] = (mac[i] + r) & 0xff
            if r < 256:
                break
            r, i = r >> 8, i - 1
        f.write("%s,quarantine\n" % ":".join("%02x" % b for b in mac))
PY
# The spawned classifier: what a script without a worker does, a look-up per process.
spawn_script=$TB_DIR/classify-spawn.sh
cat >"$spawn_script" <<'SH'
#!/bin/sh
PATH=/usr/bin:/bin
[ "$1" = pkt4_receive ] || exit 0
line=$(grep -m1 "^$QUERY4_HWADDR," "$CLASS_MAP") || exit 0
echo "KEA_CLASS=${line#*,}"
SH
chmod 755 "$spawn_script"

read -r -a variants <<<"${VARIANTS:-none worker spawn none-mt worker-mt spawn-mt}"
declare -A label=([none]="no hook" [worker]="classify worker" [spawn]="classify spawn" [ack]="Rust ack worker")
if [[ " ${variants[*]} " == *" ack"* ]]; then
    ack_worker=${ACK_WORKER:-${CARGO_TARGET_DIR:-$repo/target}/release/examples/ack_worker}
    if [ ! -x "$ack_worker" ] && [ -z "${ACK_WORKER:-}" ]; then
        tb_log "building the ack worker (cargo build --release -p kea-runscript-core --example ack_worker)"
        cargo build --release -j2 -p kea-runscript-core --example ack_worker >&2 || tb_die "building ack_worker failed"
    fi
    [ -x "$ack_worker" ] || tb_die "the ack worker not found at $ack_worker (build it, or set ACK_WORKER)"
fi
declare -A hooks=(
    [none]="[]"
    [ack]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"${ack_worker:-}\", \"mode\": \"worker\", \"sync\": true, \"hook-points\": [\"pkt4_receive\"], \"timeout-ms\": 2000}}]"
    [worker]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$repo/examples/classify-worker.py\", \"mode\": \"worker\", \"sync\": true, \"hook-points\": [\"pkt4_receive\"], \"timeout-ms\": 2000, \"log-output\": true, \"env\": {\"CLASS_MAP\": \"$map\"}}}]"
    [spawn]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$spawn_script\", \"sync\": true, \"hook-points\": [\"pkt4_receive\"], \"timeout-ms\": 2000, \"env\": {\"CLASS_MAP\": \"$map\"}}}]"
)
# Kea 2.2 and 2.6 name a pool's class with "client-class", 3.0 with "client-classes".
pool_key=client-class
if tb_kea_3; then pool_key=client-classes; fi
leases=$TB_DIR/leases4.csv
TB_LEASE_DB="{\"type\": \"memfile\", \"persist\": true, \"name\": \"$leases\", \"lfc-interval\": 0}"
for v in "${variants[@]}"; do
    # "<cell>-mt": the cell with Kea's multi-threading.
    base=${v%-mt}
    [ -n "${label[$base]:-}" ] || tb_die "unknown variant '$v' in VARIANTS (none, worker, spawn, ack, each also with -mt)"
    mt=0
    if [ "$base" != "$v" ]; then
        mt=$threads
        label[$v]="${label[$base]} MT$threads"
    fi
    tb_kea4_config "$TB_DIR/bench-$v.json" "${hooks[$base]}"
    # perfdhcp's subnet (2) split into a quarantine pool and a regular one; "regular" names
    # KNOWN/UNKNOWN, so Kea evaluates it after pkt4_receive, where the script's class is set.
    python3 - "$TB_DIR/bench-$v.json" "$pool_key" "$mt" <<'PY' || tb_die "patching the configuration failed"
import json, sys
path, key, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path) as f:
    config = json.load(f)
dhcp4 = config["Dhcp4"]
dhcp4["client-classes"] = [
    {"name": "quarantine",
     "option-data": [{"name": "domain-name", "data": "quarantine.example", "always-send": True}]},
    {"name": "regular",
     "test": "not member('quarantine') and (member('KNOWN') or member('UNKNOWN'))"}]
def pool(span, cls):
    return {"pool": span, key: [cls] if key == "client-classes" else cls}
dhcp4["subnet4"][1]["pools"] = [pool("10.0.0.10-10.127.255.255", "regular"),
                                pool("10.128.0.0-10.255.255.200", "quarantine")]
dhcp4["multi-threading"] = {"enable-multi-threading": threads > 0,
                            "thread-pool-size": max(threads, 1), "packet-queue-size": 64}
with open(path, "w") as f:
    json.dump(config, f, indent=1)
PY
    tb_kea_check 4 "$TB_DIR/bench-$v.json"
done

# The leases of the lease file by kind: "listed-in-quarantine listed-elsewhere
# unlisted-in-quarantine unlisted-elsewhere".
lease_kinds() {
    python3 - "$map" "$leases" <<'PY'
import csv, ipaddress, sys
listed = {line.split(",")[0] for line in open(sys.argv[1])}
rows = {}
with open(sys.argv[2]) as f:
    for row in csv.DictReader(f):
        rows[row["address"]] = row
quarantine = ipaddress.ip_address("10.128.0.0")
counts = [0, 0, 0, 0]
for row in rows.values():
    if row["valid_lifetime"] == "0":
        continue
    q = ipaddress.ip_address(row["address"]) >= quarantine
    counts[(0 if row["hwaddr"] in listed else 2) + (0 if q else 1)] += 1
print(*counts)
PY
}

# measure VARIANT ROUND: fresh Kea, one perfdhcp run; appends "variant round dora/s
# listed-in-q listed-elsewhere unlisted-in-q unlisted-elsewhere answered answer-errors
# answers-with-data".
measure() {
    local v=$1 r=$2 base=${1%-mt} kinds counters answered with_data errors
    rm -f "$leases"
    tb_kea_start 4 "$TB_DIR/bench-$v.json"
    if [ "$base" = worker ]; then
        # The worker reads its map before the first query is timed.
        for _ in $(seq 100); do grep -q 'entries loaded' "$TB_KEA_LOG" && break; sleep 0.1; done
    else
        sleep 1
    fi
    bench_perfdhcp4 "$v, round $r" -r "$rate" -p "$period" -R "$clients"
    tb_kea_stop
    kinds=$(lease_kinds)
    answered=- with_data=- errors=-
    if [ "$base" != none ]; then
        counters=$(grep -o 'unload: counters [^@]*' "$TB_RUNSCRIPT_LOG" | tail -n 1 || true)
        [ -n "$counters" ] || tb_die "our library logged no counters at unload (see $TB_RUNSCRIPT_LOG)"
        if [ "$base" != spawn ]; then
            answered=$(echo "$counters" | grep -o ' acked=[0-9]*' | cut -d= -f2)
        else
            answered=$(echo "$counters" | grep -o ' started=[0-9]*' | cut -d= -f2)
        fi
        with_data=$(echo "$counters" | grep -o ' answers-with-data=[0-9]*' | cut -d= -f2)
        errors=$(echo "$counters" | grep -o ' answer-errors=[0-9]*' | cut -d= -f2)
    fi
    echo "$v $r $bench_dora $kinds $answered ${errors:--} ${with_data:--}" >>"$TB_DIR/results"
    read -r lq le uq ue <<<"$kinds"
    printf '  round %d  %-22s %10.1f DORA/s  (leases: listed %s in quarantine + %s elsewhere, unlisted %s in quarantine + %s elsewhere; queries answered %s, with classes %s, answers refused %s)\n' \
        "$r" "${label[$v]}" "$bench_dora" "$lq" "$le" "$uq" "$ue" "$answered" "${with_data:--}" "${errors:--}" >&2
}

tb_log "kea-dhcp4 $(/usr/sbin/kea-dhcp4 -v), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
tb_log "ours: $ours_lib ($(date -u -r "$ours_lib" +%FT%TZ); checkout at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
tb_log "perfdhcp -4 -l <veth> -r $rate -p $period -R $clients; map of $map_size clients; $rounds rounds of: ${variants[*]}"
: >"$TB_DIR/results"
for r in $(seq "$rounds"); do
    for v in "${variants[@]}"; do
        measure "$v" "$r"
        sleep 1
    done
done
tb_log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "DORA exchanges/s (perfdhcp -4 -r $rate -p $period -R $clients; map of $map_size clients; fresh kea-dhcp4 per cell, loggers at WARN)"
bench_table 22 "${variants[@]}"
echo
for v in "${variants[@]}"; do
    # Against no hook of the same threading.
    base=${v%-mt} none=none${v#"${v%-mt}"}
    [ "$base" = none ] || [ -z "${med[$none]:-}" ] && continue
    goal=""
    [ "$base" = worker ] && goal="   (goal >= 0.6)"
    awk -v x="${med[$v]}" -v n="${med[$none]}" -v l="${label[$v]}" -v g="$goal" \
        'BEGIN {printf "ratio %-22s / no hook (medians): %.3f%s\n", l, x / n, g}'
done
for t in "" -mt; do
    [ -n "${med[worker$t]:-}" ] && [ -n "${med[spawn$t]:-}" ] || continue
    awk -v w="${med[worker$t]}" -v s="${med[spawn$t]}" -v t="$t" 'BEGIN {printf "ratio worker%s / spawn%s (medians): %.1fx\n", t, t, w / s}'
done
echo
echo "leases of listed clients in the quarantine pool / all their leases; unlisted clients in it (all rounds):"
for v in "${variants[@]}"; do
    awk -v v="$v" -v l="${label[$v]}" -v b="${v%-mt}" '$1 == v {lq += $4; le += $5; uq += $6; a += $8; e += $9; d += $10}
        END {printf "  %-22s %d / %d; unlisted in quarantine %d", l, lq, lq + le, uq
             if (b != "none") printf "; queries answered %d, with classes %d, answers refused %d", a, d, e
             printf "\n"}' "$TB_DIR/results"
done
