#!/usr/bin/python3
# unbound-dns.py — a worker (protocol v1) that keeps Unbound's local data equal to the
# active leases: an A (DHCPv4) or AAAA (DHCPv6 address) record and the matching PTR per
# lease that has a host name, through Unbound's remote control (its UNIX socket, or
# unbound-control). Python standard library only.
#
# Mode: worker, async ("mode": "worker"), with "replay-leases": true (the reconciliation
#   at start needs the replay; without it nothing is ever removed at start).
# Hook points: Kea's default set (leases4_committed, lease4_release, lease4_expire,
#   lease4_decline, their v6 twins) plus the replays; lease4_renew, lease6_renew and
#   lease6_rebind are ignored (Kea calls them before the lease has its host name). One worker per Kea server: the
#   kea-dhcp4 and kea-dhcp6 workers each need their own UNBOUND_DNS_STATE.
# Names: the first label of the lease's host name (LEASE4_HOSTNAME, LEASES4_AT<i>_HOSTNAME,
#   LEASE6_HOSTNAME, …: what the client sent in option 12, 81 or 39, or what Kea made of
#   it), lower-cased; every byte other than a-z, 0-9 and "-" becomes "-", runs of "-"
#   become one, leading and trailing "-" go, cut at 63 bytes; then ".<domain>.". A lease
#   whose name comes out empty gets no record (logged). Nothing from a lease is ever run
#   by a shell: records reach Unbound as data lines of its remote-control protocol.
# A name held by another client: the first holder keeps it; the newcomer gets no record
#   (logged) until the holder's lease ends, then it takes the name over. The same client
#   (MAC or client id; v6: DUID and IAID) moving to a new address takes its name along.
# Removal: release, expiry, decline and deleted leases remove the lease's records unless
#   its name now belongs to another (newer) lease. Unbound removes a name with all its
#   records: on a name that a v4 and a v6 worker both registered, removing one family's
#   record removes the other's too, until the other worker's next replay (Kea's start or
#   reload) registers it again; give the two workers different domains where that matters.
# Reconciliation: at start (the first worker of a library load, i.e. after Kea started or
#   reloaded) and at every replay (HA's sync), the leases replayed (plus live commits
#   meanwhile) are the active set. The replay has ended when no replayed event came for
#   UNBOUND_DNS_QUIET seconds while every event read was answered. Then the names this
#   worker registered earlier (its state file) whose lease is not active are removed —
#   unless that is more than UNBOUND_DNS_GUARD of them (a share; an empty replay with
#   names registered always is): then nothing is removed and it is logged. A worker
#   restarted after a crash (its first event not the load's first) reconciles nothing.
# Delivery: an event is answered only after Unbound accepted its change (and the state
#   file has it); a failed command is retried with backoff (0.1 s doubling to 5 s),
#   so nothing is lost while Unbound restarts. A sentinel local zone tells a restarted or
#   reloaded Unbound (which lost every record added at run time): it is checked every
#   UNBOUND_DNS_CHECK seconds and after a failure, and when missing every registered
#   record is added again.
# HA pairs ("ha" on both servers): both workers may register the same lease into one
#   Unbound; adding an existing record changes nothing, so the records are there once.
#   One Unbound per server instead: "ha": {"expire-once": false}, so that both servers'
#   workers see every expiry.
# Settings (the "env" key):
#   UNBOUND_DNS_DOMAIN      the domain of the names (default "lan")
#   UNBOUND_DNS_STATE       this worker's state file: the names it registered (required)
#   UNBOUND_CONTROL_SOCKET  Unbound's control-interface when it is a UNIX socket (Debian:
#                           /run/unbound.ctl): commands go straight to it, no process per
#                           command (the fast way); unset: through unbound-control
#   UNBOUND_CONTROL         unbound-control (default /usr/sbin/unbound-control)
#   UNBOUND_CONTROL_CONFIG  its -c file (default: unbound-control's own)
#   UNBOUND_DNS_TTL         record TTL in seconds (default 300)
#   UNBOUND_DNS_GUARD       largest share of names one reconciliation removes (default 0.5)
#   UNBOUND_DNS_QUIET       seconds without a replayed event that end a replay (default 5)
#   UNBOUND_DNS_CHECK       seconds between sentinel checks (default 5)
#   UNBOUND_DNS_RECONCILE   1 (default); 0: never remove at a replay's end (a Kea without
#                           "replay-leases": then a reload's first minutes would look stale)
#   UNBOUND_DNS_BATCH       1 (default): one local_datas command per batch of events read
#                           together; 0: one per event (slower; for comparison)
# Config (kea-dhcp4; kea-dhcp6 the same with its own state file):
#   {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libkea_runscript.so",
#    "parameters": {"name": "/usr/share/kea-runscript/examples/unbound-dns.py",
#                   "mode": "worker", "replay-leases": true, "log-output": true,
#                   "env": {"UNBOUND_DNS_DOMAIN": "lan",
#                           "UNBOUND_CONTROL_SOCKET": "/run/unbound.ctl",
#                           "UNBOUND_DNS_STATE": "/var/lib/kea/unbound-dns4.state"}}}

