from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim import Source, World, generate_estate, simulate
from vigil.sim.sources.dns import ZeekDnsSource, dga_names, guest_resolver, resolver
from vigil.sim.sources.wifi import GIGAWORD, SSIDS, RadiusSource

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 03:00 in New York
MAC = re.compile(r"^([0-9A-F]{2}-){5}[0-9A-F]{2}$")
Record = dict[str, str]


def _world(seed: int = 3, stores: int = 2) -> World:
    return World(generate_estate(stores, seed=3), START, days=1, seed=seed)


@pytest.fixture(scope="module")
def world() -> World:
    return _world()


def _text(source: Source, world: World, injected: pl.DataFrame | None = None) -> str:
    """The file the runner writes for `source`: clipped, sorted, header, body, footer."""
    span = world.span
    frames = [
        source.generate(world, store).filter(
            (pl.col("ts") >= span.start) & (pl.col("ts") < span.end)
        )
        for store in world.estate.stores
    ]
    frame = pl.concat([*frames, *([injected] if injected is not None else [])])
    body = "\n".join(source.render(frame.sort("ts", maintain_order=True)).to_list())
    return source.header(world) + body + ("\n" if body else "") + source.footer(world)


def _dns(text: str) -> pl.DataFrame:
    fields = next(line for line in text.splitlines() if line.startswith("#fields")).split("\t")[1:]
    return pl.read_csv(
        text.encode(),
        separator="\t",
        comment_prefix="#",
        has_header=False,
        new_columns=fields,
        infer_schema_length=None,
        quote_char=None,
    )


def _radius(text: str) -> list[Record]:
    """Records of a detail file as attribute dicts; the stamp line under `_stamp`."""
    records = []
    for chunk in text.rstrip("\n").split("\n\n"):
        stamp, *lines = chunk.split("\n")
        record = {"_stamp": stamp}
        for line in lines:
            name, _, value = line.removeprefix("\t").partition(" = ")
            record[name] = value.strip('"')
        records.append(record)
    return records


def _octets(record: Record, direction: str) -> int:
    return int(record[f"Acct-{direction}-Gigawords"]) * GIGAWORD + int(
        record[f"Acct-{direction}-Octets"]
    )


@pytest.fixture(scope="module")
def dns(world: World) -> pl.DataFrame:
    return _dns(_text(ZeekDnsSource(), world))


@pytest.fixture(scope="module")
def radius(world: World) -> list[Record]:
    return _radius(_text(RadiusSource(), world))


def test_dns_log_declares_its_fields_and_every_row_has_them(world: World) -> None:
    lines = _text(ZeekDnsSource(), world).splitlines()
    header = {line.split("\t", 1)[0]: line.split("\t")[1:] for line in lines if line[0] == "#"}
    assert header["#path"] == ["dns"]
    assert header["#fields"][:3] == ["ts", "uid", "id.orig_h"]
    assert header["#fields"][-3:] == ["answers", "TTLs", "rejected"]
    assert len(header["#types"]) == len(header["#fields"]) == 24
    rows = [line for line in lines if not line.startswith("#")]
    assert len(rows) > 10_000
    assert {len(row.split("\t")) for row in rows} == {24}
    assert lines[-1].startswith("#close\t")


def test_dns_rows_parse_as_their_zeek_types(dns: pl.DataFrame) -> None:
    assert dns["ts"].dtype == pl.Float64
    assert dns["id.resp_p"].unique().to_list() == [53]
    assert dns["id.orig_p"].is_between(1024, 65535).all()
    assert dns["trans_id"].is_between(0, 65535).all()
    codes = dns.select("qtype", "qtype_name").unique().sort("qtype").rows()
    assert codes == [(1, "A"), (28, "AAAA"), (65, "HTTPS")]
    rcodes = dns.select("rcode", "rcode_name").unique().sort("rcode").rows()
    assert rcodes == [(0, "NOERROR"), (3, "NXDOMAIN")]
    for flag in ("AA", "TC", "RD", "RA", "rejected"):
        assert set(dns[flag].unique()) <= {"T", "F"}
    answered = dns.filter(pl.col("answers") != "-")
    answers = answered["answers"].str.split(",").list.len()
    ttls = answered["TTLs"].str.split(",")
    assert (answers == ttls.list.len()).all()
    seconds = ttls.explode()
    assert seconds.str.ends_with(".000000").all()
    assert (seconds.cast(pl.Float64) >= 1).all()
    assert (dns.filter(pl.col("rcode_name") == "NXDOMAIN")["answers"] == "-").all()


