# shellcheck shell=bash
# Shared helpers for running the real Kea in network namespaces (sourced, not executed).
#
# Used by scripts/demo.sh and scripts/bench-kea.sh. Every name carries the
# caller's PID, so parallel and crashed runs never collide; tb_cleanup (installed
# as an EXIT trap by tb_init) stops every Kea started here, deletes the
# namespaces and removes the temporary directory.
#
#   tb_init                      temp dir + trap; sets TB_DIR, TB_SRV, TB_CLI, TB_VSRV, TB_VCLI
#   tb_netns_up                  two namespaces joined by a veth, IPv4 + IPv6 (no DAD)
#   tb_kea4_config FILE HOOKS    write a kea-dhcp4 config; HOOKS = JSON array of hooks-libraries
#   tb_kea6_config FILE HOOKS    same for kea-dhcp6 (addresses + delegated prefixes)
#   tb_kea_start 4|6 FILE        start Kea in the server namespace, wait until it listens
#   tb_kea_stop                  stop the Kea started last (bounded wait, then SIGKILL)
#   tb_cli CMD...                run a command in the client namespace
#   tb_noop_script / tb_noop_hook  the benchmarks' no-op script / no-op C++ hook library
#   tb_netns_add NAME            one more namespace (DAD off, lo up), deleted by tb_cleanup
#   tb_ctl SOCKET CMD [ARGS]     send a command to a Kea unix control socket, print the answer
#
# Tunables (environment): TB_KEA_SEVERITY (Kea log severity, default INFO),
# TB_RUNSCRIPT_SEVERITY (our library's logger, own file; default: as Kea's),
# TB_VALID_LIFETIME (seconds, default 3600), TB_RECLAIM_EXTRA (more members of
# "expired-leases-processing", JSON), TB_KEEP=1 (keep the temp dir),
# TB_LEASE_DB (the "lease-database" JSON; default in-memory memfile),
# TB_KEA_START_WAIT (seconds tb_kea_start waits for Kea to listen, default 10;
# Kea loads its lease file before it opens its sockets), TB_KEA_PREFIX (array: a command
# Kea runs under, such as valgrind).

TB_PREFIX_V4=192.0.2
TB_PREFIX_V6=2001:db8:1
TB_KEA_PID=""
TB_KEA_LOG=""
TB_KEA_PIDS=()
# Further namespaces (tb_netns_add), deleted by tb_cleanup.
TB_NETNS_EXTRA=()
# A command Kea runs under (e.g. valgrind and its options), empty for none.
TB_KEA_PREFIX=()

tb_die() {
    echo "error: $*" >&2
    exit 1
}

tb_log() {
    echo "==> $*" >&2
}

tb_require_root() {
    [ "$(id -u)" -eq 0 ] || tb_die "run as root (network namespaces and raw DHCP sockets need it)"
}

