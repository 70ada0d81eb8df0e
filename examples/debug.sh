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

# The environment as received, minus what the shell itself adds (PWD) and the
# log path that we were given.
vars=$(/usr/bin/env | /usr/bin/grep -v -e '^PWD=' -e '^KEA_RUNSCRIPT_DEBUG_LOG=' | LC_ALL=C /usr/bin/sort)
stamp=$(/usr/bin/date -u +%Y-%m-%dT%H:%M:%S.%3NZ)

{
    /usr/bin/flock 9
    printf '=== %s %s (pid %s)\n' "$stamp" "$hook_point" "$$" >&9
    printf '%s\n' "$vars" | /usr/bin/sed 's/^/    /' >&9
} 9>>"$log"
exit 0
