"""osquery on tills and back-office hosts: the results log, differential, one JSON per line.

`{"name": "pack_vigil_process_events", "hostIdentifier": "s031-pos-01", "calendarTime":
"Mon Nov 23 08:01:00 2026 UTC", "unixTime": 1795420860, "epoch": 0, "counter": 1,
"numerics": false, "decorations": {"host_uuid", "hostname"}, "columns": {...},
"action": "added"|"removed"}`, as osqueryd's filesystem logger writes it; column values
are strings. Queries of the `vigil` pack and their columns:

- `process_events` (every 60 s): pid, parent, path, name, cmdline, cwd, uid, auid, time
- `logged_in_users` (every 300 s; `added` at logon, `removed` at logoff): type, user, tty,
  host, time, pid
- `file_events` (every 300 s): target_path, category, action, transaction_id, inode, uid,
  size, time

A row is logged by the first scheduled run after it happened (`unixTime`; `time` in the
columns is when it happened); `counter` counts the query's runs since the simulation
started. Hosts run Linux. Tills (pos_terminal, self_checkout) boot before opening, start
the till stack, run a health check every 15 minutes and check for updates hourly; the
back-office PC (workstation) has a manager logged on through each shift; the store
server runs inventory sync every 10 minutes and a nightly backup.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import ClassVar, Literal
from zlib import crc32

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import Asset, AssetKind, IdentityKind
from vigil.sim.types import JsonLinesSource, sources
from vigil.sim.world import World

Query = Literal["process_events", "logged_in_users", "file_events"]
Action = Literal["added", "removed"]
Record = tuple[float, Query, str, Action]
"""What a host's osquery saw: (when it happened, query, its columns as JSON, action)."""
INTERVAL: dict[Query, float] = {"process_events": 60, "logged_in_users": 300, "file_events": 300}
HOSTS = (AssetKind.POS_TERMINAL, AssetKind.SELF_CHECKOUT, AssetKind.WORKSTATION, AssetKind.SERVER)
UNSET_AUID = 4294967295
ENCODER = json.JSONEncoder(separators=(",", ":"))
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# file_paths categories of the osquery config that file_events reports.
CATEGORIES = (("/var/log/pos/", "pos_logs"), ("/opt/pos/", "pos_app"), ("/srv/pos/", "journal"))
# Daemons started at boot: (role, path, arguments, uid).
TILL_STACK = (
    ("cron", "/usr/sbin/cron", "/usr/sbin/cron -f", 0),
    ("cupsd", "/usr/sbin/cupsd", "/usr/sbin/cupsd -l", 0),
    ("scanner", "/opt/pos/bin/scannerd", "/opt/pos/bin/scannerd --device /dev/ttyACM0", 1001),
    ("payment", "/opt/pos/bin/payment-svc", "/opt/pos/bin/payment-svc --port 7010", 1002),
    ("updater", "/opt/pos/bin/pos-updater", "/opt/pos/bin/pos-updater --channel stable", 0),
)
TILL_APP = {
    AssetKind.POS_TERMINAL: ("/opt/pos/bin/posapp", "/opt/pos/bin/posapp -c /opt/pos/etc/pos.conf"),
    AssetKind.SELF_CHECKOUT: ("/opt/sco/bin/sco-ui", "/opt/sco/bin/sco-ui --kiosk"),
}
OFFICE_APPS = (
    ("/usr/lib/firefox/firefox", "/usr/lib/firefox/firefox https://backoffice.corp.internal/"),
    ("/usr/lib/libreoffice/program/soffice.bin", "soffice.bin --calc rota.ods"),
    ("/usr/bin/thunderbird", "/usr/bin/thunderbird"),
    ("/usr/bin/evince", "evince delivery-note.pdf"),
    ("/opt/backoffice/bin/bo-client", "/opt/backoffice/bin/bo-client --sso"),
)


