#!/usr/bin/env bash
# Soak test: drives the real kea-dhcp4 / kea-dhcp6 with perfdhcp for EVENTS lease
# events per variant and samples Kea every SLICE seconds: RSS, open fds, threads,
# memory mappings, zombie processes under Kea, and the exchange rate. Variants (one
# fresh Kea each, the same traffic, multi-threading on):
#   none                  no hook library (the baseline every figure is shown next to)
#   noop                  a C++ hook with a no-op callout at Kea's 13 run-script hook
#                         points (bench/noop_hook.cc): Kea's own cost of having callouts
#   noopall               the same at the 21 hook points libkea_runscript.so exports callouts for
#   alloc                 the same C++ hook, each callout allocating and freeing ALLOC_BYTES
#                         (4096) in short strings, as building a script's environment does
#   kea                   Kea's libdhcp_run_script.so, async, the same no-op script
#   <mode>-<async|sync>   our release library, that runner mode and sync setting
# Each sample also shows Kea's own count of replies sent (pkt4-ack-sent / pkt6-reply-sent)
# and, for ours, the script runs so far (kea-runscript.events), read over Kea's control
# socket. Prints the samples and a summary, and fails when, after the warm-up, any of them
# grows (or the rate falls) beyond the tolerances below, or our counters at unload
# do not account for every event.
#
# Usage (as root):  scripts/soak.sh
# Environment:
#   EVENTS=1000000      lease events per variant: leases committed (DHCPACKs / REPLYs
#                       perfdhcp received); each lease also expires (see LIFETIME)
#   FAMILIES="4 6"      kea-dhcp4 and/or kea-dhcp6
#   MODES="spawn worker"  our runner modes (one word each; "" for none)
#   SYNCS="async sync"  our sync settings
#   BASELINES="none"    hook-less and foreign variants: any of none, noop, noopall, alloc, kea
#   SLICE=5             seconds per sample (one perfdhcp run per slice)
#   RATE=20000          perfdhcp -r (offered exchanges/s, above what Kea answers)
#   CLIENTS=1000000     perfdhcp -R (distinct clients per slice; each slice has its own
#                       base MAC, -b mac=02:SS:SS:00:00:00, so every exchange is a new client)
#   NEW_CLIENTS=1       0: every slice uses the same base MAC, so the CLIENTS clients come
#                       back (renewals): the lease database then holds at most CLIENTS
#                       leases whatever the rate, and RSS growth can only be per event
#   LIFETIME=10         lease lifetime (s). Leases expire and are reclaimed at once, so
#                       the lease database stays bounded and a flat Kea stays flat.
#                       LIFETIME=3600 keeps every lease: Kea's RSS then grows with its
#                       lease database (GROWTH_CHECK=0 reports without failing on it).
#   OURS_LIB=…          our library (default target/release/libkea_runscript.so; built when missing)
#   KEA_HOOK_LIB=…      Kea's run-script hook (default: Debian's path)
# Tolerances, after the warm-up: the first WARMUP_PCT % of samples (at least 2), or all
# samples of the first WARMUP_SECONDS (default 3 x LIFETIME + 10, 40 for LIFETIME > 60: the lease database and
# the async queues fill up), whichever is longer:
#   RSS_TOL_PER_1000=163840          bytes of RSS Kea may gain per 1,000 lease events after the
#                                    warm-up: its maximum after the warm-up may exceed its
#                                    warm-up maximum by at most this x (lease events after
#                                    the warm-up) / 1000. Stated per event, so it scales with
#                                    EVENTS; derived from the measured baselines below
#   idle fds                         the list of Kea's open fds and what each points to,
#                                    idle after the traffic, must equal the list idle before
#                                    it, exactly (a difference fails, for our library)
#   FD_TOL=2, THREAD_TOL=0, MAP_TOL=16 threads and mappings over the warm-up maximum, and
#                                    threads and mappings idle after the traffic over idle
#                                    before it; during the traffic fds may exceed the idle
#                                    count by FDS_PER_RUN=2 per async run in flight
#                                    (max-in-flight 64) plus FD_TOL
#   ZOMBIE_MAX=8                     zombies at any sample (a reaper collects them within
#                                    milliseconds; more means reaping stalls); 0 once idle
#   RATE_TOL_PCT=30                  median rate of the last third may be at most this much
#                                    below the median of the first third after warm-up (the
#                                    machine's other load moves it; a real slow-down is larger);
#                                    "off": the rate is shown, not judged
# Events merged, blocked and dropped (overflow policy, merge by default): counted per
# variant and reported on a line of their own; the accounting is exact: at unload
# events == started + merged + dropped (a worker: acked + merged + dropped), none failed
# to start, nothing in flight or queued. Last states (our spawn variants): after the
# traffic, each lease's last recorded event is its expiry (last_states below).
#
# Measured baselines (the RSS tolerance is derived from these): a release build
# (cargo build --release -p kea-runscript-hook) at 2e76425 on the 2-core development
# machine while other builds and tests ran (load average 30-60), with the suite's call
#   EVENTS=100000 FAMILIES=4 MODES=spawn SYNCS=async NEW_CLIENTS=0 CLIENTS=2000 \
#     WARMUP_SECONDS=20 RATE_TOL_PCT=off scripts/soak.sh
# and twice with EVENTS=50000 (the suite's default; run 4's build differed only in code
# the hook does not call):
#   run            variant      lease events      RSS after the warm-up   per 1,000 lease events
#                               after warm-up
#   1  100000      spawn-async  79,421            +2,668 KB               34,399 bytes
#   2  100000      spawn-async  80,725            +1,552 KB               19,687 bytes
#   2  100000      none         66,903               +60 KB                  918 bytes
#   3  50000       spawn-async  44,001            +2,484 KB               57,808 bytes
#   4  50000       spawn-async  42,059            +3,160 KB               76,936 bytes
# (40 to 47 % of the script events were dropped in each run: the machine's load.) Our RSS
# rises in steps while the async queue (max-queued 1024 events with their environments)
# fills and the allocator's per-thread arenas grow, then stays flat: a bounded step, so
# the fewer the events the larger its share per event (runs 3, 4); the tolerance is about
# twice the largest figure measured (160 KiB), at EVENTS=50000 (fewer is not measured).
# A leak of 256 bytes per script event (about 1 KB per lease event here: each fires 4 to
# 5 hook points; planted once) is far over it.
# Idle fds: the list before and after the traffic was the same in every run (20 fds
# for none, 25 for spawn-async).
soak_seconds_env=${SECONDS:-0}
seen_file=""
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
. "$repo/scripts/lib/testbed.sh"

