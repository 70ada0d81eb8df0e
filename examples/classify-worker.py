#!/usr/bin/python3
# classify-worker.py — puts listed clients into Kea client classes, as a sync worker: a
# map from MAC address or DUID to class names stays in memory (reloaded when its file
# changes) and each query is answered with the classes of its client. Kea then selects
# subnets, pools and options by those classes: a quarantine pool, a guest network's
# options, a customer's class. Standard library only (and lib/client_map.py).
#
# Mode: worker, sync ("mode": "worker", "sync": true): for each query the hook waits for
#   {"seq": N, "classes": ["quarantine"]} (a listed client) or {"seq": N} (any other),
#   up to timeout-ms, then on-timeout applies (the query goes on without classes).
# Hook points: pkt4_receive and pkt6_receive (opt-in, hence "hook-points"): the classes
#   are added before Kea selects the subnet, so every later step sees them. Elsewhere
#   the worker answers without classes (Kea would ignore them there).
# Variables used: QUERY4_HWADDR (v4); QUERY6_CLIENT_ID (the DUID), then
#   QUERY6_REMOTE_HWADDR (v6; a client listed by MAC is found when Kea knows its MAC).
# Settings (the "env" key): CLASS_MAP (default /etc/kea/class-map.json), either
#   JSON:  {"aa:bb:cc:00:00:01": ["quarantine"], "00:03:00:01:aa:bb:cc:00:00:02": "guest"}
#   or CSV: one client a line, "mac-or-duid,class[,class...]", # starts a comment:
#          aa:bb:cc:00:00:01,quarantine
#          00:03:00:01:aa:bb:cc:00:00:02,guest,printers
#   A MAC or DUID in any case, with ':', '-' or '.' separators or none. Class names:
#   1 to 128 of A-Z a-z 0-9 _ . : -, at most 32 a client, not ALL, KNOWN, UNKNOWN,
#   BOOTP or VENDOR_CLASS_* (Kea assigns those itself); the library refuses any other.
#   The file is checked before each answer (one stat(2)) and reread when it changed. A
#   file with any error is not taken: the map loaded before stays, the error goes to
#   stderr. A missing file means no client is listed.
#   Replace the file as a whole (write a new one, then rename it over the old) so that no
#   query sees it half written.
# Config (Kea 2.2 and 2.6 pools name their class with "client-class": "quarantine"; 3.0
#   with "client-classes": ["quarantine"]):
#   "client-classes": [
#     {"name": "quarantine",
#      "option-data": [{"name": "domain-name", "data": "quarantine.example", "always-send": true}]},
#     {"name": "regular",
#      "test": "not member('quarantine') and (member('KNOWN') or member('UNKNOWN'))"}],
#   "subnet4": [{"id": 1, "subnet": "192.0.2.0/24",
#                "pools": [{"pool": "192.0.2.200-192.0.2.250", "client-class": "quarantine"},
#                          {"pool": "192.0.2.10-192.0.2.199", "client-class": "regular"}]}],
#   "hooks-libraries": [{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/classify-worker.py",
#                   "mode": "worker", "sync": true, "log-output": true,
#                   "hook-points": ["pkt4_receive", "pkt6_receive"],
#                   "timeout-ms": 500, "on-timeout": "continue",
#                   "env": {"CLASS_MAP": "/etc/kea/class-map.json"}}}]
#   Guard both pools: a pool without a class serves every client, members of quarantine
#   too. Kea evaluates class tests before pkt4_receive, except those naming KNOWN or
#   UNKNOWN, which it evaluates after the hook: so "regular" sees the worker's class.
# A class no "client-classes" entry defines still guards pools and options by its name.

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from client_map import ClientMap, serve  # noqa: E402

TAG = "classify-worker"
# Kea's hook points where classes are added to the query.
CLASSIFYING = frozenset(("pkt4_receive", "pkt6_receive"))

# The library's rules for a class name (kea-runscript-core/src/answer.rs): checked here
# too, so a bad map is refused when it is loaded, not client by client.
CLASS_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")
KEA_CLASSES = frozenset(("ALL", "KNOWN", "UNKNOWN", "BOOTP"))
MAX_CLASSES = 32


def check_classes(names):
    """The answer fields for `names` (',"classes":[...]'); ValueError for a bad list."""
    if not names or len(names) > MAX_CLASSES:
        raise ValueError("1 to %d class names expected, got %d" % (MAX_CLASSES, len(names)))
    for name in names:
        if not isinstance(name, str) or not CLASS_NAME.match(name):
            raise ValueError("class name %s refused: 1 to 128 letters, digits, '_', '.', ':', '-'"
                             % json.dumps(name))
        if name in KEA_CLASSES or name.startswith("VENDOR_CLASS_"):
            raise ValueError("class %s is one Kea assigns itself" % name)
    return ',"classes":' + json.dumps(list(dict.fromkeys(names)), separators=(",", ":"))


def from_json(value):
    return check_classes([value] if isinstance(value, str) else value
                         if isinstance(value, list) else [None])


def from_csv(fields):
    return check_classes([field for field in fields if field])


def main():
    serve(ClientMap(os.environ.get("CLASS_MAP", "/etc/kea/class-map.json"), TAG,
                    from_json, from_csv), CLASSIFYING)


if __name__ == "__main__":
    main()
