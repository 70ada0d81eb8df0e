# shellcheck shell=sh
# lease-events.sh — sourced by routes.sh and nft-set.sh: turns a hook point and
# its variables into "a lease appeared" / "a lease went away" calls.
#
# The sourcing script defines:
#   lease_add4 ADDRESS VALID_LIFETIME          lease_del4 ADDRESS
#   lease_add6 ADDRESS PREFIX_LEN TYPE VALID   lease_del6 ADDRESS PREFIX_LEN TYPE
# and calls:  lease_dispatch "$1"
# It may set LOG (file for DRY_RUN output and errors, default stderr) and TAG (the
# script's name in messages), and define run_ignorable ERROR_TEXT, true for errors
# not worth logging (e.g. removing what is already gone).
#
# Async scripts run in parallel, so two events for one address may be applied
# out of order; "sync": true (ours waits for the script) keeps them in order.
#
# Hook point -> calls (the table the examples share):
#   leases4_committed                         del4 each DELETED_LEASES4_AT<i>, add4 each LEASES4_AT<i>
#   lease4_renew, lease4_recover              add4 LEASE4
#   lease4_replay (ours, "replay-leases": true)   add4 LEASE4: rebuilds after a restart
#   lease4_release, lease4_decline, lease4_expire   del4 LEASE4
#   leases6_committed                         del6 each DELETED_LEASES6_AT<i>, add6 each LEASES6_AT<i>
#   lease6_renew, lease6_rebind, lease6_recover   add6 LEASE6
#   lease6_replay (ours, "replay-leases": true)   add6 LEASE6
#   lease6_release, lease6_decline, lease6_expire   del6 LEASE6
# At expiry REMOVE_LEASE only says whether Kea deletes the lease or keeps it as
# "expired-reclaimed"; the client has lost it either way.
#   anything else                             nothing

run_ignorable() { return 1; }

# Kea's own run-script hook passes no PATH.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# log TEXT...: one line in LOG. Control characters (a newline in a value that came
# from a client or from a command's output) become '?', so a line cannot be split
# or another one forged.
log() {
    printf '%s' "$*" | LC_ALL=C tr '\001-\037\177' '?' >>"${LOG:-/dev/stderr}"
    echo >>"${LOG:-/dev/stderr}"
}

# run CMD...: runs CMD, or with DRY_RUN=1 prints it; failures are logged.
run() {
    if [ "${DRY_RUN:-0}" = 1 ]; then
        log "$*"
    elif ! run_out=$("$@" 2>&1) && ! run_ignorable "$run_out"; then
        log "${TAG:-script} ${hook_point:-}: $* failed: $run_out"
    fi
    return 0
}

# each_lease4 PREFIX ACTION / each_lease6 PREFIX ACTION: call ACTION for
# <PREFIX>_AT0 … <PREFIX>_AT<SIZE-1>. PREFIX is a literal of ours and the index
# a number we count, so eval only ever expands a variable name.
each_lease4() {
    size=0 addr='' valid=''
    eval "size=\${$1_SIZE:-0}"
    i=0
    while [ "$i" -lt "$size" ]; do
        eval "addr=\${$1_AT${i}_ADDRESS:-} valid=\${$1_AT${i}_VALID_LIFETIME:-}"
        [ -z "$addr" ] || "$2" "$addr" "$valid"
        i=$((i + 1))
    done
}

each_lease6() {
    size=0 addr='' plen='' type='' valid=''
    eval "size=\${$1_SIZE:-0}"
    i=0
    while [ "$i" -lt "$size" ]; do
        eval "addr=\${$1_AT${i}_ADDRESS:-} plen=\${$1_AT${i}_PREFIX_LEN:-128} type=\${$1_AT${i}_TYPE:-} valid=\${$1_AT${i}_VALID_LIFETIME:-}"
        [ -z "$addr" ] || "$2" "$addr" "$plen" "$type" "$valid"
        i=$((i + 1))
    done
}

lease_dispatch() {
    hook_point=${1:-}
    case $hook_point in
        leases4_committed)
            each_lease4 DELETED_LEASES4 lease_del4
            each_lease4 LEASES4 lease_add4 ;;
        lease4_renew|lease4_recover|lease4_replay)
            [ -z "${LEASE4_ADDRESS:-}" ] || lease_add4 "$LEASE4_ADDRESS" "${LEASE4_VALID_LIFETIME:-}" ;;
        lease4_release|lease4_decline|lease4_expire)
            [ -z "${LEASE4_ADDRESS:-}" ] || lease_del4 "$LEASE4_ADDRESS" ;;
        leases6_committed)
            each_lease6 DELETED_LEASES6 lease_del6
            each_lease6 LEASES6 lease_add6 ;;
        lease6_renew|lease6_rebind|lease6_recover|lease6_replay)
            [ -z "${LEASE6_ADDRESS:-}" ] ||
                lease_add6 "$LEASE6_ADDRESS" "${LEASE6_PREFIX_LEN:-128}" "${LEASE6_TYPE:-}" "${LEASE6_VALID_LIFETIME:-}" ;;
        lease6_release|lease6_decline|lease6_expire)
            [ -z "${LEASE6_ADDRESS:-}" ] ||
                lease_del6 "$LEASE6_ADDRESS" "${LEASE6_PREFIX_LEN:-128}" "${LEASE6_TYPE:-}" ;;
        *) ;;
    esac
    return 0
}
