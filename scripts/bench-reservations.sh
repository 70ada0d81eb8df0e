#!/usr/bin/env bash
# Benchmark: the cost of "host-reservation": true (the HOST4_* look-up in Kea's host
# manager per event). DHCPv4 DORA exchanges per second of the real kea-dhcp4 with this
# project's library in worker mode (the Rust ack worker, so that the per-event work of the
# library is what is measured, not process starts), at Kea's default hook points:
#   off: the worker without "host-reservation",
#   on:  the same worker with "host-reservation": true,
# interleaved in one run (off, on, off, on, …), a fresh Kea per measurement, a
# database-free configuration: RESERVATIONS host reservations in the subnet perfdhcp uses
# (Kea's in-memory host backend, from the configuration) and memfile leases in memory.
# perfdhcp's clients have no reservation (random MACs), so each look-up walks every
# configured identifier type and misses: the expensive case. Prints DORA/s per round, the
# medians and the ratio on/off.
#
# Usage (as root):  scripts/bench-reservations.sh
# Environment:
#   ROUNDS=3              rounds of (off, on)
#   PERIOD=10             perfdhcp test period (seconds) per measurement
#   RATE=20000            perfdhcp -r (offered DORA/s; above what Kea answers)
#   CLIENTS=1000000       perfdhcp -R (distinct clients: every DORA is a new lease)
#   RESERVATIONS=10000    host reservations in the subnet
#   OURS_LIB=…            our library (default: target/release/libkea_runscript.so; built when missing)
#   ACK_WORKER=…          the worker (default: target/release/examples/ack_worker; built when missing)
# Figures from one run are comparable with each other only.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
. "$repo/scripts/lib/testbed.sh"
. "$repo/scripts/lib/bench.sh"

rounds=${ROUNDS:-3}
period=${PERIOD:-10}
rate=${RATE:-20000}
clients=${CLIENTS:-1000000}
reservations=${RESERVATIONS:-10000}
for n in "$rounds" "$period" "$rate" "$clients" "$reservations"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || tb_die "ROUNDS, PERIOD, RATE, CLIENTS and RESERVATIONS must be positive integers (got '$n')"
done
[ "$reservations" -le 65536 ] || tb_die "RESERVATIONS must be at most 65536 (got $reservations)"
target=${CARGO_TARGET_DIR:-$repo/target}
ack_worker=${ACK_WORKER:-$target/release/examples/ack_worker}
command -v perfdhcp >/dev/null || [ -x /usr/sbin/perfdhcp ] || tb_die "perfdhcp not found (apt-get install kea-admin)"
[ -x /usr/sbin/kea-dhcp4 ] || tb_die "/usr/sbin/kea-dhcp4 not found (run scripts/install-deps.sh)"
bench_ours_lib
if [ ! -x "$ack_worker" ] && [ -z "${ACK_WORKER:-}" ]; then
    tb_log "building the ack worker (cargo build --release -p kea-runscript-core --example ack_worker)"
    cargo build --release -j2 -p kea-runscript-core --example ack_worker >&2 || tb_die "building ack_worker failed"
fi
[ -x "$ack_worker" ] || tb_die "the ack worker not found at $ack_worker"

tb_require_root
tb_init
tb_netns_up
export TB_KEA_SEVERITY=WARN

declare -A hooks
for v in off on; do
    extra=""
    [ "$v" = on ] && extra=', "host-reservation": true'
    hooks[$v]="[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$ack_worker\", \"mode\": \"worker\"$extra}}]"
    tb_kea4_config "$TB_DIR/bench-$v.json" "${hooks[$v]}"
    # RESERVATIONS hosts in subnet 2 (perfdhcp's, relayed), with locally administered MACs
    # 02:5e:00:00:XX:YY (perfdhcp uses others), an address, a hostname and a user context.
    python3 - "$TB_DIR/bench-$v.json" "$reservations" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
hosts = [{"hw-address": "02:5e:00:00:%02x:%02x" % (i // 256, i % 256),
          "ip-address": "10.1.%d.%d" % (i // 256, i % 256),
          "hostname": "h%d" % i, "user-context": {"i": i}} for i in range(n)]
config = json.load(open(path))
for subnet in config["Dhcp4"]["subnet4"]:
    if subnet["id"] == 2:
        subnet["reservations"] = hosts
json.dump(config, open(path, "w"))
PY
    tb_kea_check 4 "$TB_DIR/bench-$v.json"
done

# measure VARIANT ROUND: a fresh Kea, one perfdhcp run; appends "variant round dora/s".
measure() {
    local v=$1 r=$2 dora
    tb_kea_start 4 "$TB_DIR/bench-$v.json"
    bench_perfdhcp4 "$v, round $r" -r "$rate" -p "$period" -R "$clients"
    tb_kea_stop
    if grep -E ' (ERROR|FATAL) ' "$TB_KEA_LOG" >&2; then
        tb_die "Kea logged errors ($v, round $r; above)"
    fi
    dora=$bench_dora
    echo "$v $r $dora" >>"$TB_DIR/results"
    printf '  round %d  %-4s %10.1f DORA/s\n' "$r" "$v" "$dora" >&2
}

tb_log "kea-dhcp4 $(/usr/sbin/kea-dhcp4 -v), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
tb_log "ours: $ours_lib, worker $ack_worker; $reservations reservations; perfdhcp -r $rate -p $period -R $clients; $rounds rounds"
: >"$TB_DIR/results"
for r in $(seq "$rounds"); do
    for v in off on; do
        measure "$v" "$r"
        sleep 1
    done
done

off=$(awk '$1 == "off" {print $3}' "$TB_DIR/results" | bench_median)
on=$(awk '$1 == "on" {print $3}' "$TB_DIR/results" | bench_median)
echo
echo "DORA exchanges/s, worker mode (ack worker), $reservations reservations in the config, memfile leases"
printf 'median  host-reservation off %10.1f   on %10.1f\n' "$off" "$on"
awk -v a="$on" -v b="$off" 'BEGIN {printf "ratio on/off (medians): %.3f\n", a / b}'
