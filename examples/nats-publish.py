#!/usr/bin/env python3
# nats-publish.py — a worker (protocol v1) that publishes every lease event to NATS
# JetStream and acknowledges an event only after JetStream has stored it. This is how
# the events of many Kea servers reach one place.
#
# Needs: a NATS server with JetStream (Debian: nats-server, started with -js) and the
#   nats-py client (PyPI: nats-py) — e.g. in a venv whose bin/ comes first in PATH (see
#   the config below; scripts/install-deps.sh makes one in target/venv for the tests).
# Mode: worker, async ("mode": "worker").
# Hook points: the lease hook points (Kea's default set) or any others.
# Message: subject "<NATS_SUBJECT>.<hook point>", body {"id", "server", "instance",
#   "seq", "hook_point", "vars"} as JSON, header Nats-Msg-Id "<server>:<instance>:<seq>".
#   `instance` is drawn at each library load and `seq` counts per load, so the id names
#   one event uniquely; when the hook sends an event again after a worker crash
#   ("replay": true), JetStream's duplicate window drops the second copy, and the stream
#   holds each event exactly once.
# HA pairs (the script configured with "ha": {}): an event's leases carry change ids
#   (LEASE4_CHANGE_ID, LEASES4_AT<i>_CHANGE_ID, …), equal on both servers for the same
#   lease change. Then each lease change is one message, Nats-Msg-Id "<change id>", body
#   also {"change_id", "lease": "<the lease's variable prefix, e.g. LEASES4_AT0>"}: the
#   primary's commit and the standby's partner event of it are one message, and so are a
#   release's lease4_release and its leases4_committed deletion. Both servers may publish
#   into one stream; within JetStream's duplicate window (2 min by default) it holds each
#   lease change once.
# Settings (the "env" key): NATS_URL (default nats://127.0.0.1:4222), NATS_STREAM
#   (default KEA_LEASES; created with subjects "<NATS_SUBJECT>.>" if missing),
#   NATS_SUBJECT (default kea.lease), KEA_SERVER (default the host name: which Kea this
#   is), NATS_IN_FLIGHT (default 256: publishes awaiting JetStream's answer at once).
# Config:
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/nats-publish.py",
#                   "mode": "worker", "log-output": true, "max-queued": 100000,
#                   "env": {"PATH": "/opt/kea-runscript/venv/bin:/usr/bin:/bin",
#                           "NATS_URL": "nats://nats.example.net:4222"}}}
# While NATS is unreachable nothing is acknowledged: events wait in the hook's buffer
# (max-queued, then dropped and counted there) and this worker retries every second.

import asyncio
import json
import os
import socket
import sys

import nats
from nats.js.api import StreamConfig


def log(text):
    print("nats-publish: " + text, file=sys.stderr, flush=True)


async def main():
    if sys.argv[1:] != ["worker"] or os.environ.get("KEA_RUNSCRIPT_PROTOCOL") != "1":
        sys.exit("nats-publish.py is a worker: configure it with \"mode\": \"worker\"")
    url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    stream = os.environ.get("NATS_STREAM", "KEA_LEASES")
    subject = os.environ.get("NATS_SUBJECT", "kea.lease")
    server = os.environ.get("KEA_SERVER") or socket.gethostname()
    in_flight = asyncio.Semaphore(int(os.environ.get("NATS_IN_FLIGHT", "256")))

    async def on_error(e):
        log("connection: %s" % e)

    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=1,
                            error_cb=on_error)
    js = nc.jetstream()
    try:
        await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(StreamConfig(name=stream, subjects=[subject + ".>"]))
        log("created stream %s for %s.>" % (stream, subject))

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout

    def messages(event):
        """(msg id, body) of each message the event becomes: one per lease change when
        its leases carry HA change ids, else one for the event."""
        base = {"server": server, "instance": event["instance"], "seq": event["seq"],
                "hook_point": event["hook_point"], "vars": event["vars"]}
        changes = [(name[:-len("_CHANGE_ID")], value)
                   for name, value in event["vars"].items()
                   if name.endswith("_CHANGE_ID") and value]
        if not changes:
            msg_id = "%s:%s:%d" % (server, event["instance"], event["seq"])
            changes = [(None, None)]
        for lease, change_id in changes:
            body = dict(base, id=change_id or msg_id)
            if change_id:
                body.update(change_id=change_id, lease=lease)
            yield body["id"], json.dumps(body, separators=(",", ":")).encode()

    async def publish(event):
        try:
            for msg_id, body in messages(event):
                while True:
                    try:
                        await js.publish("%s.%s" % (subject, event["hook_point"]), body,
                                         timeout=5, headers={"Nats-Msg-Id": msg_id})
                        break
                    except (nats.errors.TimeoutError, nats.errors.NoRespondersError,
                            nats.js.errors.APIError, nats.errors.ConnectionClosedError) as e:
                        log("publish of %s failed (%s); retrying" % (msg_id, type(e).__name__))
                        await asyncio.sleep(1)
            # Stored (or recognised as duplicates of stored ones): acknowledge.
            out.write('{"seq":%d}\n' % event["seq"])
            out.flush()
        finally:
            in_flight.release()

    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        await in_flight.acquire()
        task = asyncio.create_task(publish(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    # End of input (unload): finish what was started, then leave.
    if tasks:
        await asyncio.gather(*tasks)
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
