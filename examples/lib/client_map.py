# client_map.py — shared by classify-worker.py and ddns-names-worker.py: a table keyed by
# client (a MAC or a DUID) read from a JSON or CSV file and reloaded when the file changes,
# and the sync-worker loop around it. Python standard library only.
#
# The file: a JSON object {"<mac or duid>": <value>, ...}, or CSV lines
# "<mac or duid>,<field>[,<field>...]" (blank lines and lines starting with # ignored).
# Identifiers are hex bytes in any case, separated by ':', '-' or '.', or not at all
# (aa:bb:cc:00:00:01, AA-BB-CC-00-00-01, aabb.cc00.0001, aabbcc000001, 0:c:1:2:3:4); each
# is kept as Kea prints one (aa:bb:cc:00:00:01). The caller turns each entry's value into
# what it answers and refuses a bad one with ValueError.
#
# All or nothing: a file with any error (bad JSON, a bad identifier or value, a client
# listed twice) is not taken; the table loaded before stays in use and the error goes to
# stderr once per change of the file. A file that does not exist means an empty table.

import csv
import json
import os
import re
import sys
import time

# Where a query names its client, in order of preference: the DHCPv4 hardware address,
# the DHCPv6 DUID, the DHCPv6 client's MAC (when Kea knows it).
CLIENT_VARIABLES = ("QUERY4_HWADDR", "QUERY6_CLIENT_ID", "QUERY6_REMOTE_HWADDR")

HEX_DIGITS = frozenset("0123456789abcdef")

# How long after a change of the file it is read once more (see ClientMap.current).
RECHECK_NS = 1_000_000_000

# Longest identifier taken (bytes): a DUID has at most 130, a MAC 6 (or 20 for InfiniBand).
MAX_ID_BYTES = 130


def normalize_id(text):
    """The identifier as Kea prints it (lower-case hex pairs joined by ':'), or None."""
    text = text.strip().lower()
    if not text:
        return None
    if ":" in text or "-" in text:
        # Separated groups may drop a leading zero (0:c:1:2:3:4).
        groups = text.replace("-", ":").split(":")
        if any(not 1 <= len(g) <= 2 for g in groups):
            return None
        digits = "".join(g.rjust(2, "0") for g in groups)
    else:
        # Bare hex or Cisco's dotted form (aabb.cc00.0001).
        digits = text.replace(".", "")
        if len(digits) % 2:
            return None
    if not digits or not set(digits) <= HEX_DIGITS or len(digits) > 2 * MAX_ID_BYTES:
        return None
    return ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


class MapError(Exception):
    """A file that cannot be taken; the message says where and why."""


def unique_keys(pairs):
    """A JSON object as a dict; a key given twice is an error, not the last one wins."""
    table = {}
    for key, value in pairs:
        if key in table:
            raise ValueError("key %s given twice" % json.dumps(key))
        table[key] = value
    return table


def client_ids(variables):
    """The identifiers the query carries, as Kea printed them, most specific first."""
    return [variables[name].lower() for name in CLIENT_VARIABLES if variables.get(name)]


# The hook writes an event's header before its variables, always in this form
# (docs/configuration.md, "Worker mode"), and Kea prints an identifier as hex digits and
# colons. Reading these few fields with patterns instead of decoding the whole line
# takes a quarter off the worker's time per query, which a sync worker adds to every
# query's wait. Inside a JSON string a '"' is always escaped, so `"NAME":"` can only
# start a key's value. A line whose header does not fit, or that names an identifier
# the pattern does not find (written in another form, or not hex), is decoded whole.
HEADER = re.compile(rb'"seq":(\d+),"hook_point":"([a-z0-9_]+)"')
ID_VALUES = [(b'"%s"' % name.encode(), re.compile(rb'"%s":"([0-9A-Fa-f:]*)"' % name.encode()))
             for name in CLIENT_VARIABLES]


def event_fields(line):
    """The seq, the hook point and the client identifiers (as client_ids) of an event."""
    header = HEADER.search(line)
    ids = []
    for key, pattern in ID_VALUES if header else ():
        value = pattern.search(line)
        if value:
            if value.group(1):
                ids.append(value.group(1).decode().lower())
        elif key in line:
            header = None
            break
    if header is None:
        event = json.loads(line)
        return event["seq"], event["hook_point"], client_ids(event["vars"])
    return int(header.group(1)), header.group(2).decode(), ids