events=${EVENTS:-1000000}
families=${FAMILIES:-"4 6"}
modes=${MODES-spawn worker}
syncs=${SYNCS:-"async sync"}
baselines=${BASELINES-none}
slice=${SLICE:-5}
rate=${RATE:-20000}
clients=${CLIENTS:-1000000}
new_clients=${NEW_CLIENTS:-1}
lifetime=${LIFETIME:-10}
warmup_pct=${WARMUP_PCT:-20}
warmup_seconds=${WARMUP_SECONDS:-$((lifetime <= 60 ? 3 * lifetime + 10 : 40))}
# Bytes of RSS per 1,000 lease events after the warm-up (measurements in the header).
rss_tol_per_1000=${RSS_TOL_PER_1000:-163840}
fd_tol=${FD_TOL:-2}
thread_tol=${THREAD_TOL:-0}
map_tol=${MAP_TOL:-16}
fds_per_run=$(( ${FDS_PER_RUN:-2} * 64 ))
zombie_max=${ZOMBIE_MAX:-8}
rate_tol_pct=${RATE_TOL_PCT:-30}
rate_check=1
if [ "$rate_tol_pct" = off ]; then rate_check=0; rate_tol_pct=0; fi
growth_check=${GROWTH_CHECK:-1}
kea_hook_lib=${KEA_HOOK_LIB:-/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_run_script.so}
ours_lib=${OURS_LIB:-${CARGO_TARGET_DIR:-$repo/target}/release/libkea_runscript.so}
: "$soak_seconds_env"

