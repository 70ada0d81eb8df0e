#!/bin/sh
# debug.sh — records every call: the hook point and all its variables, sorted.
#
# Hook points: any (it prints whatever it is called with; argv[1] = hook point).
# Variables:   all of them; KEA_RUNSCRIPT_DEBUG_LOG (optional) names the log
#              file, default /tmp/kea-runscript-debug.log.
# Config (kea-dhcp4 or kea-dhcp6 "hooks-libraries" entry):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/debug.sh", "sync": false,
#                   "env": {"KEA_RUNSCRIPT_DEBUG_LOG": "/var/log/kea/runscript-debug.log"}}}
# The same script works with Kea's libdhcp_run_script.so (which cannot pass
# "env"; it then logs to the default file).
#
# Kea's hook hands the script no PATH, so this script names every program by
# its absolute path. Calls may run in parallel (async mode): each record is
# appended under an flock so records never interleave.

log=${KEA_RUNSCRIPT_DEBUG_LOG:-/tmp/kea-runscript-debug.log}
hook_point=${1:-unknown}

# Values come from DHCP clients (host names, option payloads) and may hold any byte.
# Each variable is printed as one line with its control characters escaped (\n, \r,
# \t, \e, \xHH; a backslash as \\), so no value can end a record or forge another
# one: a record is its "===" header and one indented NAME=value line per variable.
# Other bytes (UTF-8 or not) are written as they are.
escape='s/\\/\\\\/g; s/\x0a/\\n/g; s/\x0d/\\r/g; s/\x09/\\t/g; s/\x1b/\\e/g'
for hex in 01 02 03 04 05 06 07 08 0b 0c 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1c 1d 1e 1f 7f; do
    escape="$escape; s/\\x$hex/\\\\x$hex/g"
done

# The environment as received (NUL-separated, so values may hold newlines), minus
# what the shell itself adds (PWD) and the log path that we were given.
vars=$(/usr/bin/env -0 | LC_ALL=C /usr/bin/grep -z -v -e '^PWD=' -e '^KEA_RUNSCRIPT_DEBUG_LOG=' |
    LC_ALL=C /usr/bin/sort -z | LC_ALL=C /usr/bin/sed -z "$escape" | /usr/bin/tr '\0' '\n')
hook_point=$(printf '%s' "$hook_point" | LC_ALL=C /usr/bin/sed -z "$escape")
stamp=$(/usr/bin/date -u +%Y-%m-%dT%H:%M:%S.%3NZ)

{
    /usr/bin/flock 9
    printf '=== %s %s (pid %s)\n' "$stamp" "$hook_point" "$$" >&9
    [ -z "$vars" ] || printf '%s\n' "$vars" | /usr/bin/sed 's/^/    /' >&9
} 9>>"$log"
exit 0
