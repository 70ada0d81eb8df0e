#!/usr/bin/python3
# ddns-names-worker.py — gives listed clients their DNS names from a table, as a sync
# worker: whatever name a client sent (or none), Kea records and publishes the table's
# name for its lease, and may be told to update the forward and reverse zones or not.
# Clients not in the table keep the name Kea chose. Standard library only (and
# lib/client_map.py).
#
# Mode: worker, sync ("mode": "worker", "sync": true): for each update the hook waits for
#   {"seq": N, "hostname": "pc-1.example.org.", "fwd-update": true, "rev-update": true}
#   (a listed client; the flags only when the table or the settings give them) or
#   {"seq": N} (any other: Kea's name and flags stay), up to timeout-ms, then on-timeout.
# Hook points: ddns4_update and ddns6_update (opt-in, Kea 2.2+): Kea calls them when it
#   has decided a lease's host name and DNS update, before the lease is stored; the
#   lease (and the name change request to kea-dhcp-ddns) carries what the answer says.
#   kea-dhcp6 calls ddns6_update only for a client that sent a Client FQDN option (39),
#   unless Kea itself generates names ("ddns-replace-client-name").
# Variables used: QUERY4_HWADDR (v4); QUERY6_CLIENT_ID (the DUID), then
#   QUERY6_REMOTE_HWADDR (v6).
# Settings (the "env" key):
#   NAMES_FILE (default /etc/kea/ddns-names.csv), either
#     JSON: {"aa:bb:cc:00:00:01": "pc-1",
#            "00:03:00:01:aa:bb:cc:00:00:02": {"hostname": "printer.example.org.",
#                                             "fwd-update": true, "rev-update": false}}
#     or CSV: one client a line, "mac-or-duid,name[,fwd-update[,rev-update]]", flags
#            true/false (yes/no, 1/0) or empty for Kea's own; # starts a comment:
#            aa:bb:cc:00:00:01,pc-1
#            00:03:00:01:aa:bb:cc:00:00:02,printer.example.org.,true,false
#     A MAC or DUID in any case, with ':', '-' or '.' separators or none. The file is
#     checked before each answer (one stat(2)) and reread when it changed; a file with
#     any error is not taken (the table loaded before stays, the error goes to stderr);
#     a missing file means no client is listed.
#     Replace the file as a whole (write a new one, rename it over the old) so that no
#     update sees it half written.
#   DOMAIN (default none): added to every name without a trailing dot, as Kea's
#     "ddns-qualifying-suffix" does ("pc-1" with DOMAIN=example.org: "pc-1.example.org.").
#     Kea does not qualify a name a hook gives: without DOMAIN, write names in full.
#   FWD_UPDATE, REV_UPDATE (true/false, default none): the flags for listed clients whose
#     entry gives none. Kea's own flags are false for a client that sent no name, so set
#     them to true for Kea to publish the table's names of such clients.
# Names are made valid DNS names when the table is loaded: lower case, every run of
#   characters other than letters, digits, '-' and '.' becomes one '-', labels lose
#   leading and trailing '-' and are cut at 63 characters. A name left empty, or longer
#   than 253 characters, makes the table bad.
# Config (DNS updates themselves need Kea's "dhcp-ddns" and kea-dhcp-ddns):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/ddns-names-worker.py",
#                   "mode": "worker", "sync": true, "log-output": true,
#                   "hook-points": ["ddns4_update", "ddns6_update"],
#                   "timeout-ms": 500, "on-timeout": "continue",
#                   "env": {"NAMES_FILE": "/etc/kea/ddns-names.csv",
#                           "DOMAIN": "example.org"}}}

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from client_map import ClientMap, serve  # noqa: E402

TAG = "ddns-names-worker"
NAMING = frozenset(("ddns4_update", "ddns6_update"))
FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
NOT_IN_NAME = re.compile(r"[^a-z0-9.-]+")


def flag(text, what):
    """True, False or None (empty) from a setting or a CSV field."""
    text = (text or "").strip().lower()
    if not text:
        return None
    if text not in FLAGS:
        raise ValueError("%s: true or false expected, got %s" % (what, json.dumps(text)))
    return FLAGS[text]


def dns_name(raw, domain):
    """`raw` as a valid DNS name, qualified with `domain` unless it ends with a dot."""
    if not isinstance(raw, str):
        raise ValueError("a host name must be a string")
    absolute = raw.strip().endswith(".")
    labels = [NOT_IN_NAME.sub("-", label)[:63].strip("-")
              for label in raw.strip().lower().split(".")]
    name = ".".join(label for label in labels if label)
    if not name:
        raise ValueError("host name %s has nothing left of a DNS name" % json.dumps(raw))
    if not absolute and domain:
        name = "%s.%s" % (name, domain)
    if len(name) > 253:
        raise ValueError("host name %s is longer than 253 characters" % json.dumps(raw))
    return name + "." if absolute or domain else name


class Names:
    """Turns table entries into answer fields, with the settings' defaults."""

    def __init__(self, domain, fwd, rev):
        # The suffix itself goes through the same rules (and may not be empty after them).
        self.domain = dns_name(domain, "").rstrip(".") if domain.strip(" .") else ""
        self.fwd, self.rev = fwd, rev

    def fields(self, hostname, fwd, rev):
        out = {"hostname": dns_name(hostname, self.domain)}
        for key, given, default in (("fwd-update", fwd, self.fwd), ("rev-update", rev, self.rev)):
            value = default if given is None else given
            if value is not None:
                out[key] = value
        return "," + json.dumps(out, separators=(",", ":"))[1:-1]

    def from_json(self, value):
        if isinstance(value, dict):
            unknown = set(value) - {"hostname", "fwd-update", "rev-update"}
            if unknown:
                raise ValueError("unknown keys %s" % ", ".join(sorted(unknown)))
            flags = [value.get(key) for key in ("fwd-update", "rev-update")]
            if any(f is not None and not isinstance(f, bool) for f in flags):
                raise ValueError("fwd-update and rev-update take true or false")
            return self.fields(value.get("hostname"), *flags)
        return self.fields(value, None, None)

    def from_csv(self, fields):
        if not fields or len(fields) > 3:
            raise ValueError("a name and up to two flags expected")
        fields = fields + [""] * (3 - len(fields))
        return self.fields(fields[0], flag(fields[1], "fwd-update"), flag(fields[2], "rev-update"))


def main():
    try:
        names = Names(os.environ.get("DOMAIN", ""),
                      flag(os.environ.get("FWD_UPDATE"), "FWD_UPDATE"),
                      flag(os.environ.get("REV_UPDATE"), "REV_UPDATE"))
    except ValueError as e:
        sys.exit("%s: bad setting: %s" % (TAG, e))
    serve(ClientMap(os.environ.get("NAMES_FILE", "/etc/kea/ddns-names.csv"), TAG,
                    names.from_json, names.from_csv), NAMING)


if __name__ == "__main__":
    main()