def calendar_time(ts: float) -> str:
    """osquery's calendarTime, asctime style: `Mon Nov  2 08:00:00 2026 UTC`."""
    t = time.gmtime(int(ts))
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{WEEKDAYS[t.tm_wday]} {MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {clock} {t.tm_year} UTC"


@cache
def _host(host: str) -> tuple[str, str]:
    """The host's identifier and decorations, JSON-encoded once."""
    host_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, host)).upper()
    return ENCODER.encode(host), ENCODER.encode({"host_uuid": host_uuid, "hostname": host})


def osquery_line(
    ts: float,
    host: str,
    query: Query,
    columns: Mapping[str, object],
    counter: int,
    action: Action = "added",
) -> str:
    """One results-log line of run `counter` of `query` on `host` at `ts` (the run's time)."""
    values = {key: "" if value is None else str(value) for key, value in columns.items()}
    second, (identifier, decorations) = int(ts), _host(host)
    return (
        f'{{"name":"pack_vigil_{query}","hostIdentifier":{identifier},'
        f'"calendarTime":"{calendar_time(second)}","unixTime":{second},"epoch":0,'
        f'"counter":{counter},"numerics":false,"decorations":{decorations},'
        f'"columns":{ENCODER.encode(values)},"action":"{action}"}}'
    )


def first_run(world: World, host: str, query: Query) -> float:
    """Runs of `query` on `host` are `INTERVAL` seconds apart from this one, at a fixed phase."""
    return world.span.start + crc32(f"{host}/{query}".encode()) % int(INTERVAL[query])


def query_run(world: World, ts: float, host: str, query: Query) -> tuple[float, int]:
    """The scheduled run of `query` on `host` that logs what happened at `ts`: (time, counter).

    `counter` counts the runs from the start of the simulated time.
    """
    first, interval = first_run(world, host, query), INTERVAL[query]
    counter = max(math.floor((ts - first) / interval) + 1, 0)
    return first + counter * interval, counter


def scheduled_line(
    world: World,
    ts: float,
    host: str,
    query: Query,
    columns: Mapping[str, object],
    action: Action = "added",
) -> tuple[float, str]:
    """(run time, line) for something that happened at `ts`, as a scenario injects it."""
    run, counter = query_run(world, ts, host, query)
    return run, osquery_line(run, host, query, columns, counter, action)


def linux_uid(username: str) -> int:
    return 2000 + crc32(username.encode()) % 60000


class Host:
    """What one host's osquery sees; processes get pids in time order when `records` runs."""

    def __init__(self, asset: Asset, rng: np.random.Generator) -> None:
        self.asset, self.rng = asset, rng
        self.spawns: list[tuple[float, str, str, int, str, str, str]] = []
        self.seen: list[Record] = []

    def spawn(
        self,
        ts: float,
        path: str,
        cmdline: str,
        uid: int = 0,
        parent: str = "init",
        role: str = "",
        cwd: str = "/",
    ) -> None:
        """A process start; children name their parent by the `role` it was given."""
        self.spawns.append((ts, path, cmdline, uid, parent, role, cwd))

    def file(self, ts: float, path: str, action: str, uid: int = 0) -> None:
        transaction, inode, size = self.rng.integers(
            (1, 100_000, 0), (1 << 20, 9_000_000, 4_000_000)
        )
        columns = {
            "target_path": path,
            "category": next((c for p, c in CATEGORIES if path.startswith(p)), "default"),
            "action": action,
            "transaction_id": str(transaction),
            "inode": str(inode),
            "uid": str(uid),
            "size": str(size),
            "time": str(int(ts)),
        }
        self.seen.append((ts, "file_events", ENCODER.encode(columns), "added"))

    def logon(self, start: float, end: float, user: str, tty: str, host: str = "") -> None:
        pid = str(self.rng.integers(2000, 30000))
        columns = {"type": "user", "user": user, "tty": tty, "host": host, "time": str(int(start))}
        line = ENCODER.encode(columns | {"pid": pid})
        self.seen += [
            (start, "logged_in_users", line, "added"),
            (end, "logged_in_users", line, "removed"),
        ]

    def records(self) -> list[Record]:
        """Everything seen, processes numbered in the order they started."""
        seen = list(self.seen)
        spawns = sorted(self.spawns, key=lambda spawn: spawn[0])
        steps = self.rng.integers(1, 40, len(spawns))
        numbers = (int(self.rng.integers(900, 4000)) + np.cumsum(steps)).tolist()
        pids = {"init": 1, "cron": 612, "sshd": 701, "gdm": 884}
        for pid, (ts, path, cmdline, uid, parent, role, cwd) in zip(numbers, spawns, strict=True):
            auid = uid if uid >= 1000 else UNSET_AUID
            columns = (
                f'{{"pid":"{pid}","parent":"{pids.get(parent, 1)}","path":{_quote(path)},'
                f'"name":{_quote(path.rsplit("/", 1)[-1])},"cmdline":{_quote(cmdline)},'
                f'"cwd":{_quote(cwd)},"uid":"{uid}","auid":"{auid}","time":"{int(ts)}"}}'
            )
            if role:
                pids[role] = pid
            seen.append((ts, "process_events", columns, "added"))
        return seen