# Removes what runs killed before their trap could run left behind: namespaces
# and temp dirs whose owner PID (part of the name) no longer exists.
tb_remove_stale() {
    local ns pid dir
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^krs-(srv|cli|sw|s1|s2|cl)-[0-9]+$'); do
        pid=${ns##*-}
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
    done
    for dir in /tmp/kea-runscript-tb.*.*; do
        [ -d "$dir" ] || continue
        pid=${dir#/tmp/kea-runscript-tb.}
        pid=${pid%%.*}
        kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
    done
}

# Creates the temp dir and installs the cleanup trap. Names end in the PID.
tb_init() {
    tb_require_root
    tb_remove_stale
    TB_ID=$$
    TB_DIR=$(mktemp -d "/tmp/kea-runscript-tb.${TB_ID}.XXXXXX")
    chmod 755 "$TB_DIR"
    TB_SRV="krs-srv-${TB_ID}"
    TB_CLI="krs-cli-${TB_ID}"
    # Interface names are limited to 15 characters.
    TB_VSRV="krs${TB_ID}s"
    TB_VCLI="krs${TB_ID}c"
    mkdir -p "$TB_DIR/run"
    trap tb_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

tb_cleanup() {
    local rc=$?
    set +e
    local pid ns
    for pid in "${TB_KEA_PIDS[@]}"; do
        tb_kill_wait "$pid"
    done
    ip netns del "$TB_CLI" 2>/dev/null
    ip netns del "$TB_SRV" 2>/dev/null
    for ns in "${TB_NETNS_EXTRA[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ -n "${TB_DIR:-}" ] && [ -d "$TB_DIR" ]; then
        if [ "${TB_KEEP:-0}" = 1 ]; then
            echo "kept $TB_DIR" >&2
        else
            rm -rf "$TB_DIR"
        fi
    fi
    return "$rc"
}

# Sends SIGTERM, waits up to 5 s, then SIGKILL.
tb_kill_wait() {
    local pid=$1 _
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "warning: pid $pid ignored SIGTERM for 5 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

tb_cli() {
    ip netns exec "$TB_CLI" "$@"
}

tb_srv() {
    ip netns exec "$TB_SRV" "$@"
}

# Writes a script that exits 0 at once (the no-op script of the benchmarks) into $TB_DIR
# and prints its path.
tb_noop_script() {
    local script="$TB_DIR/noop.sh"
    printf '#!/bin/sh\nexit 0\n' >"$script"
    chmod 755 "$script"
    echo "$script"
}

# Builds bench/noop_hook.cc (a C++ hook whose callouts do nothing: Kea's own cost of
# having callouts) into $TB_DIR/lib$1.so with the further g++ flags given, and prints its
# path. Needs g++ and Kea's headers (kea-dev).
tb_noop_hook() {
    local name=$1 lib="$TB_DIR/lib$1.so"
    shift
    g++ -shared -fPIC -O2 "$@" -I/usr/include/kea "$(dirname "${BASH_SOURCE[0]}")/../../bench/noop_hook.cc" \
        -o "$lib" >&2 || tb_die "building bench/noop_hook.cc ($name) failed"
    echo "$lib"
}

# tb_netns_add NAME: one more namespace, IPv6 DAD off and lo up; tb_cleanup deletes it.
# Name it krs-(sw|s1|s2|cl)-$TB_ID: tb_remove_stale removes those after a crashed run.
tb_netns_add() {
    ip netns add "$1" || tb_die "cannot create network namespace $1"
    TB_NETNS_EXTRA+=("$1")
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        || tb_die "cannot turn off IPv6 DAD in $1"
    ip -n "$1" link set lo up
}

# tb_ctl SOCKET COMMAND [ARGUMENTS_JSON]: sends one command to a Kea unix control socket
# ("control-socket" of kea-dhcp4/6) and prints the answer (one JSON object); fails when
# the socket does not answer within 10 s.
tb_ctl() {
    /usr/bin/python3 - "$@" <<'PY'
import json, socket, sys
cmd = {"command": sys.argv[2]}
if len(sys.argv) > 3:
    cmd["arguments"] = json.loads(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(json.dumps(cmd).encode())
buf = b""
while True:
    try:
        json.loads(buf)
        break
    except ValueError:
        pass
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode())
PY
}

# Two namespaces joined by a veth pair, IPv4 and IPv6. DAD is off in both
# namespaces before the veth exists (created directly inside them), so the
# link-local and global addresses are usable at once.
tb_netns_up() {
    ip netns add "$TB_SRV" || tb_die "cannot create network namespace $TB_SRV"
    ip netns add "$TB_CLI" || tb_die "cannot create network namespace $TB_CLI"
    local ns
    for ns in "$TB_SRV" "$TB_CLI"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            || tb_die "cannot turn off IPv6 DAD in $ns"
        ip -n "$ns" link set lo up
    done
    ip link add "$TB_VSRV" netns "$TB_SRV" type veth peer name "$TB_VCLI" netns "$TB_CLI" \
        || tb_die "cannot create veth pair $TB_VSRV/$TB_VCLI"
    ip -n "$TB_SRV" addr add "$TB_PREFIX_V4.1/24" dev "$TB_VSRV"
    ip -n "$TB_CLI" addr add "$TB_PREFIX_V4.2/24" dev "$TB_VCLI"
    ip -n "$TB_SRV" addr add "$TB_PREFIX_V6::1/64" dev "$TB_VSRV" nodad
    ip -n "$TB_CLI" addr add "$TB_PREFIX_V6::2/64" dev "$TB_VCLI" nodad
    ip -n "$TB_SRV" link set "$TB_VSRV" up
    ip -n "$TB_CLI" link set "$TB_VCLI" up
    # Bounded wait for both ends to be running (carrier) and for the link-local
    # addresses (Kea v6 and perfdhcp -6 bind to them).
    local _
    for _ in $(seq 50); do
        if ip -n "$TB_SRV" -o link show dev "$TB_VSRV" | grep -q 'state UP' &&
           ip -n "$TB_CLI" -o link show dev "$TB_VCLI" | grep -q 'state UP' &&
           ip -n "$TB_SRV" -6 addr show dev "$TB_VSRV" scope link | grep -q 'inet6' &&
           ip -n "$TB_CLI" -6 addr show dev "$TB_VCLI" scope link | grep -q 'inet6' &&
           ! ip -n "$TB_CLI" -6 addr show dev "$TB_VCLI" | grep -q tentative; then
            return 0
        fi
        sleep 0.1
    done
    tb_die "veth $TB_VSRV/$TB_VCLI not up with IPv6 link-local addresses within 5 s"
}

# Common "loggers" entry: everything of this Kea (and its hook libraries' child
# loggers, e.g. kea-dhcp4.kea-runscript) into one file.
# With TB_RUNSCRIPT_SEVERITY set, our library's logger (<name>.kea-runscript)
# gets that severity and its own file, <log without .log>-runscript.log.
tb_loggers_json() {
    local name=$1 log=$2 extra=""
    if [ -n "${TB_RUNSCRIPT_SEVERITY:-}" ]; then
        extra=",
              {\"name\": \"$name.kea-runscript\", \"severity\": \"$TB_RUNSCRIPT_SEVERITY\", \"debuglevel\": 0,
               \"output_options\": [{\"output\": \"${log%.log}-runscript.log\", \"flush\": true}]}"
    fi
    cat <<JSON
  "loggers": [{"name": "$name", "severity": "${TB_KEA_SEVERITY:-INFO}", "debuglevel": 0,
               "output_options": [{"output": "$log", "flush": true}]}$extra]
JSON
}

# The settings both Kea configs share: in-memory leases, expiry processed every
# second, the caller's extra global JSON, the hook libraries and the loggers.
# tb_kea_common_json SERVER(kea-dhcp4|kea-dhcp6) LOGFILE HOOKS [EXTRA]
tb_kea_common_json() {
    local name=$1 log=$2 hooks=$3 extra=${4:-} db=${TB_LEASE_DB:-}
    [ -n "$db" ] || db='{"type": "memfile", "persist": false}'
    cat <<JSON
  "lease-database": $db,
  "expired-leases-processing": {"reclaim-timer-wait-time": 1, "hold-reclaimed-time": 1,
                                "flush-reclaimed-timer-wait-time": 1${TB_RECLAIM_EXTRA:+, $TB_RECLAIM_EXTRA}},
  ${extra:+$extra,}
  "hooks-libraries": $hooks,
$(tb_loggers_json "$name" "$log")
JSON
}

# tb_kea4_config FILE HOOKS_JSON_ARRAY [EXTRA_GLOBAL_JSON]
# Subnet 1 is the veth's own; subnet 2 takes perfdhcp's traffic, which always
# arrives relayed from the client's address (perfdhcp -4 sets giaddr).
tb_kea4_config() {
    local file=$1 lt=${TB_VALID_LIFETIME:-3600}
    cat >"$file" <<JSON
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["$TB_VSRV"], "dhcp-socket-type": "raw"},
  "valid-lifetime": $lt, "renew-timer": $((lt / 2)), "rebind-timer": $((lt * 7 / 8)),
  "subnet4": [
    {"id": 1, "subnet": "$TB_PREFIX_V4.0/24", "pools": [{"pool": "$TB_PREFIX_V4.10-$TB_PREFIX_V4.250"}]},
    {"id": 2, "subnet": "10.0.0.0/8", "relay": {"ip-addresses": ["$TB_PREFIX_V4.2"]},
     "pools": [{"pool": "10.0.0.10-10.255.255.200"}]}
  ],
$(tb_kea_common_json kea-dhcp4 "$TB_DIR/kea4.log" "$2" "${3:-}")
}}
JSON
}

# tb_kea6_config FILE HOOKS_JSON_ARRAY [EXTRA_GLOBAL_JSON]
# One subnet on the veth, with addresses and delegated /56 prefixes.
tb_kea6_config() {
    local file=$1 lt=${TB_VALID_LIFETIME:-3600}
    cat >"$file" <<JSON
{"Dhcp6": {
  "interfaces-config": {"interfaces": ["$TB_VSRV"]},
  "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "0123456789ab", "persist": false},
  "valid-lifetime": $lt, "preferred-lifetime": $((lt * 3 / 4)),
  "renew-timer": $((lt / 2)), "rebind-timer": $((lt * 5 / 8)),
  "subnet6": [
    {"id": 1, "subnet": "$TB_PREFIX_V6::/64", "interface": "$TB_VSRV",
     "pools": [{"pool": "$TB_PREFIX_V6::100-$TB_PREFIX_V6::ffff"}],
     "pd-pools": [{"prefix": "2001:db8:100::", "prefix-len": 40, "delegated-len": 56}]}
  ],
$(tb_kea_common_json kea-dhcp6 "$TB_DIR/kea6.log" "$2" "${3:-}")
}}
JSON
}

# Kea 2.6.3 and later load hook libraries only from one directory (KEA_HOOKS_PATH) and
# write log files only into one (KEA_LOG_FILE_DIR: $TB_DIR here), and Kea 3.0 runs hook
# scripts only from its scripts directory unless started with -X. The libraries here live
# apart (target/, Kea's own) and the scripts in the tree, so each library of FILE outside
# Kea's hooks directory is linked into $TB_DIR/hooks and FILE points there (then
# KEA_HOOKS_PATH names it), and Kea 3.0 gets -X unless TB_KEA_X=0 (the package check runs
# Kea as an operator would).
tb_kea_paths() {
    local file=$1 lib link
    TB_KEA_ENV=(KEA_LOG_FILE_DIR="$TB_DIR")
    for lib in $(grep -o '"library": *"[^"]*"' "$file" | sed 's/.*"\([^"]*\)"$/\1/'); do
        [ "$(dirname "$lib")" != /usr/lib/x86_64-linux-gnu/kea/hooks ] || continue
        mkdir -p "$TB_DIR/hooks"
        link="$TB_DIR/hooks/$(basename "$lib")"
        [ "$lib" = "$link" ] && continue
        ln -sfn "$lib" "$link"
        sed -i "s|\"$lib\"|\"$link\"|" "$file"
    done
    if [ -d "$TB_DIR/hooks" ]; then
        # Kea's own libraries of FILE are linked too, as KEA_HOOKS_PATH is the only place.
        for lib in $(grep -o '"library": *"/usr/lib/x86_64-linux-gnu/kea/hooks/[^"]*"' "$file" |
                     sed 's/.*"\([^"]*\)"$/\1/'); do
            link="$TB_DIR/hooks/$(basename "$lib")"
            ln -sfn "$lib" "$link"
            sed -i "s|\"$lib\"|\"$link\"|" "$file"
        done
        TB_KEA_ENV+=(KEA_HOOKS_PATH="$TB_DIR/hooks")
    fi
    TB_KEA_ARGS=()
    if [ "${TB_KEA_X:-1}" != 0 ] && tb_kea_3; then
        TB_KEA_ARGS=(-X)
    fi
}

# True when the installed Kea is 3.0 or later (hook scripts only from its scripts directory).
tb_kea_3() {
    case $(/usr/sbin/kea-dhcp4 -v 2>/dev/null) in
        1.* | 2.*) return 1 ;;
        *) return 0 ;;
    esac
}