[[ "$rss_tol_per_1000" =~ ^[0-9]+$ ]] || tb_die "RSS_TOL_PER_1000 must be a whole number of bytes (got '$rss_tol_per_1000')"
for n in "$events" "$slice" "$rate" "$clients" "$lifetime" "$warmup_pct"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || tb_die "EVENTS, SLICE, RATE, CLIENTS, LIFETIME and WARMUP_PCT must be positive integers (got '$n')"
done
command -v perfdhcp >/dev/null || [ -x /usr/sbin/perfdhcp ] || tb_die "perfdhcp not found (run scripts/install-deps.sh)"
if [ ! -f "$ours_lib" ] && [ -z "${OURS_LIB:-}" ]; then
    tb_log "building libkea_runscript.so (cargo build --release -p kea-runscript-hook)"
    cargo build --release -j2 -p kea-runscript-hook >&2 || tb_die "building kea-runscript-hook failed"
fi
[ -f "$ours_lib" ] || tb_die "our library not found at $ours_lib (build it, or set OURS_LIB)"

TB_KEA_SEVERITY=WARN
TB_RUNSCRIPT_SEVERITY=INFO
TB_VALID_LIFETIME=$lifetime
# Reclaim every expired lease at each 1 s cycle (Kea's default stops at 100), so
# the lease database stays bounded at about RATE x LIFETIME.
TB_RECLAIM_EXTRA='"max-reclaim-leases": 0, "max-reclaim-time": 0'
tb_init
tb_netns_up

# The no-op script. In a worker mode it is started with "worker" and acks each
# event line ({"seq":N,...}) with {"seq":N}; otherwise it exits at once, after appending
# "HOOK_POINT ADDRESS" to $SOAK_SEEN when set (our spawn variants: the last-state check;
# a shell builtin and one short O_APPEND write, so the lines of concurrent runs never mix).
# Not a lease4_renew Kea reports while answering a DHCPDISCOVER: a fake allocation (the
# offer; Kea stores nothing), so not a state of the lease.
noop="$TB_DIR/noop.sh"
cat >"$noop" <<'SH'
#!/bin/sh
if [ "$1" != worker ]; then
    if [ -n "$SOAK_SEEN" ] && [ "$QUERY4_TYPE" != DHCPDISCOVER ]; then
        a=$LEASE4_ADDRESS$LEASE6_ADDRESS$LEASES4_AT0_ADDRESS$LEASES6_AT0_ADDRESS
        d=$DELETED_LEASES4_AT0_ADDRESS$DELETED_LEASES6_AT0_ADDRESS
        # A commit that moves a client to a new address deletes its old lease: that
        # lease's last state, which no expiry follows.
        [ -z "$d" ] || echo "deleted $d" >>"$SOAK_SEEN"
        [ -z "$a" ] || echo "$1 $a" >>"$SOAK_SEEN"
    fi
    exit 0
fi
while IFS= read -r line; do
    seq=${line#*\"seq\":}
    printf '{"seq":%s}\n' "${seq%%[,\}]*}"
done
SH
chmod 755 "$noop"

noop_lib= noop_all_lib=
if [[ " $baselines " =~ \ (noop|noopall|alloc)\  ]]; then
    noop_lib=$(tb_noop_hook noop_hook)
    noop_all_lib=$(tb_noop_hook noop_hook_all -DNOOP_ALL_HOOK_POINTS)
fi

# hooks_json VARIANT: the hooks-libraries array of a variant.
hooks_json() {
    local v=$1 mode sync extra=""
    case $v in
        none) echo "[]"; return ;;
        noop) echo "[{\"library\": \"$noop_lib\"}]"; return ;;
        noopall) echo "[{\"library\": \"$noop_all_lib\"}]"; return ;;
        alloc) echo "[{\"library\": \"$noop_lib\", \"parameters\": {\"alloc-bytes\": ${ALLOC_BYTES:-4096}}}]"; return ;;
        kea) echo "[{\"library\": \"$kea_hook_lib\", \"parameters\": {\"name\": \"$noop\", \"sync\": false}}]"; return ;;
    esac
    mode=${v%-*}
    sync=${v##*-}
    # spawn is the default runner; any other mode is named ("mode": "worker").
    [ "$mode" = spawn ] || extra=", \"mode\": \"$mode\""
    [ "$mode" != spawn ] || extra=", \"env\": {\"SOAK_SEEN\": \"$seen_file\"}"
    [ "$sync" = sync ] && sync=true || sync=false
    echo "[{\"library\": \"$ours_lib\", \"parameters\": {\"name\": \"$noop\", \"sync\": $sync$extra}}]"
}