@cache
def _quote(text: str) -> str:
    return ENCODER.encode(text)


def render(world: World, store_uid: str, hosts: list[Host]) -> pl.DataFrame:
    """`scheduled_line` for every record of the hosts, vectorised: the same bytes, faster."""
    found = []
    for host in hosts:
        identifier, decorations = _host(host.asset.uid)
        head = f'","hostIdentifier":{identifier},"calendarTime":"'
        tail = f',"numerics":false,"decorations":{decorations},"columns":'
        first = {q: first_run(world, host.asset.uid, q) for q in INTERVAL}
        for ts, query, columns, action in host.records():
            found.append((ts, first[query], INTERVAL[query], query, head, tail, columns, action))
    if not found:
        return EndpointSource.lines([])
    happened, firsts, intervals, *texts = zip(*found, strict=True)
    interval, start = np.array(intervals), np.array(firsts)
    counter = np.maximum(np.floor((np.array(happened) - start) / interval) + 1, 0).astype(np.int64)
    run = start + counter * interval
    names = ("query", "head", "tail", "columns", "action")
    frame = pl.DataFrame(dict(zip(names, texts, strict=True)) | {"run": run, "counter": counter})
    second = pl.col("run").floor().cast(pl.Int64)
    line = pl.concat_str(
        pl.lit('{"name":"pack_vigil_'),
        pl.col("query"),
        pl.col("head"),
        pl.from_epoch(second, time_unit="s").dt.strftime("%a %b %e %H:%M:%S %Y UTC"),
        pl.lit('","unixTime":'),
        second.cast(pl.String),
        pl.lit(',"epoch":0,"counter":'),
        pl.col("counter").cast(pl.String),
        pl.col("tail"),
        pl.col("columns"),
        pl.lit(',"action":"'),
        pl.col("action"),
        pl.lit('"}'),
    )
    return frame.select(ts="run", store=pl.lit(store_uid), line=line)


def _till(host: Host, world: World, store: Store) -> None:
    rng, (app, cmdline) = host.rng, TILL_APP[host.asset.kind]
    for span in world.trading(store):
        boot = span.start - rng.uniform(30, 50) * 60
        halt = span.end + rng.uniform(15, 40) * 60
        for offset, (role, path, line, uid) in enumerate(TILL_STACK):
            host.spawn(boot + 20 + offset * rng.uniform(0.5, 3), path, line, uid, role=role)
        host.spawn(boot + 35 + rng.uniform(0, 10), app, cmdline, 1001, role="app")
        host.logon(boot + 30, halt, "pos", "tty1")
        host.file(boot + 34, "/var/log/pos/posapp.log", "MOVED_FROM", 1001)
        host.file(boot + 34, "/var/log/pos/posapp.log.1", "MOVED_TO", 1001)
        host.file(boot + 36, "/var/log/pos/posapp.log", "CREATED", 1001)
        check = "/opt/pos/bin/healthcheck.sh"
        for tick in np.arange(boot + 900 - boot % 900, halt, 900.0) + rng.uniform(0, 1):
            host.spawn(tick, "/bin/sh", f"/bin/sh -c {check}", 0, "cron", "sh")
            host.spawn(tick + 1, check, f"/bin/bash {check}", parent="sh")
        url = f"https://pos-updates.corp.internal/v2/manifest?store={store.uid}"
        for tick in np.arange(boot + rng.uniform(0, 3600), halt, 3600.0):
            host.spawn(tick, "/usr/bin/curl", f"curl -fsS {url}", parent="updater")
        for moment in rng.uniform(span.start, span.end, 3):
            host.spawn(moment, "/opt/pos/bin/pricesync", "pricesync --apply", parent="updater")
            host.file(moment + rng.uniform(1, 20), "/opt/pos/data/prices.db", "UPDATED")


