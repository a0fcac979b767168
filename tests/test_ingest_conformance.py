"""The same checks for every registered parser (River-style `checks`).

Each parser has a golden case in `tests/golden/ingest/<parser>/`: `input` (raw
bytes, cut with the parser's framing), `expected.ndjson` (the exact events, as
OCSF JSON) and `rejected.ndjson` (position and reason of each refused record).
Set VIGIL_UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then read
the diff: the golden files are the specification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocsf_check import OFFICIAL_OBJECT, ocsf_errors
from vigil.ingest.framing import frame
from vigil.ingest.parsers import parsers
from vigil.ingest.parsers.base import run
from vigil.ingest.types import ParseResult, RawRecords

GOLDEN = Path(__file__).parent / "golden" / "ingest"
UPDATE = os.environ.get("VIGIL_UPDATE_GOLDEN") == "1"
NAMES = parsers.names()


def _records(name: str, data: bytes) -> RawRecords:
    framed = frame(data, parsers.get(name).framing)
    unit = "line" if parsers.get(name).framing == "line" else "record"
    return RawRecords(f"golden/{name}", framed.text, 1, unit)


def _parse(name: str, records: RawRecords) -> ParseResult:
    return run(parsers.get(name)(), records)


def _event_lines(result: ParseResult) -> list[str]:
    return [
        json.dumps(
            event.model_dump(mode="json", by_alias=True, exclude_none=True),
            sort_keys=True,
            ensure_ascii=False,
        )
        for batch in result.batches
        for event in batch.events()
    ]


def _golden_input(name: str) -> bytes:
    path = GOLDEN / name / "input"
    if not path.exists():
        pytest.fail(f"parser {name} has no golden case: add {path}")
    return path.read_bytes()


def _accounted(result: ParseResult, size: int) -> None:
    indexes = [item.index for item in result.rejected]
    assert len(indexes) == len(set(indexes)), "a record was rejected twice"
    assert all(0 <= index < size for index in indexes)
    assert all(item.reason for item in result.rejected)


def test_every_parser_is_documented() -> None:
    assert len(NAMES) >= 1
    for name in NAMES:
        cls = parsers.get(name)
        assert cls.name == name
        assert cls.description, f"{name} has no description"
        assert cls.event_classes, f"{name} declares no event classes"


@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str) -> None:
    records = _records(name, _golden_input(name))
    result = _parse(name, records)
    events = _event_lines(result)
    rejected = [
        json.dumps({"position": records.position(item.index), "reason": item.reason})
        for item in sorted(result.rejected, key=lambda item: item.index)
    ]
    expected_path = GOLDEN / name / "expected.ndjson"
    rejected_path = GOLDEN / name / "rejected.ndjson"
    if UPDATE:
        expected_path.write_text("".join(f"{line}\n" for line in events), encoding="utf-8")
        rejected_path.write_text("".join(f"{line}\n" for line in rejected), encoding="utf-8")
    assert events, f"{name}: the golden input gave no events"
    assert events == expected_path.read_text(encoding="utf-8").splitlines()
    assert rejected == rejected_path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", NAMES)
def test_events_follow_the_ocsf_schema(name: str) -> None:
    result = _parse(name, _records(name, _golden_input(name)))
    for batch in result.batches:
        assert batch.event_class in parsers.get(name).event_classes
        for event in batch.events():
            assert ocsf_errors(event, OFFICIAL_OBJECT) == [], f"{name}: {event}"


@pytest.mark.parametrize("name", NAMES)
def test_empty_and_blank_input(name: str) -> None:
    assert _parse(name, RawRecords.of("t", [])).events == 0
    result = _parse(name, RawRecords.of("t", ["", "   ", "\t"]))
    assert (result.events, result.rejected, result.skipped) == (0, [], 3)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str) -> None:
    first = _parse(name, _records(name, _golden_input(name)))
    second = _parse(name, _records(name, _golden_input(name)))
    assert _event_lines(first) == _event_lines(second)


@pytest.mark.parametrize("name", NAMES)
def test_truncated_records_are_rejected_or_parsed_never_raised(name: str) -> None:
    records = _records(name, _golden_input(name))
    halves = [text[: len(text) // 2] for text in records.text.to_list()]
    result = _parse(name, RawRecords.of("t", halves))
    _accounted(result, len(halves))
    assert result.rejected, f"{name}: every half record was accepted"


@pytest.mark.parametrize("name", NAMES)
def test_a_huge_record_does_not_stop_the_others(name: str) -> None:
    records = _records(name, _golden_input(name)).text.to_list()
    huge = "x" * 2_000_000
    result = _parse(name, RawRecords.of("t", [huge, *records]))
    _accounted(result, len(records) + 1)
    assert 0 in {item.index for item in result.rejected}
    alone = _parse(name, RawRecords.of("t", records))
    assert result.events == alone.events


@pytest.mark.parametrize("name", NAMES)
def test_one_bad_record_costs_only_itself(name: str) -> None:
    records = _records(name, _golden_input(name)).text.to_list()
    mixed = [*records[:1], "\x00\x01 not a record {][", *records[1:]]
    result = _parse(name, RawRecords.of("t", mixed))
    alone = _parse(name, RawRecords.of("t", records))
    assert result.events == alone.events
    assert 1 in {item.index for item in result.rejected}


@pytest.mark.parametrize("name", NAMES)
def test_unknown_json_fields_are_tolerated(name: str) -> None:
    records = _records(name, _golden_input(name)).text.to_list()
    widened = [
        text[:-1] + ',"x_vendor_extra":{"a":[1,2]}}' if text.startswith("{") else text
        for text in records
    ]
    assert _parse(name, RawRecords.of("t", widened)).events == (
        _parse(name, RawRecords.of("t", records)).events
    )


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.text(max_size=200), max_size=8))
def test_fuzzed_input_never_raises(name: str, lines: list[str]) -> None:
    lines = [line.replace("\n", " ") for line in lines]
    result = _parse(name, RawRecords(name, pl.Series(lines, dtype=pl.String)))
    _accounted(result, len(lines))