variants=()
for b in $baselines; do
    case $b in none | noop | noopall | alloc | kea) variants+=("$b") ;; *) tb_die "unknown baseline '$b' (none, noop, noopall, alloc, kea)" ;; esac
done
for m in $modes; do
    for s in $syncs; do
        case $s in async | sync) variants+=("$m-$s") ;; *) tb_die "unknown sync setting '$s' (async, sync)" ;; esac
    done
done

mt='"multi-threading": {"enable-multi-threading": true, "thread-pool-size": 4, "packet-queue-size": 64}'

# The processes under Kea (its children, our keepers and scripts), one per line.
descendants() {
    local pids=$1 all
    all=$(ps -e -o pid=,ppid= 2>/dev/null)
    while [ -n "$pids" ]; do
        echo "$pids" | tr ' ' '\n'
        pids=$(echo "$all" | awk -v p=" $pids " 'index(p, " " $2 " ") {printf "%s ", $1}')
        pids=${pids% }
    done
}
zombies() {
    local n=0 pid
    for pid in $(descendants "$1"); do
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && n=$((n + 1))
    done
    echo "$n"
}

# fd_list PID: Kea's open fds and what they point to, one per line.
fd_list() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        printf '%s -> %s\n' "${fd##*/}" "$(readlink "$fd" 2>/dev/null || echo '?')"
    done | sort -n
}

# loggers_spoken PID: the names of the Kea loggers that wrote a message of process PID
# to this testbed's Kea logs. Kea opens its logger lock file (KEA_LOCKFILE_DIR/
# logger_lockfile) once per logger, at that logger's first message, and keeps it open.
loggers_spoken() {
    cat "$TB_DIR"/kea*.log 2>/dev/null | sed -n "s/^[^[]*\[\([^/]*\)\/$1\..*/\1/p" | sort -u
}