import hashlib
import ipaddress
import json
import os
import select
import socket
import subprocess
import sys
import time

ACTIVE = "default"
# Not lease4_renew, lease6_renew, lease6_rebind: Kea calls them before it sets the lease's
# host name (and for a DHCPDISCOVER of a bound client too); leases*_committed that follows
# carries the lease as stored.
COMMITS = {"lease4_replay", "lease6_replay"}
REMOVALS = {"lease4_release", "lease4_expire", "lease4_decline",
            "lease6_release", "lease6_expire", "lease6_decline"}
REPLAYS = {"lease4_replay", "lease6_replay"}


def log(text):
    print("unbound-dns: " + text, file=sys.stderr, flush=True)


def label(hostname):
    """The DNS label made of a host name's first label, or None when nothing is left."""
    raw = hostname.encode("utf-8", "surrogateescape").split(b".")[0]
    out = []
    for byte in raw.lower():
        ok = 0x61 <= byte <= 0x7a or 0x30 <= byte <= 0x39
        if ok:
            out.append(chr(byte))
        elif out and out[-1] != "-":
            out.append("-")
    text = "".join(out)[:63].strip("-")
    return text or None


class Lease:
    __slots__ = ("addr", "name", "client")

    def __init__(self, addr, name, client):
        self.addr, self.name, self.client = addr, name, client


