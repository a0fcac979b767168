from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from vigil.sim import World, generate_estate, scenarios, simulate
from vigil.sim.sources.netflow import HEADER, SHOP_ADDRESS
from vigil.sim.sources.network import ZeekConnSource, wan_address

BLACK_FRIDAY = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
CHOSEN = ("pos_malware", "vendor_misuse", "ddos", "flash_sale")


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate_estate(3, seed=11), BLACK_FRIDAY, days=1, seed=11)


@pytest.fixture(scope="module")
def run(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("net")
    simulate(world, [scenarios.get(name)() for name in CHOSEN], out)
    return out


@pytest.fixture(scope="module")
def truth(run: Path) -> dict[str, dict[str, object]]:
    records = map(json.loads, (run / "truth.jsonl").read_text().splitlines())
    return {record["scenario"]: record for record in records}


def _seconds(stamp: object) -> float:
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def _firewall(run: Path) -> pl.DataFrame:
    rows = []
    for line in (run / "firewall" / "fortigate.log").read_text().splitlines():
        assert line.startswith("<189>date=")
        pairs = (token.partition("=") for token in line[5:].split(" "))
        rows.append({key: value.strip('"') for key, _, value in pairs})
    return pl.DataFrame(rows, infer_schema_length=None)


def _conn(run: Path) -> pl.DataFrame:
    return pl.read_csv(
        run / "zeek" / "conn.log",
        separator="\t",
        comment_prefix="#",
        has_header=False,
        new_columns=[name for name in ZeekConnSource.schema if name != "store"],
        schema_overrides={"orig_p": pl.String, "resp_p": pl.String},
    )


def _netflow(run: Path) -> pl.DataFrame:
    return pl.read_csv(run / "netflow" / "flows.csv", infer_schema_length=None)


def test_firewall_logs_only_flows_zeek_saw_crossing_a_boundary(run: Path, world: World) -> None:
    firewall = _firewall(run)
    forward = firewall.filter(pl.col("subtype") == "forward")
    assert forward.height > 10_000
    assert (forward["srcintf"] != forward["dstintf"]).all()
    key = ["orig_h", "orig_p", "resp_h", "resp_p"]
    conn = _conn(run).select(key).unique()
    seen = forward.select(orig_h="srcip", orig_p="srcport", resp_h="dstip", resp_p="dstport").join(
        conn, on=key, how="anti"
    )
    assert seen.height == 0
    # Camera-to-recorder video stays inside the IoT segment and never reaches the firewall.
    camera = next(a for a in world.estate.stores[0].assets if a.kind == "camera")
    assert forward.filter((pl.col("srcip") == camera.ip) & (pl.col("dstport") == "554")).is_empty()


def test_firewall_sees_the_scenarios(run: Path, truth: dict[str, dict[str, object]]) -> None:
    firewall = _firewall(run)
    malware = truth["pos_malware"]["entities"]
    assert isinstance(malware, dict)
    terminal, c2 = malware["ip"]
    beacons = firewall.filter((pl.col("srcip") == terminal) & (pl.col("dstip") == c2))
    assert beacons.height > 60
    assert set(beacons["dstintf"]) == {"wan1"}
    assert set(beacons["action"]) == {"close"}
    vendor = truth["vendor_misuse"]["entities"]
    assert isinstance(vendor, dict)
    probes = firewall.filter(pl.col("srcip") == vendor["ip"][1])
    assert set(probes["action"]) == {"deny"}
    assert set(probes["policyid"]) == {"0"}
    assert set(probes["srcintf"]) == {"vendor"}


def test_internet_noise_is_denied_at_the_wan_address(run: Path, world: World) -> None:
    local = _firewall(run).filter(pl.col("subtype") == "local")
    for store in world.estate.stores:
        mine = local.filter(pl.col("dstip") == wan_address(world, store))
        assert 500 < mine.height < 1500  # about 40 an hour
        assert set(mine["action"]) == {"deny"}


def test_netflow_is_nfdump_csv_with_both_directions(run: Path) -> None:
    lines = (run / "netflow" / "flows.csv").read_text().splitlines()
    assert lines[0] == HEADER
    width = len(HEADER.split(","))
    assert all(len(line.split(",")) == width for line in lines[1:1000])
    flows = _netflow(run)
    conn = _conn(run)
    ntp = conn.filter(pl.col("service") == "ntp").row(0, named=True)
    pair = flows.filter(
        ((pl.col("sa") == ntp["orig_h"]) & (pl.col("da") == ntp["resp_h"]))
        | ((pl.col("sa") == ntp["resp_h"]) & (pl.col("da") == ntp["orig_h"]))
    )
    assert pair.height >= 2
    assert flows.filter(pl.col("td") < 0).is_empty()


def test_ddos_floods_the_shop_and_the_flash_sale_does_not(
    run: Path, truth: dict[str, dict[str, object]]
) -> None:
    flows = _netflow(run).with_columns(
        minute=pl.col("ts").str.to_datetime("%Y-%m-%d %H:%M:%S%.3f").dt.truncate("1m")
    )
    inbound = (
        flows.filter(pl.col("da") == SHOP_ADDRESS)
        .group_by("minute")
        .agg(pl.col("ibyt").sum())
        .sort("minute")
    )
    attack = truth["ddos"]
    start, end = _seconds(attack["start"]), _seconds(attack["end"])
    during = inbound.filter(pl.col("minute").dt.epoch("s").is_between(start, end - 60))[
        "ibyt"
    ].median()
    before = inbound.filter(pl.col("minute").dt.epoch("s") < start - 3600)["ibyt"].median()
    assert isinstance(during, float)
    assert isinstance(before, float)
    assert during > 1000 * before
    log = (run / "web" / "access.log").read_text().splitlines()
    statuses = [line.split('" ', 1)[1].split(" ", 1)[0] for line in log]
    times = [
        datetime.strptime(
            line.split("[", 1)[1].split("]", 1)[0], "%d/%b/%Y:%H:%M:%S %z"
        ).timestamp()
        for line in log
    ]
    sale = truth["flash_sale"]
    assert sale["label"] == "benign"
    in_sale = [
        s
        for s, t in zip(statuses, times, strict=True)
        if _seconds(sale["start"]) <= t <= _seconds(sale["end"]) and not start <= t <= end
    ]
    in_attack = [s for s, t in zip(statuses, times, strict=True) if start <= t <= end]
    assert len(in_sale) > 2_000
    assert in_sale.count("503") / len(in_sale) < 0.01
    assert in_attack.count("503") / len(in_attack) > 0.3  # shoppers may share the window


def test_peak_load_lands_on_black_friday_evening(truth: dict[str, dict[str, object]]) -> None:
    for name in ("ddos", "flash_sale"):
        start = datetime.fromtimestamp(_seconds(truth[name]["start"]), UTC)
        central = (start.hour - 6) % 24
        assert 19 <= central <= 21, name


def test_peak_load_falls_back_to_an_evening_of_the_week_before_the_peak() -> None:
    week_before = World(generate_estate(2, seed=11), datetime(2026, 11, 23, 8, tzinfo=UTC), 2, 11)
    for name in ("ddos", "flash_sale"):
        (record,) = scenarios.get(name)().inject(week_before).truth
        start = datetime.fromtimestamp(record.start, UTC)
        assert 19 <= (start.hour - 6) % 24 <= 21, name
        assert start.date() < datetime(2026, 11, 27, tzinfo=UTC).date()
