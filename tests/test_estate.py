from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from vigil.estate import (
    EstateError,
    UnknownStoreError,
    load_estate,
    load_sample_estate,
    parse_estate,
    sample_estate_text,
)

MINIMAL = """\
version: 1
organisation: {uid: acme, name: Acme}
peaks:
  - {name: Black Friday, start: 2026-11-27, level: 3}
  - {name: Christmas Day, start: 2026-12-25, level: 0, closed: true}
regions:
  - uid: north
    name: North
    stores:
      - uid: "001"
        name: Leeds
        timezone: Europe/London
        opening_hours: {mon: "09:00-17:30", tue: "09:00-17:30", wed: "09:00-17:30",
                        thu: "09:00-17:30", fri: "09:00-22:00,22:30-02:00", sat: closed}
        zones: [{uid: till, name: Tills, kind: checkout}]
        segments: [{name: pos, kind: pos, cidr: 10.1.11.0/24}]
        assets:
          - {uid: s001-pos-1, name: Till 1, kind: pos_terminal, segment: pos, ip: 10.1.11.5, zone: till}
identities:
  - {uid: e1, name: Ann Lee, username: alee, kind: cashier, stores: ["001"], cashier_id: "101"}
"""


def test_sample_estate_is_realistic() -> None:
    estate = load_sample_estate()
    assert len(estate.regions) == 2
    assert len(estate.stores) == 4
    kinds = {asset.kind.value for _, asset in estate.assets}
    assert {"pos_terminal", "self_checkout", "camera", "access_point", "door_controller"} <= kinds
    segments = {segment.kind.value for store in estate.stores for segment in store.segments}
    assert {"cardholder_data", "pos", "iot", "guest_wifi", "corporate", "vendor"} <= segments
    assert any(identity.vendor is not None for identity in estate.identities)


def test_minimal_estate_loads() -> None:
    estate = parse_estate(MINIMAL, "acme.yaml")
    assert estate.store("001").name == "Leeds"
    assert estate.region_of("001").uid == "north"
    with pytest.raises(UnknownStoreError, match="'404'"):
        estate.store("404")
    with pytest.raises(EstateError):
        estate.region_of("404")


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 11, 23, 9, 30, tzinfo=UTC), True),  # Monday 09:30 GMT
        (datetime(2026, 11, 23, 8, 59, tzinfo=UTC), False),
        (datetime(2026, 11, 23, 17, 30, tzinfo=UTC), False),  # closing time is exclusive
        (datetime(2026, 7, 6, 8, 30, tzinfo=UTC), True),  # 09:30 BST in summer
        (datetime(2026, 11, 28, 1, 0, tzinfo=UTC), True),  # Friday's late span runs past midnight
        (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), False),  # Saturday closed
        (datetime(2026, 11, 29, 12, 0, tzinfo=UTC), False),  # Sunday not listed: closed
        (datetime(2026, 12, 25, 10, 0, tzinfo=UTC), False),  # closed on the calendar
    ],
)
def test_is_open_follows_local_hours_and_calendar(moment: datetime, is_open: bool) -> None:
    estate = parse_estate(MINIMAL)
    assert estate.is_open(estate.store("001"), moment) is is_open


def test_is_open_on_the_night_clocks_go_back() -> None:
    text = MINIMAL.replace("Europe/London", "America/New_York").replace(
        "sat: closed", 'sat: "09:00-01:30"'
    )
    estate = parse_estate(text)
    store = estate.store("001")
    # 2026-11-01: New York falls back at 02:00 EDT; Saturday's span ends at 01:30 EDT = 05:30 UTC.
    assert estate.is_open(store, datetime(2026, 11, 1, 5, 29, tzinfo=UTC))
    assert not estate.is_open(store, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
    assert not estate.is_open(store, datetime(2026, 11, 1, 6, 10, tzinfo=UTC))  # 01:10 EST
    with pytest.raises(ValueError, match="aware"):
        estate.is_open(store, datetime(2026, 11, 1, 1, 0))


def test_peak_on() -> None:
    estate = parse_estate(MINIMAL)
    store = estate.store("001")
    peak = estate.peak_on(store, date(2026, 11, 27))
    assert peak is not None
    assert (peak.name, peak.level) == ("Black Friday", 3)
    assert estate.peak_on(store, date(2026, 11, 26)) is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "timezone: Europe/London",
            "timezone: Mars/Olympus_Mons",
            "acme.yaml:12: regions.0.stores.0.timezone: Value error, unknown time zone 'Mars/Olympus_Mons'",
            id="timezone",
        ),
        pytest.param(
            "name: Leeds",
            "name: Leeds\n        colour: red",
            "acme.yaml:12: regions.0.stores.0.colour: unknown field",
            id="unknown-field",
        ),
        pytest.param(
            "ip: 10.1.11.5",
            "ip: 10.9.9.9",
            "acme.yaml:18: regions.0.stores.0.assets.0.ip: 10.9.9.9 is outside segment pos (10.1.11.0/24)",
            id="ip-outside-segment",
        ),
        pytest.param(
            "segment: pos, ip",
            "segment: cde, ip",
            "acme.yaml:18: regions.0.stores.0.assets.0.segment: segment 'cde' is not defined in store 001",
            id="unknown-segment",
        ),
        pytest.param(
            'stores: ["001"]',
            'stores: ["999"]',
            "acme.yaml:20: identities.0.stores.0: store '999' does not exist",
            id="unknown-store",
        ),
        pytest.param(
            '"09:00-17:30", tue',
            '"9am-5pm", tue',
            "acme.yaml:13: regions.0.stores.0.opening_hours.mon: Value error, opening hours '9am-5pm'",
            id="hours",
        ),
        pytest.param(
            "kind: checkout}",
            "kind: aisle}",
            "acme.yaml:15: regions.0.stores.0.zones.0.kind: Input should be",
            id="bad-enum",
        ),
        pytest.param(
            "organisation: {uid: acme, name: Acme}",
            "organisation: {uid: acme, name: [Acme",
            "acme.yaml:",
            id="malformed-yaml",
        ),
    ],
)
def test_bad_estates_name_file_and_line(old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    with pytest.raises(EstateError) as caught:
        parse_estate(MINIMAL.replace(old, new, 1), "acme.yaml")
    assert expected in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("ip: 10.1.11.5", "ip: 10.9.9.9").replace(
        'stores: ["001"]', 'stores: ["999"]'
    )
    with pytest.raises(EstateError) as caught:
        parse_estate(text, "acme.yaml")
    assert len(caught.value.problems) == 2


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(EstateError, match="cannot read"):
        load_estate(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(EstateError, match="not UTF-8"):
        load_estate(binary)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(EstateError, match="mapping"):
        load_estate(listing)


def test_sample_text_is_the_shipped_file() -> None:
    assert "Northwind Outfitters" in sample_estate_text()