# tb_kea_check 4|6 FILE: kea-dhcp -t (also loads the hook libraries).
tb_kea_check() {
    local v=$1 file=$2 out
    tb_kea_paths "$file"
    # In the server namespace: the config names the veth.
    if ! out=$(ip netns exec "$TB_SRV" env KEA_PIDFILE_DIR="$TB_DIR/run" KEA_LOCKFILE_DIR="$TB_DIR/run" \
               "${TB_KEA_ENV[@]}" "/usr/sbin/kea-dhcp$v" "${TB_KEA_ARGS[@]}" -t "$file" 2>&1); then
        echo "$out" | tail -n 20 >&2
        tb_die "kea-dhcp$v rejected $file (see above)"
    fi
}

# tb_kea_start 4|6 FILE: starts Kea in the server namespace and waits (10 s, or
# TB_KEA_START_WAIT, at most) until it listens on its DHCP port. Sets TB_KEA_PID, TB_KEA_LOG and
# TB_RUNSCRIPT_LOG (our library's log when TB_RUNSCRIPT_SEVERITY is set).
tb_kea_start() {
    local v=$1 file=$2 port
    [ "$v" = 4 ] && port=67 || port=547
    tb_kea_paths "$file"
    TB_KEA_LOG="$TB_DIR/kea$v.log"
    TB_RUNSCRIPT_LOG="$TB_DIR/kea$v-runscript.log"
    : >"$TB_KEA_LOG"
    : >"$TB_RUNSCRIPT_LOG"
    ip netns exec "$TB_SRV" env KEA_PIDFILE_DIR="$TB_DIR/run" KEA_LOCKFILE_DIR="$TB_DIR/run" \
        "${TB_KEA_ENV[@]}" "${TB_KEA_PREFIX[@]}" "/usr/sbin/kea-dhcp$v" "${TB_KEA_ARGS[@]}" -c "$file" \
        >>"$TB_DIR/kea$v.stdout" 2>&1 &
    TB_KEA_PID=$!
    TB_KEA_PIDS+=("$TB_KEA_PID")
    local _ wait=${TB_KEA_START_WAIT:-10}
    for _ in $(seq $((wait * 10))); do
        if ! kill -0 "$TB_KEA_PID" 2>/dev/null; then
            tail -n 20 "$TB_DIR/kea$v.stdout" "$TB_KEA_LOG" >&2
            tb_die "kea-dhcp$v exited during start-up (log above)"
        fi
        if ip netns exec "$TB_SRV" ss -Hlun "sport = :$port" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$TB_KEA_LOG" >&2
    tb_die "kea-dhcp$v did not listen on port $port within $wait s"
}

tb_kea_stop() {
    [ -n "$TB_KEA_PID" ] || return 0
    tb_kill_wait "$TB_KEA_PID"
    TB_KEA_PID=""
}