class ClientMap:
    """The table of `path`, reloaded when the file changes.

    `from_json(value)` and `from_csv(fields)` turn one entry's value (a JSON value, or
    the CSV fields after the identifier) into what the table holds; each raises
    ValueError for a bad one.
    """

    def __init__(self, path, tag, from_json, from_csv):
        self.path = path
        self.tag = tag
        self.from_json = from_json
        self.from_csv = from_csv
        self.stamp = None
        self.recheck = None
        self.failure = None
        self.table = {}

    def current(self):
        """The table, reread first if the file changed (one stat(2) per call)."""
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except OSError as e:
            st, stamp = None, ("missing", e.errno)
        now = time.time_ns()
        recheck = self.recheck is not None and now >= self.recheck
        if stamp != self.stamp or recheck:
            self.stamp = stamp
            # File times advance by the kernel's clock tick: a second write of the same
            # size within that tick leaves the stamp as it is. A file changed within the
            # last second is therefore read once more a second later.
            self.recheck = None
            if st is not None and now - st.st_mtime_ns < RECHECK_NS:
                self.recheck = st.st_mtime_ns + RECHECK_NS
            self.reload(st is None, quiet=recheck)
        return self.table

    def reload(self, missing, quiet=False):
        if missing:
            self.table = {}
            self.log("%s does not exist: no client is listed" % self.path)
            return
        try:
            with open(self.path, "rb") as f:
                text = f.read().decode("utf-8")
            table = self.parse(text)
        except (OSError, UnicodeDecodeError, MapError) as e:
            # A second read of the same bad file is not reported again.
            if not (quiet and str(e) == self.failure):
                self.log("%s not loaded, keeping the %d entries loaded before: %s"
                         % (self.path, len(self.table), e))
            self.failure = str(e)
            return
        self.failure = None
        if not (quiet and table == self.table):
            self.log("%d entries loaded from %s" % (len(table), self.path))
        self.table = table

    def parse(self, text):
        if text.lstrip().startswith("{"):
            return self.parse_json(text)
        return self.parse_csv(text)

    def parse_json(self, text):
        try:
            top = json.loads(text, object_pairs_hook=unique_keys)
        except ValueError as e:
            raise MapError("not valid JSON: %s" % e) from None
        if not isinstance(top, dict):
            raise MapError("not a JSON object")
        table = {}
        for key, value in top.items():
            where = "key %s" % json.dumps(key)
            self.add(table, key, where, lambda: self.from_json(value))
        return table

    def parse_csv(self, text):
        table = {}
        rows = csv.reader(text.splitlines(), strict=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return table
            except csv.Error as e:
                raise MapError("line %d: %s" % (rows.line_num, e)) from None
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            fields = [field.strip() for field in row[1:]]
            self.add(table, row[0], "line %d" % rows.line_num, lambda: self.from_csv(fields))

    def add(self, table, key, where, value):
        if not isinstance(key, str) or normalize_id(key) is None:
            raise MapError("%s: not a MAC address or DUID" % where)
        client = normalize_id(key)
        if client in table:
            raise MapError("%s: %s is listed twice" % (where, client))
        try:
            table[client] = value()
        except ValueError as e:
            raise MapError("%s: %s" % (where, e)) from None

    def log(self, text):
        print("%s: %s" % (self.tag, text), file=sys.stderr, flush=True)


def serve(table, hook_points):
    """The sync-worker loop: for each event line one answer line, `{"seq":N}` plus, at
    `hook_points`, the table's entry of the query's client (the answer's other fields,
    e.g. ',"classes":["quarantine"]').

    Everything read at once is answered with one write, so events that arrive together
    (Kea's threads waiting at once) cost one wake-up each way.
    """
    if sys.argv[1:] != ["worker"] or os.environ.get("KEA_RUNSCRIPT_PROTOCOL") != "1":
        sys.exit("%s is a worker: configure it with \"mode\": \"worker\"" % table.tag)
    table.current()  # loaded (and reported) at start, not at the first query
    rest = b""
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        *lines, rest = (rest + chunk).split(b"\n")
        out = []
        for line in lines:
            if not line.strip():
                continue
            seq, hook_point, ids = event_fields(line)
            fields = ""
            if hook_point in hook_points:
                entries = table.current()
                for client in ids:
                    if client in entries:
                        fields = entries[client]
                        break
            out.append('{"seq":%d%s}\n' % (seq, fields))
        if out:
            data = "".join(out).encode()
            while data:
                data = data[os.write(1, data):]