# stat SOCKET NAME: the latest value of Kea statistic NAME over Kea's control socket
# (perl: in every Debian installation), or "-".
stat() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or do { print "-"; exit };
        print $s "{\"command\": \"statistic-get\", \"arguments\": {\"name\": \"$ARGV[1]\"}}";
        local $/; my $a = <$s>;
        print $a =~ /\[\s*\[\s*(\d+)/ ? $1 : "-";' "$1" "$2" 2>/dev/null || echo -
}

# sample PID: "rss_kb fds threads maps zombies"
sample() {
    local pid=$1 rss threads fds maps
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    maps=$(wc -l <"/proc/$pid/maps")
    echo "$rss $fds $threads $maps $(zombies "$pid")"
}

failures=()
fail() {
    failures+=("$*")
    echo "FAIL: $*" >&2
}

# run FAMILY VARIANT: one fresh Kea, perfdhcp slices until EVENTS leases; samples
# go to $TB_DIR/samples-FAMILY-VARIANT ("t events rate rss fds threads maps zombies").
run() {
    local fam=$1 v=$2 cfg out rc total=0 t0 acks r s file slices=0
    cfg="$TB_DIR/soak$fam-$v.json"
    file="$TB_DIR/samples-$fam-$v"
    local sock="$TB_DIR/ctrl-$fam-$v.sock" replies=pkt4-ack-sent
    seen_file="$TB_DIR/seen-$fam-$v"
    : >"$seen_file"
    [ "$fam" = 4 ] || replies=pkt6-reply-sent
    "tb_kea${fam}_config" "$cfg" "$(hooks_json "$v")" \
        "$mt, \"control-socket\": {\"socket-type\": \"unix\", \"socket-name\": \"$sock\"}"
    tb_kea_check "$fam" "$cfg"
    tb_kea_start "$fam" "$cfg"
    # The idle baseline once Kea has finished starting: its thread pool and our threads
    # come up after the config is applied, and on a loaded machine that can take a while
    # (a sample taken at once saw 6 threads, and 10 once idle after the traffic, with the
    # load average at 50). Settled: the same thread count for 3 looks 0.5 s apart (up to 30 s).
    local settled=0 prev="" now _
    for _ in $(seq 60); do
        now=$(awk '/^Threads:/ {print $2}' "/proc/$TB_KEA_PID/status")
        if [ "$now" = "$prev" ]; then settled=$((settled + 1)); else settled=0; fi
        [ "$settled" -ge 3 ] && break
        prev=$now
        sleep 0.5
    done
    sample "$TB_KEA_PID" >"$file.start"
    fd_list "$TB_KEA_PID" >"$file.fds-start"
    loggers_spoken "$TB_KEA_PID" >"$file.loggers-start"
    : >"$file"
    t0=$(date +%s)
    tb_log "v$fam $v: $events lease events, ${slice}s slices"
    printf '  %6s %9s %8s %9s %5s %7s %6s %7s %10s %10s\n' t events rate rss_kb fds threads maps zombies \
        kea-replies script-runs >&2
    while [ "$total" -lt "$events" ]; do
        rc=0
        # A new base MAC per slice: perfdhcp starts every run with the same clients (its
        # -s seed does not change them), which would make every slice after the first
        # renew the leases of the ones before instead of creating new ones.
        # NEW_CLIENTS=0 keeps the first slice's clients.
        slices=$((slices + 1))
        base=$((new_clients == 1 ? slices : 1))
        tb_cli perfdhcp "-$fam" -l "$TB_VCLI" -r "$rate" -p "$slice" -R "$clients" \
            -b "mac=$(printf '02:%02x:%02x:00:00:00' $((base / 256 % 256)) $((base % 256)))" \
            >"$TB_DIR/perfdhcp.out" 2>&1 &
        local pd=$!
        # Sample in the middle of the slice: Kea busy, scripts in flight.
        sleep "$(awk -v s="$slice" 'BEGIN {print s / 2}')"
        s=$(sample "$TB_KEA_PID")
        wait "$pd" || rc=$?
        out=$(cat "$TB_DIR/perfdhcp.out")
        # 3 = "some exchanges not completed": expected when offering more than Kea answers.
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
            echo "$out" | tail -n 20 >&2
            tb_die "perfdhcp failed with exit code $rc (v$fam $v)"
        fi
        r=$(echo "$out" | awk '/^Rate:/ {print $2; exit}')
        # The second exchange's replies: REQUEST-ACK (v4) or REQUEST-REPLY (v6).
        acks=$(echo "$out" | awk '/Statistics for: REQUEST-(ACK|REPLY)/ {f=1} f && /^received packets:/ {print $3; exit}')
        [ -n "$r" ] && [ -n "$acks" ] || { echo "$out" | tail -n 30 >&2; tb_die "no rate or reply count in perfdhcp's output (v$fam $v)"; }
        kill -0 "$TB_KEA_PID" 2>/dev/null || tb_die "kea-dhcp$fam died during the v$fam $v run (see $TB_KEA_LOG)"
        total=$((total + acks))
        # Kea's own count of replies sent and, for ours, the script runs (events) so far:
        # runs per reply show how many hook points each exchange fires.
        local kr ev=-
        kr=$(stat "$sock" "$replies")
        is_baseline "$v" || ev=$(stat "$sock" kea-runscript.events)
        echo "$(($(date +%s) - t0)) $total $r $s $kr $ev" >>"$file"
        # shellcheck disable=SC2086
        printf '  %6s %9s %8.0f %9s %5s %7s %6s %7s %10s %10s\n' "$(($(date +%s) - t0))" "$total" "$r" $s "$kr" "$ev" >&2
    done
    # Idle: every script ends and is reaped (bounded wait, on the condition itself).
    local z _
    for _ in $(seq 100); do
        z=$(zombies "$TB_KEA_PID")
        [ "$z" -eq 0 ] && [ "$(descendants "$TB_KEA_PID" | wc -l)" -le 1 ] && break
        sleep 0.1
    done
    [ "$z" -eq 0 ] || fail "v$fam $v: $z zombies under Kea 10 s after the traffic stopped"
    sample "$TB_KEA_PID" >"$file.idle"
    fd_list "$TB_KEA_PID" >"$file.fds-idle"
    # The idle fd list, exactly: every fd open after the traffic was open before it, to
    # the same file, and none is missing. One exception, Kea's own and counted: a Kea
    # logger that writes its first message during the traffic opens the logger lock file
    # (seen: alloc-engine's ALLOC_ENGINE_V4_LEASE_RECLAMATION_FAILED when a client renews
    # a lease while Kea reclaims it); as many such fds as loggers that first spoke are
    # allowed, and shown.
    local new_loggers new_lockfile_fds
    new_loggers=$(loggers_spoken "$TB_KEA_PID" | comm -13 "$file.loggers-start" -)
    new_lockfile_fds=$(grep -vxF -f "$file.fds-start" "$file.fds-idle" | grep " -> $TB_DIR/run/logger_lockfile\$" || true)
    cp "$file.fds-idle" "$file.fds-idle.judged"
    if [ -n "$new_lockfile_fds" ] &&
        [ "$(grep -c . <<<"$new_lockfile_fds")" -le "$(grep -c . <<<"$new_loggers")" ]; then
        echo "v$fam $v: $(grep -c . <<<"$new_lockfile_fds") logger lock file fd(s) opened by Kea loggers that first wrote during the traffic: $(tr '\n' ' ' <<<"$new_loggers")" >&2
        grep -vxF -f - "$file.fds-idle" <<<"$new_lockfile_fds" >"$file.fds-idle.judged" || true
    fi
    if ! diff -q "$file.fds-start" "$file.fds-idle.judged" >/dev/null; then
        echo "v$fam $v: Kea's fds idle before (<) and after (>) the traffic:" >&2
        diff "$file.fds-start" "$file.fds-idle" | grep '^[<>]' | sed 's/^/    /' >&2 || true
        if is_baseline "$v"; then
            echo "note: v$fam $v: Kea's idle fd list changed over the traffic (a baseline: shown, not judged)" >&2
        else
            fail "v$fam $v: Kea's idle fd list after the traffic differs from the one before it (above)"
        fi
    else
        echo "v$fam $v: Kea's idle fd list after the traffic equals the one before it ($(wc -l <"$file.fds-idle") fds)" >&2
    fi
    # After the idle sample (the expiries to come run after it, as they always did).
    last_states "$fam" "$v"
    tb_kea_stop
    check "$fam" "$v"
}

# last_states FAMILY VARIANT: no lease's last state lost (our spawn variants, LIFETIME
# of at most 60 s). After the traffic every lease expires and Kea reclaims it within a
# second, so the last event the script recorded for each address must be its expiry
# (or a release or decline, or its deletion by a commit that moved the client to another
# address): a lost or reordered last event leaves a commit or renewal there. Waits for that, at most 3 x LIFETIME + 30 s, then counts the leases whose last
# state was lost. Under overflow "merge" (the default) that is 0, whatever was merged.
last_states() {
    local fam=$1 v=$2 n=0 lost=0 example="" _
    case $v in spawn-*) ;; *) return 0 ;; esac
    [ "$lifetime" -le 60 ] || { echo "v$fam $v: last states not checked (LIFETIME > 60)" >&2; return 0; }
    for _ in $(seq $(((3 * lifetime + 30) * 2))); do
        read -r n lost example < <(awk 'NF == 2 {last[$2] = $1}
            END {n = 0; lost = 0
                 for (a in last) {n++; if (last[a] !~ /^(lease[46]_(expire|release|decline)|deleted)$/) {lost++; ex = a ":" last[a]}}
                 printf "%d %d %s\n", n, lost, ex}' "$seen_file")
        [ "$n" -gt 0 ] && [ "$lost" -eq 0 ] && break
        sleep 0.5
    done
    echo "v$fam $v: last states: $n leases, $lost whose last recorded event is not their expiry" >&2
    [ "$n" -gt 0 ] || fail "v$fam $v: the script recorded no lease (see $seen_file)"
    [ "$lost" -eq 0 ] || fail "v$fam $v: $lost of $n leases lost their last state (e.g. $example) $((3 * lifetime + 30)) s after the traffic"
}

