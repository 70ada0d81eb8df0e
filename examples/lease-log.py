#!/usr/bin/python3
# lease-log.py — a worker (protocol v1) that appends one JSON line per lease event to a
# file and acknowledges each event after its line is written. Python standard library only.
#
# Mode: worker, async ("mode": "worker"; the hook starts it once as `lease-log.py worker`
#   and feeds it one JSON event per line on stdin; it answers {"seq": N} on stdout).
# Hook points: the lease hook points (Kea's default set: leases4_committed, lease4_expire,
#   lease4_release, lease6_*, …); any other hook point is logged the same way.
# Line written: {"id": "<instance>:<seq>", "time": <unix seconds>, "hook_point": "...",
#   "vars": {...}} — "vars" are exactly the variables a spawned script would get.
#   "id" names the event uniquely across Kea restarts and reloads.
# Settings (the "env" key): LEASE_LOG (default /var/log/kea/lease-events.jsonl).
# Config:
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/lease-log.py",
#                   "mode": "worker", "log-output": true,
#                   "env": {"LEASE_LOG": "/var/log/kea/lease-events.jsonl"}}}
#
# Safe under replay: the hook sends an unacknowledged event again (with "replay": true)
# to the next worker after a crash. The lines of the events read at once are written with
# one write(2) before their acks, so the only events that can be replayed after their line
# was written are the last ones in the file: at start the worker reads the ids at the end of the file, and a replayed
# event whose id is there is acknowledged without writing it again. A line cut short by
# a crash in the middle of a write (e.g. a full disk) is removed at start.

import json
import os
import sys
import time

# Bytes read back from the end of the file at start: far more than the lines of the
# events the hook can hold unacknowledged (max-queued, 10,000 by default).
TAIL_BYTES = 64 * 1024 * 1024


def open_log(path):
    """Opens the log for appending, drops a cut last line, returns (fd, ids at its end)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    size = os.fstat(fd).st_size
    start = max(0, size - TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    if tail and not tail.endswith(b"\n"):
        keep = tail.rfind(b"\n") + 1
        os.ftruncate(fd, start + keep)
        tail = tail[:keep]
    lines = tail.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first one may be cut by the window
    ids = set()
    for line in lines:
        if line:
            try:
                ids.add(json.loads(line)["id"])
            except (ValueError, KeyError, TypeError):
                pass
    return fd, ids


def main():
    if sys.argv[1:] != ["worker"] or os.environ.get("KEA_RUNSCRIPT_PROTOCOL") != "1":
        sys.exit("lease-log.py is a worker: configure it with \"mode\": \"worker\"")
    path = os.environ.get("LEASE_LOG", "/var/log/kea/lease-events.jsonl")
    fd, written = open_log(path)
    rest = b""
    while True:
        # Whatever the pipe holds: the hook writes events in batches under load, and
        # each batch is written to the file with one write(2), then acknowledged at once.
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        *complete, rest = (rest + chunk).split(b"\n")
        lines, acks = [], []
        for raw in complete:
            if not raw.strip():
                continue
            event = json.loads(raw)
            event_id = "%s:%d" % (event["instance"], event["seq"])
            if not (event["replay"] and event_id in written):
                lines.append(json.dumps({"id": event_id, "time": round(time.time(), 3),
                                         "hook_point": event["hook_point"],
                                         "vars": event["vars"]},
                                        separators=(",", ":")) + "\n")
            acks.append('{"seq":%d}\n' % event["seq"])
        if lines:
            os.write(fd, "".join(lines).encode())
        if acks:
            sys.stdout.write("".join(acks))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