class Unbound:
    """Unbound's remote control, each command retried until it succeeds: straight to its
    UNIX socket (UNBOUND_CONTROL_SOCKET: no process per command), else through
    unbound-control (any remote-control set-up, TLS included)."""

    # Commands whose input lines follow the command line, ended by 0x04 (as
    # unbound-control sends them).
    WITH_INPUT = {"local_datas", "local_datas_remove"}

    def __init__(self, socket_path, control, config):
        self.socket_path = socket_path
        self.argv = [control] + (["-c", config] if config else [])
        self.failed = False

    def command(self, args, data):
        """The command's output; raises OSError when it failed."""
        if not self.socket_path:
            done = subprocess.run(self.argv + args, input=data.encode(), capture_output=True,
                                  timeout=60)
            output = (done.stdout + done.stderr).decode(errors="replace")
            if done.returncode != 0:
                raise OSError("exit %d: %s" % (done.returncode, output.strip()[:300]))
            return output
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(self.socket_path)
            message = "UBCT1 %s\n" % " ".join(args)
            if args[0] in self.WITH_INPUT:
                message += data + "\x04\n"
            s.sendall(message.encode())
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def run(self, args, data=""):
        delay = 0.1
        tries = 0
        lines = data.count("\n")
        while True:
            try:
                output = self.command(args, data)
                # Unbound says "error ..." for what it refused, and counts what it took.
                ok = not any(line.startswith("error") for line in output.splitlines())
                if args[0] in self.WITH_INPUT:
                    ok = ok and output.split()[1:2] == [str(lines)]
                if ok:
                    if tries:
                        log("%s succeeded after %d failures" % (args[0], tries))
                    return output
                why = output.strip()[:300]
            except (OSError, subprocess.TimeoutExpired) as e:
                why = str(e)
            tries += 1
            self.failed = True
            if tries == 1 or tries % 20 == 0:
                log("%s failed (%s); retrying" % (args[0], why))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class Registry:
    """Active leases, the names they hold, and what Unbound holds of ours."""

    def __init__(self, domain, ttl, unbound, state_path):
        self.domain, self.ttl, self.unbound = domain, ttl, unbound
        self.leases = {}      # address -> Lease (active, with or without a name)
        self.holder = {}      # name -> address that holds it
        self.wanting = {}     # name -> {addresses whose lease wants it}
        self.published = {}   # name -> address, as registered in Unbound (the state file)
        self.dirty = set()    # names whose records may differ from `holder`
        self.again = set()    # names to add again even if registered (replayed leases)
        self.state_path = state_path
        self.sentinel = "kea-runscript-%s.invalid." % hashlib.sha256(
            (os.path.abspath(state_path) + "|" + domain).encode()).hexdigest()[:16]
        self.load_state()

    # --- state file: "+ name address" / "- name" lines, compacted at start ---
    def load_state(self):
        try:
            with open(self.state_path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == "+":
                        self.published[parts[1]] = parts[2]
                    elif len(parts) == 2 and parts[0] == "-":
                        self.published.pop(parts[1], None)
        except FileNotFoundError:
            pass
        for name, addr in self.published.items():
            self.leases[addr] = Lease(addr, name, None)
            self.holder[name] = addr
            self.wanting.setdefault(name, set()).add(addr)
        self.compact()

    def compact(self):
        """Rewrites the state file as one line per name (atomically), opens it to append."""
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            f.writelines("+ %s %s\n" % item for item in self.published.items())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)
        self.state = open(self.state_path, "a")
        self.appended = 0

    def fqdn(self, name):
        return "%s.%s." % (name, self.domain)

    def records(self, name, addr):
        family = "AAAA" if ":" in addr else "A"
        ptr = ipaddress.ip_address(addr).reverse_pointer
        return ["%s %d IN %s %s\n" % (self.fqdn(name), self.ttl, family, addr),
                "%s. %d IN PTR %s\n" % (ptr, self.ttl, self.fqdn(name))]

    # --- lease changes (in memory; flush() brings Unbound along) ---
    def commit(self, addr, hostname, client, replayed=False):
        name = label(hostname) if hostname else None
        old = self.leases.get(addr)
        if old and old.name == name and old.client in (None, client):
            old.client = client   # a renewal (or the first sight of a lease from the state file)
            if replayed and name and self.holder.get(name) == addr:
                # Another worker (the other family's) may have removed the name with all
                # its records: a replay registers it again.
                self.again.add(name)
                self.dirty.add(name)
            return
        if hostname and not name:
            log("host name %s of %s has no usable label: no record" % (ascii(hostname), addr))
        elif hostname and name != hostname.split(".")[0].lower():
            log("host name %s of %s sanitised to %s" % (ascii(hostname), addr, name))
        if old:
            self.remove(addr)
        self.leases[addr] = Lease(addr, name, client)
        if not name:
            return
        self.wanting.setdefault(name, set()).add(addr)
        held = self.holder.get(name)
        if held is None:
            self.take(name, addr)
        elif self.leases[held].client == client:
            self.take(name, addr)   # the same client's newer lease takes its name along
        else:
            log("name %s is held by %s (another client): %s gets no record"
                % (self.fqdn(name), held, addr))

    def remove(self, addr):
        lease = self.leases.pop(addr, None)
        if lease is None or not lease.name:
            return
        wanting = self.wanting.get(lease.name, set())
        wanting.discard(addr)
        if not wanting:
            self.wanting.pop(lease.name, None)
        if self.holder.get(lease.name) == addr:
            del self.holder[lease.name]
            self.dirty.add(lease.name)
            if wanting:
                heir = min(wanting)
                log("name %s passes from %s to %s" % (self.fqdn(lease.name), addr, heir))
                self.take(lease.name, heir)

    def take(self, name, addr):
        self.holder[name] = addr
        self.dirty.add(name)

    # --- Unbound ---
    def flush(self):
        """Makes Unbound hold `holder` for every dirty name; True when it changed anything."""
        gone, added, journal = [], [], []
        for name in self.dirty:
            want, have = self.holder.get(name), self.published.get(name)
            if want == have:
                if want is not None and name in self.again:
                    added.extend(self.records(name, want))
                continue
            if have is not None:
                gone.append(self.fqdn(name) + "\n")
                gone.append(ipaddress.ip_address(have).reverse_pointer + ".\n")
                journal.append("- %s\n" % name)
            if want is not None:
                added.extend(self.records(name, want))
                journal.append("+ %s %s\n" % (name, want))
        self.dirty.clear()
        self.again.clear()
        if gone:
            self.unbound.run(["local_datas_remove"], "".join(gone))
        if added:
            self.unbound.run(["local_datas"], "".join(added))
        if not journal:
            return False
        for line in journal:
            parts = line.split()
            if parts[0] == "+":
                self.published[parts[1]] = parts[2]
            else:
                self.published.pop(parts[1], None)
        self.state.write("".join(journal))
        self.state.flush()
        self.appended += len(journal)
        if self.appended > 10000 and self.appended > 4 * len(self.published):
            self.state.close()
            self.compact()
        return True

    def check(self):
        """Adds every registered record again when Unbound lost them (restart, reload)."""
        self.unbound.failed = False
        zones = self.unbound.run(["list_local_zones"])
        if any(line.split()[:1] == [self.sentinel] for line in zones.splitlines()):
            return
        if self.published:
            log("Unbound lost its run-time data (restarted or reloaded): adding %d names again"
                % len(self.published))
            data = [r for name, addr in self.published.items() for r in self.records(name, addr)]
            self.unbound.run(["local_datas"], "".join(data))
        self.unbound.run(["local_zone", self.sentinel, "static"])

    def reconcile(self, active, guard):
        """Removes the leases not in `active`, unless that is more than `guard` of the names."""
        stale = [addr for addr in self.leases if addr not in active]
        named = [addr for addr in stale if self.holder.get(self.leases[addr].name) == addr]
        total = len(self.holder)
        if named and (len(named) == total or len(named) > guard * total):
            log("reconciliation refused: it would remove %d of %d names (guard %.2f); "
                "nothing removed" % (len(named), total, guard))
            return
        for addr in stale:
            self.remove(addr)
        log("reconciled: %d active leases, %d names removed" % (len(active), len(named)))