is_baseline() {
    case $1 in none | noop | noopall | alloc | kea) return 0 ;; *) return 1 ;; esac
}

# check FAMILY VARIANT: the tolerances over the samples, and our counters.
check() {
    local fam=$1 v=$2 file="$TB_DIR/samples-$1-$2" verdict
    verdict=$(awk -v wp="$warmup_pct" -v rtb="$rss_tol_per_1000" -v ft="$fd_tol" \
        -v tt="$thread_tol" -v mpt="$map_tol" -v zm="$zombie_max" -v rtol="$rate_tol_pct" -v rc="$rate_check" -v ws="$warmup_seconds" \
        -v gc="$growth_check" -v name="v$fam $v" -v per_run="$fds_per_run" -v base="$(is_baseline "$v" && echo 1 || echo 0)" \
        -v start="$(cat "$file.start")" -v idle="$(cat "$file.idle")" '
        { t[NR]=$1; ev[NR]=$2; rate[NR]=$3; rss[NR]=$4; fd[NR]=$5; th[NR]=$6; mp[NR]=$7; zb[NR]=$8 }
        function med(a, from, to,   n, i, j, x, b) {
            n = 0; for (i = from; i <= to; i++) b[++n] = a[i]
            for (i = 2; i <= n; i++) { x = b[i]; for (j = i - 1; j >= 1 && b[j] > x; j--) b[j+1] = b[j]; b[j+1] = x }
            return n ? (n % 2 ? b[(n+1)/2] : (b[n/2] + b[n/2+1]) / 2) : 0
        }
        function maxof(a, from, to,   i, m) { m = a[from]; for (i = from; i <= to; i++) if (a[i] > m) m = a[i]; return m }
        END {
            # A baseline (no library of ours) is shown for comparison; only ours can fail.
            tag = base ? "note:" : "FAIL"
            n = NR; w = int(n * wp / 100); if (w < 2) w = 2
            while (w < n && t[w + 1] <= ws) w++
            if (n < w + 3) {
                printf "%s %s: only %d samples (%d warm-up); raise EVENTS or lower SLICE\n", tag, name, n, w
                exit
            }
            # RSS: growth after the warm-up per 1000 events after it (bytes), against the
            # per-event tolerance.
            rw = maxof(rss, 1, w); ra = maxof(rss, w+1, n); after = ev[n] - ev[w]
            grown = ra > rw ? ra - rw : 0
            per = after > 0 ? grown * 1024 * 1000 / after : 0
            tol = rtb * after / 1000 / 1024
            printf "%s: %d samples, %d warm-up; RSS %d -> %d KB (warm-up max %d, after %d: +%d KB over %d events = %.0f bytes per 1000 events; tolerance %d bytes per 1000 events = %.0f KB)\n",
                name, n, w, rss[1], rss[n], rw, ra, grown, after, per, rtb, tol
            if (gc && after <= 0) printf "%s %s: no events after the warm-up to judge RSS by\n", tag, name
            if (gc && after > 0 && grown * 1024 * 1000 > rtb * after) printf "%s %s: RSS grew %d KB over %d events after warm-up = %.0f bytes per 1000 events (tolerance %d)\n", tag, name, grown, after, per, rtb
            # fds, threads, mappings: idle after the traffic as before it; during it, fds
            # at most the in-flight runs hold (per_run each) above the idle count.
            split(start, s0, " "); split(idle, s1, " ")
            printf "%s: idle before -> after: fds %d -> %d, threads %d -> %d, mappings %d -> %d, zombies %d\n",
                name, s0[2], s1[2], s0[3], s1[3], s0[4], s1[4], s1[5]
            if (maxof(fd, 1, n) > s0[2] + per_run + ft) printf "%s %s: %d fds during the traffic (idle %d + in-flight bound %d + %d)\n", tag, name, maxof(fd, 1, n), s0[2], per_run, ft
            if (maxof(th, w+1, n) > maxof(th, 1, w) + tt) printf "%s %s: threads grew %d -> %d (tolerance +%d)\n", tag, name, maxof(th, 1, w), maxof(th, w+1, n), tt
            if (s1[3] > s0[3] + tt) printf "%s %s: idle threads grew %d -> %d (tolerance +%d)\n", tag, name, s0[3], s1[3], tt
            if (maxof(mp, w+1, n) > maxof(mp, 1, w) + mpt) printf "%s %s: mappings grew %d -> %d (tolerance +%d)\n", tag, name, maxof(mp, 1, w), maxof(mp, w+1, n), mpt
            if (s1[4] > s0[4] + mpt) printf "%s %s: idle mappings grew %d -> %d (tolerance +%d)\n", tag, name, s0[4], s1[4], mpt
            if (maxof(zb, 1, n) > zm) printf "%s %s: %d zombies at one sample (at most %d)\n", tag, name, maxof(zb, 1, n), zm
            third = int((n - w) / 3); if (third < 1) third = 1
            first = med(rate, w+1, w+third); last = med(rate, n-third+1, n)
            printf "%s: rate (median) first third %.0f/s, last third %.0f/s\n", name, first, last
            if (gc && rc && last < first * (100 - rtol) / 100) printf "%s %s: rate fell %.0f -> %.0f/s (tolerance %d%%)\n", tag, name, first, last, rtol
        }' "$file")
    echo "$verdict" | grep -v '^FAIL' >&2 || true
    while IFS= read -r line; do
        [ -n "$line" ] && fail "${line#FAIL }"
    done < <(echo "$verdict" | grep '^FAIL' || true)
    ! is_baseline "$v" || return 0
    # Our counters at unload: every event started a script (or, for a worker, was
    # acked), was merged into a newer event of its lease (overflow "merge", the default),
    # or was counted as dropped, exactly; none failed to start; nothing still in flight or
    # queued. merged, blocked and dropped are reported on a line of their own.
    local c ev st dr ff fl qu ak rs pe mg bl
    c=$(grep -o 'unload: counters [^@]*' "$TB_RUNSCRIPT_LOG" | tail -n 1 || true)
    [ -n "$c" ] || { fail "v$fam $v: no counters logged at unload (see $TB_RUNSCRIPT_LOG)"; return 0; }
    echo "v$fam $v: ${c#unload: }" >&2
    field() { echo "$c" | grep -o " $1=[0-9]*" | cut -d= -f2; }
    ev=$(field events) st=$(field started) dr=$(field dropped) ff=$(field failed-to-start)
    fl=$(field in-flight) qu=$(field queued) mg=$(field merged) bl=$(field blocked)
    for x in ev st dr ff fl qu mg bl; do
        [ -n "${!x}" ] || { fail "v$fam $v: a counter missing from '$c'"; return 0; }
    done
    echo "v$fam $v: merged=$mg blocked=$bl dropped=$dr of $ev events (dropped $(awk -v d="$dr" -v e="$ev" 'BEGIN {printf "%.3f", e ? 100 * d / e : 0}') %)" >&2
    [ "$ev" -gt 0 ] || fail "v$fam $v: no events counted at unload"
    case $v in
        worker-*)
            # A worker answers events (acked); "started" counts its processes.
            ak=$(field acked) rs=$(field worker-restarts) pe=$(field protocol-errors)
            [ "$((ak + mg + dr))" -eq "$ev" ] || fail "v$fam $v: events=$ev but acked+merged+dropped=$((ak + mg + dr))"
            [ "$rs" -eq 0 ] && [ "$pe" -eq 0 ] || fail "v$fam $v: worker-restarts=$rs protocol-errors=$pe" ;;
        *)
            [ "$((st + mg + dr))" -eq "$ev" ] || fail "v$fam $v: events=$ev but started+merged+dropped=$((st + mg + dr)) (failed-to-start=$ff)" ;;
    esac
    [ "$fl" -eq 0 ] && [ "$qu" -eq 0 ] || fail "v$fam $v: in-flight=$fl queued=$qu at unload"
    [ "$ff" -eq 0 ] || fail "v$fam $v: $ff scripts failed to start"
}