def test_dns_mix_is_realistic(dns: pl.DataFrame) -> None:
    nxdomain = (dns["rcode_name"] == "NXDOMAIN").mean()
    assert nxdomain is not None
    assert 0.01 < float(nxdomain) < 0.08
    share = dict(dns["qtype_name"].value_counts(normalize=True).iter_rows())
    assert share["A"] > 0.5
    assert 0.05 < share["AAAA"] < 0.4
    assert 0.01 < share["HTTPS"] < 0.2
    rtt = dns["rtt"].cast(pl.Float64)
    assert 0.0001 < float(rtt.median() or 0) < 0.01 < float(rtt.quantile(0.95) or 0) < 0.5


def test_store_devices_ask_the_store_server(world: World, dns: pl.DataFrame) -> None:
    store = world.estate.stores[0]
    server = next(a for a in store.assets if a.kind == AssetKind.SERVER)
    assert resolver(store) == server.ip
    tills = [a.ip for a in world.assets(store, AssetKind.POS_TERMINAL, AssetKind.SELF_CHECKOUT)]
    asked = dns.filter(pl.col("id.orig_h").is_in(tills))
    assert set(asked["id.resp_h"]) == {server.ip}
    own = asked.filter(pl.col("query") == f"{server.uid}.northwind.internal")
    assert own.height > 100
    assert set(own["AA"]) == {"T"}
    assert set(own["answers"]) == {server.ip}
    camera = next(a for a in store.assets if a.kind == AssetKind.CAMERA)
    assert set(dns.filter(pl.col("id.orig_h") == camera.ip)["query"]) == {
        "pool.ntp.org",
        "cloud.axis.com",
    }


def _near(times: np.ndarray, spans: list[tuple[float, float]], margin: float) -> np.ndarray:
    return np.array([any(a - margin <= t < b + margin for a, b in spans) for t in times])


def test_guest_dns_follows_opening_hours(world: World, dns: pl.DataFrame) -> None:
    for store in world.estate.stores:
        guest = store.segment("guest")
        assert guest is not None
        rows = dns.filter(pl.col("id.resp_h") == guest_resolver(store))
        assert all(ipaddress.ip_address(ip) in guest.network for ip in rows["id.orig_h"])
        spans = [(s.start, s.end) for s in world.trading(store)]
        assert spans
        times = rows["ts"].to_numpy()
        trading = _near(times, spans, 0)
        assert trading.sum() > 2_000
        assert trading.mean() > 0.95  # the rest: phones still looking things up after closing
        assert (~_near(times, spans, 2 * 3600)).sum() == 0


