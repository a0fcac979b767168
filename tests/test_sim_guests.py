"""Guest and staff Wi-Fi agree across RADIUS, conn.log and dns.log (`vigil.sim.guests`)."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigil.estate import Store
from vigil.sim import World, generate_estate, simulate
from vigil.sim.guests import CLOSING, DHCP_FIRST, DHCP_LAST, guest_visits, vacant_ips
from vigil.sim.shifts import roster
from vigil.sim.sources.wifi import GIGAWORD, SSIDS

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 03:00 in New York
MARGIN = 3 * 60
"""Seconds a staff phone may stay associated after the shift ends (walking out)."""
FILES = ("zeek/conn.log", "zeek/dns.log", "wifi/radius-detail.log")


def _world(seed: int = 3, stores: int = 2) -> World:
    return World(generate_estate(stores, seed=3), START, days=1, seed=seed)


@pytest.fixture(scope="module")
def world() -> World:
    return _world()


@pytest.fixture(scope="module")
def run(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guests")
    simulate(world, [], out)
    return out


def _zeek(path: Path) -> pl.DataFrame:
    """A Zeek TSV log with its own #fields names; times as epoch seconds."""
    with path.open(encoding="utf-8") as handle:
        fields = next(line for line in handle if line.startswith("#fields")).split("\t")[1:]
    return pl.read_csv(
        path,
        separator="\t",
        comment_prefix="#",
        has_header=False,
        new_columns=[name.strip() for name in fields],
        infer_schema_length=0,
        quote_char=None,
    ).with_columns(pl.col("ts").cast(pl.Float64))


def _radius(path: Path) -> pl.DataFrame:
    """One row per detail record: the attributes the tests read."""
    rows = []
    for chunk in path.read_text(encoding="utf-8").rstrip("\n").split("\n\n"):
        _, *lines = chunk.split("\n")
        record = dict(line.removeprefix("\t").partition(" = ")[::2] for line in lines)
        record = {name: value.strip('"') for name, value in record.items()}
        for direction in ("Input", "Output"):
            record[direction] = str(
                int(record.get(f"Acct-{direction}-Gigawords", "0")) * GIGAWORD
                + int(record.get(f"Acct-{direction}-Octets", "0"))
            )
        rows.append(record)
    return pl.DataFrame(rows).select(
        ts=pl.col("Timestamp").cast(pl.Int64),
        status=pl.col("Acct-Status-Type"),
        session=pl.col("Acct-Session-Id"),
        user=pl.col("User-Name"),
        mac=pl.col("Calling-Station-Id"),
        ip=pl.col("Framed-IP-Address"),
        nas=pl.col("NAS-IP-Address"),
        ssid=pl.col("Called-Station-Id").str.split(":").list.last(),
        input=pl.col("Input").cast(pl.Int64),
        output=pl.col("Output").cast(pl.Int64),
    )


def _sessions(records: pl.DataFrame, ssid: str, world: World) -> pl.DataFrame:
    """Sessions from their records; a session still open at the end of the run stops there."""
    return (
        records.filter(pl.col("ssid") == SSIDS[ssid])
        .group_by("session")
        .agg(
            pl.col("user", "mac", "ip", "nas").first(),
            start=pl.col("ts").filter(pl.col("status") == "Start").first(),
            first=pl.col("ts").min(),
            stop=pl.col("ts").filter(pl.col("status") == "Stop").first(),
            output=pl.col("output").filter(pl.col("status") == "Stop").first(),
            input=pl.col("input").filter(pl.col("status") == "Stop").first(),
        )
        .with_columns(end=pl.col("stop").fill_null(int(world.span.end)))
    )


@pytest.fixture(scope="module")
def records(run: Path) -> pl.DataFrame:
    return _radius(run / "wifi" / "radius-detail.log")


@pytest.fixture(scope="module")
def guests(records: pl.DataFrame, world: World) -> pl.DataFrame:
    return _sessions(records, "guest", world)


def _on_guest_wifi(world: World) -> pl.Expr:
    nets = [
        str(guest.network.network_address).rsplit(".", 1)[0] + "."
        for store in world.estate.stores
        if (guest := store.segment("guest")) is not None
    ]
    return pl.any_horizontal(pl.col("id.orig_h").str.starts_with(net) for net in nets)


def _holder(rows: pl.DataFrame, sessions: pl.DataFrame) -> pl.DataFrame:
    """Each row with the guest session that held its source address last started before it."""
    asked = rows.with_columns(second=pl.col("ts").floor().cast(pl.Int64)).sort("second")
    held = sessions.filter(pl.col("start").is_not_null()).sort("start")
    return asked.join_asof(
        held, left_on="second", right_on="start", by_left="id.orig_h", by_right="ip"
    )


@pytest.mark.parametrize("log", ["conn", "dns"])
def test_guest_rows_come_from_the_session_holding_their_address(
    log: str, run: Path, world: World, guests: pl.DataFrame
) -> None:
    rows = _zeek(run / "zeek" / f"{log}.log").filter(_on_guest_wifi(world))
    assert rows.height > 2_000
    matched = _holder(rows, guests)
    stray = matched.filter(pl.col("start").is_null() | (pl.col("second") > pl.col("end")))
    assert stray.is_empty(), stray.head()
    # and every phone that came and went did something while it was there
    finished = guests.filter(pl.col("start").is_not_null() & pl.col("stop").is_not_null())
    active = matched.select("session").unique()
    assert finished.join(active, on="session", how="anti").is_empty()


