from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigil.estate.checks import CHECKS
from vigil.sim import ScenarioParams, SimError, World, generate_estate, scenarios, simulate
from vigil.sim.sources.network import ZeekConnSource

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 03:00 in New York


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate_estate(4, seed=3), START, days=2, seed=3)


@pytest.fixture(scope="module")
def run(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate(world, [scenarios.get(name)() for name in scenarios.names()], out)
    return out


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_generated_estate_is_valid_and_sized() -> None:
    estate = generate_estate(300, seed=1)
    assert len(estate.stores) == 300
    assert [finding for check in CHECKS for finding in check(estate)] == []
    assert len({store.uid for store in estate.stores}) == 300


def test_same_seed_same_bytes(world: World, run: Path, tmp_path: Path) -> None:
    again = World(generate_estate(4, seed=3), START, days=2, seed=3)
    simulate(again, [scenarios.get(name)() for name in scenarios.names()], tmp_path)
    assert _digest(tmp_path) == _digest(run)
    other = World(generate_estate(4, seed=3), START, days=2, seed=4)
    simulate(other, [], tmp_path / "other")
    assert _digest(tmp_path / "other")["zeek/conn.log"] != _digest(run)["zeek/conn.log"]


def _pos(run: Path) -> pl.DataFrame:
    return pl.read_ndjson(run / "pos" / "transactions.jsonl", infer_schema_length=None)


def test_sales_follow_opening_hours(world: World, run: Path) -> None:
    truth_windows = [json.loads(line) for line in (run / "truth.jsonl").read_text().splitlines()]
    injected = {e for t in truth_windows for e in t["entities"].get("cashier", [])}
    pos = _pos(run).filter(~pl.col("cashier").is_in(list(injected)))
    for row in pos.select("ts", "store").iter_rows():
        moment = datetime.fromisoformat(row[0].replace("Z", "+00:00"))
        assert world.estate.is_open(world.estate.store(row[1]), moment)


def test_exception_rates_are_realistic(run: Path) -> None:
    pos = _pos(run)
    share = pos["type"].value_counts(normalize=True)
    rate = dict(zip(share["type"], share["proportion"], strict=True))
    assert 0.90 < rate["sale"] < 0.99
    assert 0.005 < rate["refund"] < 0.03
    assert rate.get("no_sale", 0) < 0.02
    refunds = pos.filter(pl.col("type") == "refund")
    without_receipt = refunds["orig_receipt"].null_count() / refunds.height
    assert 0.02 < without_receipt < 0.4


def test_device_traffic_is_periodic(run: Path, world: World) -> None:
    conn = pl.read_csv(
        run / "zeek" / "conn.log",
        separator="\t",
        comment_prefix="#",
        has_header=False,
        new_columns=[name for name in ZeekConnSource.schema if name != "store"],
    )
    camera = next(a for a in world.estate.stores[0].assets if a.kind == "camera")
    ntp = conn.filter((pl.col("orig_h") == camera.ip) & (pl.col("service") == "ntp"))[
        "ts"
    ].to_numpy()
    gaps = np.diff(ntp)
    assert len(gaps) > 100
    assert abs(float(np.median(gaps)) - 1024) < 30


def test_every_scenario_is_in_the_telemetry_where_truth_says(run: Path) -> None:
    records = [json.loads(line) for line in (run / "truth.jsonl").read_text().splitlines()]
    assert sorted(r["scenario"] for r in records) == scenarios.names()
    manifest = json.loads((run / "manifest.json").read_text())
    files = {name: spec["path"] for name, spec in manifest["sources"].items()}
    for record in records:
        start = datetime.fromisoformat(record["start"].replace("Z", "+00:00")).timestamp()
        end = datetime.fromisoformat(record["end"].replace("Z", "+00:00")).timestamp()
        for source in record["sources"]:
            text = (run / files[source]).read_text()
            entities = record["entities"]
            if source == "pos":
                needles = entities["cashier"]
            else:
                needles = entities.get("ip") or entities.get("user") or entities["session"]
            units = text.split("\n\n") if source == "radius" else text.splitlines()
            hits = [
                line
                for line in units
                if any(n in line for n in needles) and not line.startswith("#")
            ]
            times = [_line_time(line, source) for line in hits]
            inside = [
                t for t in times if start - 1 <= t <= end + 1
            ]  # some formats keep whole seconds
            assert inside, (
                f"{record['uid']}: nothing in {source} between {record['start']} and {record['end']}"
            )


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _line_time(line: str, source: str) -> float:
    if source.startswith("zeek_"):
        return float(line.split("\t", 1)[0])
    if source == "radius":
        return float(line.rsplit("Timestamp = ", 1)[1].split("\n", 1)[0])
    if source == "netflow":
        stamp = line.split(",", 1)[0]
        return datetime.strptime(stamp + "+0000", "%Y-%m-%d %H:%M:%S.%f%z").timestamp()
    if source == "firewall":
        date, time = line.split("date=", 1)[1].split(" time=", 1)
        return datetime.fromisoformat(f"{date}T{time[:8]}+00:00").timestamp()
    if source == "web":
        stamp = line.split("[", 1)[1].split("]", 1)[0]
        return datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    record = json.loads(line)
    stamp = record.get("ts") or record["published"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_malware_beacons_every_minute_to_one_host(run: Path) -> None:
    records = [json.loads(text) for text in (run / "truth.jsonl").read_text().splitlines()]
    record = next(r for r in records if r["scenario"] == "pos_malware")
    terminal_ip, c2 = record["entities"]["ip"]
    times = [
        float(line.split("\t", 1)[0])
        for line in (run / "zeek" / "conn.log").read_text().splitlines()
        if f"\t{terminal_ip}\t" in line and f"\t{c2}\t" in line
    ]
    gaps = np.diff(sorted(times))
    assert len(times) > 60
    assert abs(float(np.median(gaps)) - 60) < 5


def test_scenario_bad_store_is_a_clear_error(world: World, tmp_path: Path) -> None:
    with pytest.raises(SimError, match="no store '999'"):
        simulate(world, [scenarios.get("pos_malware")(ScenarioParams(store="999"))], tmp_path)


def test_repeated_instances_strike_apart_with_their_own_truth(world: World, tmp_path: Path) -> None:
    chosen = [scenarios.get("card_testing")(ScenarioParams(instance=i)) for i in range(3)]
    truth = simulate(world, chosen, tmp_path).truth
    assert len({record.uid for record in truth}) == 3
    assert {record.uid.rsplit("#", 1)[-1] for record in truth if "#" in record.uid} == {"1", "2"}
    assert len({record.start for record in truth}) == 3  # each draws its own moment


def test_zeek_header_declares_the_fields(run: Path) -> None:
    header = [
        line
        for line in (run / "zeek" / "conn.log").read_text().splitlines()[:10]
        if line.startswith("#fields")
    ]
    assert header == [
        "#fields\t"
        + "\t".join(
            (
                "ts",
                "uid",
                "id.orig_h",
                "id.orig_p",
                "id.resp_h",
                "id.resp_p",
                "proto",
                "service",
                "duration",
                "orig_bytes",
                "resp_bytes",
                "conn_state",
                "orig_pkts",
                "resp_pkts",
            )
        )
    ]
    assert set(ZeekConnSource.schema) >= {"ts", "store"}


def test_web_attacks_stand_out_by_status(run: Path) -> None:
    log = (run / "web" / "access.log").read_text().splitlines()
    records = {
        r["scenario"]: r for r in map(json.loads, (run / "truth.jsonl").read_text().splitlines())
    }
    stuffing = records["credential_stuffing"]
    stuffing_ips = set(stuffing["entities"]["ip"])
    window = (_seconds(stuffing["start"]), _seconds(stuffing["end"]))
    failures = [
        line
        for line in log
        if "/account/login" in line
        and '" 401 ' in line
        and window[0] <= _line_time(line, "web") <= window[1]
    ]
    by_bots = [line for line in failures if line.split(" ", 1)[0] in stuffing_ips]
    assert len(by_bots) > 0.9 * len(failures)
    declined = [line for line in log if "/api/payment/authorize" in line and '" 402 ' in line]
    testers = set(records["card_testing"]["entities"]["ip"])
    assert len([line for line in declined if line.split(" ", 1)[0] in testers]) > 300


def test_vendor_misuse_signs_in_from_a_new_country_then_probes_pos(run: Path) -> None:
    records = {
        r["scenario"]: r for r in map(json.loads, (run / "truth.jsonl").read_text().splitlines())
    }
    misuse = records["vendor_misuse"]
    (user,) = misuse["entities"]["user"]
    signins = [
        json.loads(line) for line in (run / "identity" / "signin.jsonl").read_text().splitlines()
    ]
    theirs = [s for s in signins if s["actor"]["alternateId"] == user]
    countries = {s["client"]["geographicalContext"]["country"] for s in theirs}
    assert countries == {"US", "RO"} or countries == {"RO"}
    assert any(
        s["outcome"]["result"] == "SUCCESS" and s["authenticationContext"]["factor"] is None
        for s in theirs
    )
    pivot = misuse["entities"]["ip"][1]
    probes = [
        line
        for line in (run / "zeek" / "conn.log").read_text().splitlines()
        if line.split("\t")[2:3] == [pivot]
    ]
    assert {int(line.split("\t")[5]) for line in probes} >= {22, 445, 3389}


def test_scan_avoidance_sessions_look_unlike_honest_ones(run: Path) -> None:
    sessions = pl.read_ndjson(run / "sco" / "sessions.jsonl")
    records = {
        r["scenario"]: r for r in map(json.loads, (run / "truth.jsonl").read_text().splitlines())
    }
    fraud = set(records["sco_scan_avoidance"]["entities"]["session"])
    flagged = sessions.with_columns(fraud=pl.col("session").is_in(list(fraud)))
    honest = flagged.filter(~pl.col("fraud"))
    assert honest.height > 200
    assert honest["scans_without_registration"].mean() < 1.0
    assert flagged.filter(pl.col("fraud"))["scans_without_registration"].min() >= 5
    assert 0.05 < honest.filter(pl.col("attendant_interventions") > 0).height / honest.height < 0.2


def test_a_scenario_erased_by_another_leaves_no_ground_truth(tmp_path: Path) -> None:
    """An intrusion at 01:00 in a store that only opens later never happened: no truth for it."""
    world = World(generate_estate(1, seed=5), START, days=1, seed=5)
    store = world.estate.stores[0].uid
    chosen = [
        scenarios.get("store_opening")(ScenarioParams(store=store)),
        scenarios.get("insider_after_hours")(ScenarioParams(store=store, at_hours=1)),
        scenarios.get("card_testing")(),  # the web shop is not the store: untouched
    ]
    result = simulate(world, chosen, tmp_path / "opening")
    assert sorted(record.scenario for record in result.truth) == ["card_testing", "store_opening"]
    without = simulate(world, chosen[1:], tmp_path / "open")  # the control: it does happen
    assert sorted(record.scenario for record in without.truth) == [
        "card_testing",
        "insider_after_hours",
    ]