def test_lookups_helper_writes_c2_and_dga_rows(world: World) -> None:
    store: Store = world.estate.stores[0]
    rng = np.random.default_rng(5)
    camera = next(a for a in store.assets if a.kind == AssetKind.CAMERA)
    t0 = world.span.start + 3600
    c2 = ZeekDnsSource.lookups(
        rng,
        store,
        t0 + 60.0 * np.arange(10),
        camera.ip or "",
        "upd.example.top",
        answers=["203.0.113.9"],
        ttl=60,
    )
    names = dga_names(rng, 50)
    assert all(re.fullmatch(r"[a-z]{10,16}\.com", name) for name in names)
    assert len(set(names)) == 50
    guest = store.segment("guest")
    assert guest is not None
    phone = str(guest.network.network_address + 40)
    dga = ZeekDnsSource.lookups(
        rng, store, t0 + np.arange(50) * 0.5, phone, names, rcode="NXDOMAIN"
    )
    rows = _dns(_text(ZeekDnsSource(), world, pl.concat([c2, dga])))
    beacons = rows.filter(pl.col("query") == "upd.example.top")
    assert beacons.height == 10
    assert set(beacons["id.orig_h"]) == {camera.ip}
    assert set(beacons["id.resp_h"]) == {resolver(store)}
    assert set(beacons["answers"]) == {"203.0.113.9"}
    assert beacons["TTLs"].cast(pl.Float64).is_between(1, 60).all()
    burst = rows.filter(pl.col("query").is_in(names))
    assert burst.height == 50
    assert set(burst["rcode"]) == {3}
    assert set(burst["answers"]) == {"-"}
    assert set(burst["id.resp_h"]) == {guest_resolver(store)}