def test_overlapping_guest_sessions_never_share_an_address(
    guests: pl.DataFrame, world: World
) -> None:
    assert guests.height > 300
    stores = {a.ip: s for s in world.estate.stores for a in s.assets}
    for nas, ip in guests.select("nas", "ip").unique().iter_rows():
        network = stores[nas].segment("guest")
        assert network is not None
        host = int(ipaddress.ip_address(ip)) - int(network.network.network_address)
        assert DHCP_FIRST <= host <= DHCP_LAST
    reuse = (
        guests.sort("first")
        .with_columns(previous=pl.col("end").shift(1).over("ip"))
        .filter(pl.col("first") <= pl.col("previous"))
    )
    assert reuse.is_empty(), reuse.head()
    assert guests["ip"].n_unique() < guests.height  # addresses are reused once leases end
    assert guests["mac"].n_unique() == guests.height
    assert (guests["user"] == guests["mac"]).all()


def test_radius_octets_are_the_flows_plus_headers(
    run: Path, world: World, guests: pl.DataFrame
) -> None:
    flows = _zeek(run / "zeek" / "conn.log").filter(_on_guest_wifi(world))
    totals = (
        _holder(flows, guests)
        .group_by("session")
        .agg(
            sent=pl.col("orig_bytes").cast(pl.Int64).sum(),
            received=pl.col("resp_bytes").cast(pl.Int64).sum(),
        )
        .join(guests.filter(pl.col("stop").is_not_null()), on="session")
        .filter(pl.col("received") > 1_000_000)
    )
    assert totals.height > 100
    # each direction: its payload, plus headers of a few per cent of all the packets
    headers = 0.04 * (totals["sent"] + totals["received"])
    for octets, payload in (("output", "received"), ("input", "sent")):
        extra = totals[octets] - totals[payload]
        assert (extra > 0).all()
        assert (extra < headers).all()
    assert float((totals["output"] / totals["received"]).median() or 0) == pytest.approx(
        1.035, abs=0.005
    )


def _shifts(world: World, store: Store) -> dict[str, list[tuple[float, float]]]:
    shifts: dict[str, list[tuple[float, float]]] = {}
    for shift in roster(world, store):
        shifts.setdefault(shift.person.username, []).append((shift.start, shift.end))
    return shifts


def test_staff_wifi_follows_the_roster(records: pl.DataFrame, world: World) -> None:
    staff = records.filter(pl.col("ssid") == SSIDS["staff"])
    sessions = _sessions(records, "staff", world)
    assert sessions.height > 20
    for store in world.estate.stores:
        aps = [a.ip for a in store.assets]
        shifts = _shifts(world, store)
        mine = staff.filter(pl.col("nas").is_in(aps))
        assert set(mine["user"]) <= set(shifts)
        assert len(set(mine["user"])) > 3
        for user, moment in mine.select("user", "ts").iter_rows():
            assert any(start <= moment <= end + MARGIN for start, end in shifts[user]), user
        joined = sessions.filter(pl.col("nas").is_in(aps))
        for user, begins in _shifts(world, store).items():
            for start, end in begins:
                if start < world.span.start or end > world.span.end:
                    continue
                theirs = joined.filter(
                    (pl.col("user") == user) & pl.col("first").is_between(start, end + MARGIN)
                )
                assert float(theirs["start"].min() or 0) - start <= 5 * 60  # badge-in
                assert end - 60 <= float(theirs["stop"].max() or 0) <= end + MARGIN


def test_some_staff_leave_the_wifi_on_their_break(records: pl.DataFrame, world: World) -> None:
    staff = records.filter(pl.col("ssid") == SSIDS["staff"])
    away = 0
    for store in world.estate.stores:
        for shift in roster(world, store):
            if shift.rest is None or not world.span.start < shift.rest.start < world.span.end:
                continue
            middle = staff.filter(
                (pl.col("user") == shift.person.username)
                & pl.col("ts").is_between(shift.rest.start + 240, shift.rest.end - 240)
            )
            away += middle.is_empty()
    assert away > 0


def test_guest_visits_model(world: World) -> None:
    store = world.estate.stores[0]
    visits = guest_visits(world, store)
    assert len(visits) > 200
    assert (np.diff(visits.starts) >= 0).all()
    seconds = visits.seconds
    assert (seconds >= 1).all()
    assert np.allclose(seconds, np.round(seconds))
    assert 10 * 60 < float(np.median(seconds)) < 20 * 60
    assert (visits.leased_until >= visits.ends).all()
    spans = world.trading(store)
    for visit in visits:
        assert any(s.start <= visit.start < s.end and visit.end <= s.end + CLOSING for s in spans)
        assert visit.received > visit.sent > 0
    for ip in set(visits.ips.tolist()):
        mine = np.flatnonzero(visits.ips == ip)
        assert (visits.starts[mine[1:]] >= visits.leased_until[mine[:-1]]).all()
    moment = float(visits.starts[len(visits) // 2])
    free = vacant_ips(world, store, moment, moment + 3600)
    busy = (visits.starts < moment + 3600) & (visits.leased_until > moment)
    assert len(free) > 0
    assert not set(free.tolist()) & set(visits.ips[busy].tolist())


def test_a_stores_guests_do_not_depend_on_the_others(world: World) -> None:
    alone = _world(stores=1)
    store = alone.estate.stores[0]
    mine, shared = guest_visits(alone, store), guest_visits(world, store)
    assert list(mine) == list(shared)
    assert list(guest_visits(_world(seed=4), store)) != list(shared)


def _digest(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def test_same_seed_same_bytes(run: Path, tmp_path: Path) -> None:
    simulate(_world(), [], tmp_path)
    assert _digest(tmp_path) == _digest(run)