def leases_of(hook_point, v):
    """(change, address, host name, client) of every lease of an event; change is
    "commit" or "remove"."""
    family = "6" if "6" in hook_point else "4"
    prefixes = []
    if hook_point.startswith("leases"):
        for committed, kind in ((True, "LEASES"), (False, "DELETED_LEASES")):
            size = int(v.get("%s%s_SIZE" % (kind, family)) or 0)
            prefixes.extend((committed, "%s%s_AT%d_" % (kind, family, i)) for i in range(size))
    elif hook_point in COMMITS or hook_point in REMOVALS:
        prefixes.append((hook_point in COMMITS, "LEASE%s_" % family))
    for committed, p in prefixes:
        addr = v.get(p + "ADDRESS")
        if not addr:
            continue
        if family == "6" and v.get(p + "TYPE", "IA_NA") != "IA_NA":
            continue
        active = committed and v.get(p + "STATE", ACTIVE) == ACTIVE
        if family == "4":
            client = v.get(p + "CLIENT_ID") or v.get(p + "HWADDR", "")
        else:
            client = "%s/%s" % (v.get(p + "DUID", ""), v.get(p + "IAID", ""))
        yield ("commit" if active else "remove"), addr, v.get(p + "HOSTNAME", ""), client


def env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        sys.exit("unbound-dns.py: %s must be a number" % name)


