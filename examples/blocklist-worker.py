#!/usr/bin/python3
# blocklist-worker.py — refuses DHCP service to listed clients, as a sync worker: the
# list stays in memory (reloaded when the file changes), so a verdict costs a dictionary
# lookup instead of a process. The worker twin of blocklist.sh. Standard library only.
#
# Mode: worker, sync ("mode": "worker", "sync": true): for each event the hook waits for
#   {"seq": N, "verdict": "drop"} or {"seq": N, "verdict": "continue"} (up to timeout-ms,
#   then on-timeout applies).
# Hook points: pkt4_receive and pkt6_receive (opt-in, hence "hook-points"); Kea honours
#   drop there, so a listed client gets no answer and no lease.
# Variables used: QUERY4_HWADDR (v4), QUERY6_CLIENT_ID and QUERY6_REMOTE_HWADDR (v6).
# Settings (the "env" key): BLOCKLIST_FILE (default /etc/kea/blocklist): one entry a line,
#   a MAC address as Kea prints it (aa:bb:cc:dd:ee:ff, case does not matter) or a DUID
#   (colon-separated hex); blank lines and lines starting with # are ignored. The file is
#   checked for changes (size, time, inode) at most once a second.
# Config:
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/blocklist-worker.py",
#                   "mode": "worker", "sync": true, "log-output": true,
#                   "hook-points": ["pkt4_receive", "pkt6_receive"],
#                   "timeout-ms": 500, "on-timeout": "continue",
#                   "env": {"BLOCKLIST_FILE": "/etc/kea/blocklist"}}}
# It fails open: a missing or unreadable list lets every client through (said on
# stderr, which "log-output" puts into Kea's log).

import json
import os
import sys
import time

IDS = {
    "pkt4_receive": ("QUERY4_HWADDR",),
    "subnet4_select": ("QUERY4_HWADDR",),
    "lease4_select": ("QUERY4_HWADDR",),
    "pkt6_receive": ("QUERY6_CLIENT_ID", "QUERY6_REMOTE_HWADDR"),
    "subnet6_select": ("QUERY6_CLIENT_ID", "QUERY6_REMOTE_HWADDR"),
    "lease6_select": ("QUERY6_CLIENT_ID", "QUERY6_REMOTE_HWADDR"),
}


class BlockList:
    """The listed ids, reloaded when the file changes (checked at most once a second)."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.checked = 0.0
        self.ids = frozenset()

    def current(self):
        now = time.monotonic()
        if now - self.checked >= 1.0:
            self.checked = now
            self.reload()
        return self.ids

    def reload(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if stamp == self.stamp:
                return
            with open(self.path) as f:
                ids = frozenset(line.split()[0].lower() for line in f
                                if line.strip() and not line.lstrip().startswith("#"))
        except OSError as e:
            if self.stamp != "missing":
                print("blocklist-worker: cannot read %s (%s); letting every client through"
                      % (self.path, e.strerror), file=sys.stderr, flush=True)
            self.stamp, self.ids = "missing", frozenset()
            return
        self.stamp, self.ids = stamp, ids
        print("blocklist-worker: %d entries loaded from %s" % (len(ids), self.path),
              file=sys.stderr, flush=True)


def main():
    if sys.argv[1:] != ["worker"] or os.environ.get("KEA_RUNSCRIPT_PROTOCOL") != "1":
        sys.exit("blocklist-worker.py is a worker: configure it with \"mode\": \"worker\"")
    blocklist = BlockList(os.environ.get("BLOCKLIST_FILE", "/etc/kea/blocklist"))
    out = sys.stdout
    for raw in sys.stdin:
        event = json.loads(raw)
        variables = event["vars"]
        listed = blocklist.current()
        blocked = any(variables.get(name, "").lower() in listed
                      for name in IDS.get(event["hook_point"], ())
                      if variables.get(name))
        out.write('{"seq":%d,"verdict":"%s"}\n' % (event["seq"], "drop" if blocked else "continue"))
        out.flush()


if __name__ == "__main__":
    main()