tb_log "kea $(/usr/sbin/kea-dhcp4 -v), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
tb_log "ours: $ours_lib; checkout $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
tb_log "variants: ${variants[*]}; families: $families; lifetime ${lifetime}s; perfdhcp -r $rate -R $clients"
for fam in $families; do
    case $fam in 4 | 6) ;; *) tb_die "unknown family '$fam' (4, 6)" ;; esac
    for v in "${variants[@]}"; do
        run "$fam" "$v"
    done
done
tb_log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "summary (per variant: samples after warm-up; RSS KB, fds, threads, mappings at the first and last sample; rate/s median)"
for fam in $families; do
    for v in "${variants[@]}"; do
        awk -v name="v$fam $v" 'NR == 1 {f = $0} {l = $0; n = NR; r[NR] = $3}
            END {split(f, a, " "); split(l, b, " ")
                 printf "  %-16s %8d events %4d samples  RSS %7d -> %7d  fds %3d -> %3d  threads %2d -> %2d  maps %4d -> %4d  rate %5.0f -> %5.0f\n",
                     name, b[2], n, a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7], a[3], b[3]}' "$TB_DIR/samples-$fam-$v"
    done
done
if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "soak: ${#failures[@]} failures:"
    printf '  %s\n' "${failures[@]}"
    exit 1
fi
echo "soak: all variants within tolerance"