def main():
    if sys.argv[1:] != ["worker"] or os.environ.get("KEA_RUNSCRIPT_PROTOCOL") != "1":
        sys.exit("unbound-dns.py is a worker: configure it with \"mode\": \"worker\"")
    state = os.environ.get("UNBOUND_DNS_STATE")
    if not state:
        sys.exit("unbound-dns.py: set UNBOUND_DNS_STATE (a file of this worker's own)")
    domain = os.environ.get("UNBOUND_DNS_DOMAIN", "lan").strip(".").lower()
    if not domain or any(label(part) != part for part in domain.split(".")):
        sys.exit("unbound-dns.py: UNBOUND_DNS_DOMAIN %s is not a domain name" % ascii(domain))
    ttl = int(env_float("UNBOUND_DNS_TTL", 300))
    guard = env_float("UNBOUND_DNS_GUARD", 0.5)
    quiet = env_float("UNBOUND_DNS_QUIET", 5)
    every = env_float("UNBOUND_DNS_CHECK", 5)
    batched = os.environ.get("UNBOUND_DNS_BATCH", "1") != "0"
    reconciling = os.environ.get("UNBOUND_DNS_RECONCILE", "1") != "0"
    unbound = Unbound(os.environ.get("UNBOUND_CONTROL_SOCKET"),
                      os.environ.get("UNBOUND_CONTROL", "/usr/sbin/unbound-control"),
                      os.environ.get("UNBOUND_CONTROL_CONFIG"))
    reg = Registry(domain, ttl, unbound, state)
    reg.check()
    last_check = time.monotonic()

    # The open reconciliation round: the addresses seen active in it, and when it last
    # moved (a replayed event read or answered). Open at start until the first event says
    # whether this is the load's first worker.
    active, moved, first_seen = set(), time.monotonic(), False
    rest = b""
    while True:
        now = time.monotonic()
        waits = [last_check + every - now]
        if active is not None:
            waits.append(moved + quiet - now)
        ready, _, _ = select.select([0], [], [], max(0.0, min(waits)))
        events = []
        if ready:
            chunk = os.read(0, 1 << 20)
            if not chunk:
                break
            *lines, rest = (rest + chunk).split(b"\n")
            events = [json.loads(line) for line in lines if line.strip()]
        if events and not first_seen:
            first_seen = True
            if events[0]["seq"] != 1 and active is not None and not active:
                log("worker restarted within a library load: no replay, nothing reconciled")
                active = None
        groups = [events] if batched else [[e] for e in events]
        for group in groups:
            replayed = False
            for event in group:
                hook_point = event["hook_point"]
                if hook_point in REPLAYS:
                    replayed = True
                    if active is None:
                        active = set()
                for change, addr, hostname, client in leases_of(hook_point, event["vars"]):
                    if change == "commit":
                        reg.commit(addr, hostname, client, hook_point in REPLAYS)
                        if active is not None:
                            active.add(addr)
                    else:
                        reg.remove(addr)
                        if active is not None:
                            active.discard(addr)
            reg.flush()
            if unbound.failed:
                reg.check()
                last_check = time.monotonic()
            sys.stdout.write("".join('{"seq":%d}\n' % e["seq"] for e in group))
            sys.stdout.flush()
            if replayed:
                moved = time.monotonic()
        now = time.monotonic()
        if active is not None and now - moved >= quiet:
            if reconciling:
                reg.reconcile(active, guard)
            reg.flush()
            active = None
        if now - last_check >= every:
            reg.check()
            last_check = time.monotonic()


if __name__ == "__main__":
    main()