def _office(host: Host, world: World, store: Store) -> None:
    """Hourly cron, and a manager's desktop session through each shift."""
    rng, span = host.rng, world.span
    hourly = "/bin/sh -c cd / && run-parts --report /etc/cron.hourly"
    for tick in np.arange(span.start - span.start % 3600 + 1020, span.end, 3600.0):
        host.spawn(tick, "/bin/sh", hourly, parent="cron")
    staff = world.staff(store, IdentityKind.MANAGER) + world.staff(store, IdentityKind.SECURITY)
    for day, shift in enumerate(world.trading(store) if staff else []):
        user = staff[day % len(staff)].username
        uid, home = linux_uid(user), f"/home/{user}"
        start = shift.start - rng.uniform(10, 35) * 60
        end = shift.end + rng.uniform(5, 25) * 60
        host.logon(start, end, user, "tty2")
        session = "/usr/libexec/gnome-session-binary"
        host.spawn(start + 4, session, f"{session} --session=ubuntu", uid, "gdm", "session", home)
        for moment in rng.uniform(start, end, int(rng.poisson(4 * (end - start) / 3600))):
            path, cmdline = OFFICE_APPS[int(rng.integers(len(OFFICE_APPS)))]
            host.spawn(moment, path, cmdline, uid, "session", cwd=home)


def _server(host: Host, world: World, store: Store) -> None:
    """Inventory sync every 10 minutes, the day's journal, a nightly backup, rare admin logons."""
    rng, span = host.rng, world.span
    sync = f"/usr/local/bin/inventory-sync --store {store.uid}"
    for tick in np.arange(span.start - span.start % 600 + 600, span.end, 600.0) + rng.uniform(0, 1):
        host.spawn(tick, "/bin/sh", f"/bin/sh -c {sync}", 0, "cron", "sh")
        host.spawn(tick + 1, sync.split(maxsplit=1)[0], sync, parent="sh")
    for shift in world.trading(store):
        day = datetime.fromtimestamp(shift.start, store.tz).date().isoformat()
        host.file(shift.start + rng.uniform(0, 120), f"/srv/pos/journal/{day}.jnl", "CREATED")
        backup = "rsync -a /srv/pos/journal/ backup@172.16.0.40:/vault/"
        host.spawn(
            shift.end + rng.uniform(1.5, 2.5) * 3600, "/usr/bin/rsync", backup, parent="cron"
        )
    for moment in rng.uniform(span.start, span.end, int(rng.poisson(0.2 * span.seconds / 86400))):
        host.logon(moment, moment + rng.uniform(600, 2400), "itadmin", "pts/0", "172.16.0.20")
        host.spawn(moment, "/usr/sbin/sshd", "sshd: itadmin [priv]", 0, "sshd", "ssh")
        admin = linux_uid("itadmin")
        host.spawn(moment + 2, "/bin/bash", "-bash", admin, "ssh", cwd="/home/itadmin")


@sources.register("endpoint")
class EndpointSource(JsonLinesSource):
    name: ClassVar[str] = "endpoint"
    path: ClassVar[str] = "endpoint/osquery.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("endpoint", store.uid)
        hosts = [Host(asset, rng) for asset in world.assets(store, *HOSTS)]
        for host in hosts:
            if host.asset.kind in TILL_APP:
                _till(host, world, store)
            elif host.asset.kind == AssetKind.WORKSTATION:
                _office(host, world, store)
            else:
                _server(host, world, store)
        return render(world, store.uid, hosts)
