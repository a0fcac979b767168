from __future__ import annotations

from pathlib import Path

from vigil.events import EventBatch, NetworkActivity, OcsfEvent, PosTransaction
from vigil.events.docs import render_markdown
from vigil.events.ecs import to_ecs, to_ecs_documents

REPO = Path(__file__).resolve().parents[1]


def test_ecs_export_maps_network_fields() -> None:
    event = NetworkActivity(
        activity_id=6,
        time=1795771800123,
        metadata={"product": {"name": "zeek", "vendor_name": "Zeek"}},
        src_endpoint={"ip": "10.31.11.11", "port": 51234},
        dst_endpoint={"ip": "203.0.113.9", "port": 8443},
        traffic={"bytes_out": 2300000},
        store={"uid": "031"},
    )
    (document,) = to_ecs_documents(EventBatch.from_events([event]))
    assert document["@timestamp"] == "2026-11-27T09:30:00.123000Z"
    assert document["source"] == {"ip": "10.31.11.11", "port": 51234, "bytes": 2300000}
    assert document["destination"] == {"ip": "203.0.113.9", "port": 8443}
    assert document["event"]["kind"] == "event"
    assert document["event"]["category"] == ["network"]
    assert document["observer"] == {"product": "zeek", "vendor": "Zeek"}
    assert document["labels"] == {"store_uid": "031"}
    assert document["vigil"]["class_uid"] == 4001  # unmapped fields are kept under vigil.


def test_ecs_export_keeps_every_column(sample_events: list[OcsfEvent]) -> None:
    pos = EventBatch.from_events([e for e in sample_events if isinstance(e, PosTransaction)])
    table = to_ecs(pos)
    assert table.num_columns == pos.table.num_columns + 3
    assert len(set(table.column_names)) == table.num_columns


def test_committed_schema_docs_are_generated_from_the_code() -> None:
    committed = (REPO / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "docs/events.md is stale: run `make docs`"
