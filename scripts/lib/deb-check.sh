#!/usr/bin/env bash
# Runs inside a clean chroot where the kea-runscript package was just installed with
# apt-get (scripts/package.sh --check): starts kea-dhcp4 as an operator would, with a
# configuration naming the installed library and the installed debug.sh example, drives
# DHCP traffic at it and shows the events the example recorded.
#
#   deb-check.sh TESTBED_SH
set -euo pipefail
# shellcheck source=testbed.sh
. "$1"
tb_init
tb_netns_up

lib=/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so
script=/usr/share/kea-runscript/examples/debug.sh
[ -f "$lib" ] && [ -x "$script" ] || tb_die "the package did not install $lib and $script"
if tb_kea_3; then
    # Kea 3.0 runs hook scripts only from /usr/share/kea/scripts (README, "Kea 3.0"): the
    # operator links the example there, and the configuration names the link.
    mkdir -p /usr/share/kea/scripts
    ln -sfn "$script" /usr/share/kea/scripts/kea-runscript-debug.sh
    script=/usr/share/kea/scripts/kea-runscript-debug.sh
fi
log=$TB_DIR/debug.log
hooks="[{\"library\": \"$lib\", \"parameters\": {\"name\": \"$script\", \"sync\": false,
          \"env\": {\"KEA_RUNSCRIPT_DEBUG_LOG\": \"$log\"}}}]"
tb_kea4_config "$TB_DIR/k4.json" "$hooks"
TB_KEA_X=0 tb_kea_start 4 "$TB_DIR/k4.json"
tb_log "Kea $(/usr/sbin/kea-dhcp4 -v) serves with $lib and $script"
tb_cli perfdhcp -4 -l "$TB_VCLI" -r 4 -R 4 -n 8 -W 500000 >/dev/null 2>&1 || true
for _ in $(seq 50); do
    grep -q '^=== .* leases4_committed' "$log" 2>/dev/null && break
    sleep 0.2
done
events=$(grep -c '^=== ' "$log" 2>/dev/null || true)
[ "${events:-0}" -gt 0 ] || tb_die "no event reached $script (Kea log: $TB_KEA_LOG)"
grep '^=== ' "$log" | awk '{print $3}' | sort | uniq -c | sed 's/^/    /'
grep -m1 -A4 'leases4_committed' "$log" | sed 's/^/    /'
echo "deb-check: ${events} events reached the installed example"