def test_radius_records_parse_into_attributes(world: World, radius: list[Record]) -> None:
    assert len(radius) > 1_000
    for record in radius:
        stamp = datetime.strptime(record["_stamp"], "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
        assert stamp.timestamp() == int(record["Timestamp"])
        event = datetime.strptime(record["Event-Timestamp"], "%b %d %Y %H:%M:%S UTC")
        assert event.replace(tzinfo=UTC) == stamp
        assert world.span.start <= stamp.timestamp() < world.span.end
        assert record["Acct-Status-Type"] in {"Start", "Interim-Update", "Stop"}
        assert record["NAS-Port-Type"] == "Wireless-802.11"
        assert ipaddress.ip_address(record["NAS-IP-Address"])
        assert ipaddress.ip_address(record["Framed-IP-Address"])
        has_counters = record["Acct-Status-Type"] != "Start"
        assert ("Acct-Session-Time" in record) == has_counters
        assert ("Acct-Output-Octets" in record) == has_counters
        assert ("Acct-Terminate-Cause" in record) == (record["Acct-Status-Type"] == "Stop")


def test_every_session_starts_interims_and_stops(world: World, radius: list[Record]) -> None:
    sessions: dict[str, list[Record]] = defaultdict(list)
    for record in radius:
        sessions[record["Acct-Session-Id"]].append(record)
    assert len(sessions) > 300
    for records in sessions.values():
        kinds = [r["Acct-Status-Type"] for r in records]
        assert kinds[0] == "Start"
        assert kinds[-1] == "Stop"
        assert set(kinds[1:-1]) <= {"Interim-Update"}
        times = [int(r["Acct-Session-Time"]) for r in records[1:]]
        assert times[:-1] == [600 * (k + 1) for k in range(len(times) - 1)]
        assert times[-1] > (times[-2] if len(times) > 1 else 0)
        for direction in ("Input", "Output"):
            counters = [_octets(r, direction) for r in records[1:]]
            assert counters == sorted(counters)
        assert len({r["Acct-Unique-Session-Id"] for r in records}) == 1
        assert len({r["Calling-Station-Id"] for r in records}) == 1
    assert any(len(records) > 3 for records in sessions.values())


def test_guests_by_mac_and_staff_by_username(world: World, radius: list[Record]) -> None:
    usernames = {person.username for store in world.estate.stores for person in world.staff(store)}
    guest_ssid, staff_ssid = SSIDS["guest"], SSIDS["staff"]
    stops = [r for r in radius if r["Acct-Status-Type"] == "Stop"]
    guests = [r for r in stops if r["Called-Station-Id"].endswith(f":{guest_ssid}")]
    staff = [r for r in stops if r["Called-Station-Id"].endswith(f":{staff_ssid}")]
    assert len(guests) + len(staff) == len(stops)
    assert len(guests) > 200
    assert len(staff) > 10
    store_of = {a.ip: s for s in world.estate.stores for a in s.assets}
    for record in guests:
        assert MAC.match(record["Calling-Station-Id"])
        assert record["User-Name"] == record["Calling-Station-Id"]
        guest = store_of[record["NAS-IP-Address"]].segment("guest")
        assert guest is not None
        assert ipaddress.ip_address(record["Framed-IP-Address"]) in guest.network
    for record in staff:
        segment = store_of[record["NAS-IP-Address"]].segment("staff")
        assert segment is not None
        assert ipaddress.ip_address(record["Framed-IP-Address"]) in segment.network
    assert {r["User-Name"] for r in staff} <= usernames
    assert len({r["User-Name"] for r in staff}) > 5
    downloading = [r for r in guests if _octets(r, "Output") > _octets(r, "Input")]
    assert len(downloading) > 0.9 * len(guests)
    aps = {a.ip for store in world.estate.stores for a in store.assets if a.kind == "access_point"}
    assert {r["NAS-IP-Address"] for r in stops} <= aps
    for record in stops:
        bssid = record["Called-Station-Id"].split(":")[0]
        assert MAC.match(bssid)


def test_sessions_helper_writes_a_bandwidth_hog(world: World) -> None:
    store = world.estate.stores[1]
    start = world.trading(store)[0].start + 1800
    rows = RadiusSource.sessions(
        np.random.default_rng(9),
        store,
        [start],
        [3 * 3600],
        input_octets=[2e9],
        output_octets=[90e9],
    )
    records = _radius("\n".join(RadiusSource().render(rows).to_list()))
    assert [r["Acct-Status-Type"] for r in records] == ["Start"] + ["Interim-Update"] * 17 + [
        "Stop"
    ]
    stop = records[-1]
    assert stop["Acct-Output-Gigawords"] == str(90_000_000_000 // GIGAWORD)
    assert _octets(stop, "Output") == 90_000_000_000
    assert _octets(stop, "Input") == 2_000_000_000
    assert stop["Acct-Session-Time"] == str(3 * 3600)
    assert stop["Acct-Terminate-Cause"] == "User-Request"
    assert MAC.match(stop["User-Name"])
    guest = store.segment("guest")
    assert guest is not None
    assert ipaddress.ip_address(stop["Framed-IP-Address"]) in guest.network


@pytest.mark.parametrize("source", [ZeekDnsSource(), RadiusSource()], ids=lambda s: s.name)
def test_same_seed_same_output_other_seed_differs(source: Source) -> None:
    first = _text(source, _world(3))
    assert first == _text(source, _world(3))
    assert first != _text(source, _world(4))
    alone = _world(3, stores=1)  # a store's telemetry does not depend on the others
    store = alone.estate.stores[0]
    assert source.generate(alone, store).equals(source.generate(_world(3), store))


def test_simulate_writes_both_files(tmp_path: Path) -> None:
    result = simulate(_world(3), [], tmp_path)
    dns = (tmp_path / "zeek" / "dns.log").read_text()
    assert dns.startswith("#separator \\x09\n")
    assert dns.splitlines()[-1].startswith("#close\t")
    detail = (tmp_path / "wifi" / "radius-detail.log").read_text()
    assert detail.endswith("\n\n")
    assert detail.rstrip("\n").rsplit("\n", 1)[1].startswith("\tTimestamp = ")
    assert "\n\n\n" not in detail
    chunks = detail.rstrip("\n").split("\n\n")
    for chunk in chunks:
        stamp, *attributes = chunk.split("\n")
        datetime.strptime(stamp, "%a %b %d %H:%M:%S %Y")
        assert attributes
        assert all(line.startswith("\t") and " = " in line for line in attributes)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["sources"]["radius"]["events"] == len(chunks) == result.counts["radius"]
    rows = [line for line in dns.splitlines() if not line.startswith("#")]
    assert manifest["sources"]["zeek_dns"]["events"] == len(rows)
