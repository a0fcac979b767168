from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vigil.events import (
    EVENT_CLASSES,
    Authentication,
    EventBatch,
    InvalidEventError,
    NetworkActivity,
    OcsfEvent,
    PosTransaction,
    SchemaMismatchError,
    UnknownEventClassError,
    arrow_schema,
    batches_from_json_lines,
    event_class,
    from_table,
    to_table,
)

PRODUCT = {"product": {"name": "test", "vendor_name": "Vigil"}}
SRC = {"ip": "10.31.11.11"}


def test_sample_covers_every_class_but_findings(sample_events: list[OcsfEvent]) -> None:
    seen = {type(event) for event in sample_events}
    missing = {cls.__name__ for cls in EVENT_CLASSES} - {cls.__name__ for cls in seen}
    assert missing == {"DetectionFinding", "IncidentFinding"}


def test_json_model_columns_round_trip_is_lossless(
    documents: list[dict[str, Any]], sample_events: list[OcsfEvent]
) -> None:
    by_class: dict[type[OcsfEvent], list[tuple[dict[str, Any], OcsfEvent]]] = defaultdict(list)
    for document, event in zip(documents, sample_events, strict=True):
        by_class[type(event)].append((document, event))
    for cls, pairs in by_class.items():
        events = [event for _, event in pairs]
        table = to_table(events, cls)
        assert table.schema == arrow_schema(cls)
        back = from_table(table, cls)
        assert back == events
        for (document, _), event in zip(pairs, back, strict=True):
            assert event.model_dump(mode="json", by_alias=True, exclude_none=True) == document


def test_flattened_column_names_and_types() -> None:
    schema = arrow_schema(NetworkActivity)
    assert schema.field("src_endpoint.ip").type == pa.string()
    assert schema.field("traffic.bytes_out").type == pa.int64()
    assert schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("unmapped").type == pa.string()  # free-form JSON as text
    assert schema.field("observables").type.value_type.num_fields > 0  # list<struct>
    assert "src_endpoint" not in schema.names


def test_identity_fields_are_filled_from_the_class() -> None:
    event = Authentication(
        activity_id=1, time=0, metadata=PRODUCT, user={"name": "ana"}, service={"name": "sso"}
    )
    assert (event.class_uid, event.category_uid, event.type_uid) == (3002, 3, 300201)
    assert event.activity_name == "Logon"  # caption from the official OCSF dictionary
    assert event.type_name == "Authentication: Logon"
    assert event.category_name == "Identity & Access Management"


def test_official_at_least_one_constraints_are_enforced() -> None:
    with pytest.raises(ValidationError, match="at least one of dst_endpoint, src_endpoint"):
        NetworkActivity(activity_id=6, time=0, metadata=PRODUCT)
    with pytest.raises(ValidationError, match="at least one of service, dst_endpoint"):
        Authentication(activity_id=1, time=0, metadata=PRODUCT, user={"name": "ana"})


def test_extension_event_declares_extension_and_profile() -> None:
    event = PosTransaction(activity_id=5, time=0, metadata=PRODUCT, store={"uid": "031"})
    dumped = event.model_dump(mode="json", exclude_none=True)
    assert dumped["class_uid"] == 8606001
    assert dumped["type_uid"] == 860600105
    assert dumped["activity_name"] == "No Sale"
    assert dumped["metadata"]["extensions"] == [{"name": "vigil", "uid": "86", "version": "0.1.0"}]
    assert dumped["metadata"]["profiles"] == ["vigil/retail"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"activity_id": 1, "metadata": PRODUCT, "user": {}}, "time", id="missing-time"
        ),
        pytest.param({"activity_id": 1, "time": 0, "user": {}}, "metadata", id="missing-metadata"),
        pytest.param({"activity_id": 1, "time": 0, "metadata": PRODUCT}, "user", id="missing-user"),
        pytest.param(
            {"activity_id": 1, "time": 0, "metadata": PRODUCT, "user": {}, "class_uid": 4001},
            "does not belong",
            id="wrong-class",
        ),
        pytest.param(
            {"activity_id": 1, "time": 0, "metadata": PRODUCT, "user": {}, "type_uid": 300299},
            "type_uid",
            id="inconsistent-type",
        ),
        pytest.param(
            {"activity_id": 1, "time": 0, "metadata": PRODUCT, "user": {}, "colour": "red"},
            "Extra inputs",
            id="unknown-field",
        ),
        pytest.param(
            {"activity_id": 1, "time": "yesterday", "metadata": PRODUCT, "user": {}},
            "time",
            id="bad-time",
        ),
    ],
)
def test_invalid_authentication_is_rejected(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Authentication.model_validate(document)


@pytest.mark.parametrize(
    "card",
    [
        {"bin": "4111111111111111"},  # a whole PAN where the BIN goes
        {"last4": "41111111"},
        {"bin": "41111"},
        {"pan": "4111111111111111"},  # no field may hold a PAN
    ],
)
def test_card_data_is_limited_to_bin_and_last4(card: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        PosTransaction(
            activity_id=1,
            time=0,
            metadata=PRODUCT,
            tenders=[{"type": "card", "amount": 1.0, "card": card}],
        )


def test_timestamps_accept_epoch_ms_iso_and_datetime_at_ms_precision() -> None:
    moment = datetime(2026, 11, 27, 9, 30, 0, 123000, tzinfo=UTC)
    for value in (1795771800123, "1795771800123", "2026-11-27T09:30:00.123456Z", moment):
        event = NetworkActivity(activity_id=6, time=value, metadata=PRODUCT, src_endpoint=SRC)
        assert event.time == moment
        assert event.model_dump(mode="json")["time"] == 1795771800123


@settings(max_examples=60, deadline=None)
@given(
    ms=st.integers(min_value=0, max_value=4_102_444_800_000),
    text=st.text(max_size=40),
    port=st.none() | st.integers(min_value=0, max_value=65535),
    extra=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3),
)
def test_round_trip_of_arbitrary_values(
    ms: int, text: str, port: int | None, extra: dict[str, Any]
) -> None:
    event = NetworkActivity(
        activity_id=6,
        time=ms,
        message=text,
        metadata=PRODUCT,
        src_endpoint={"hostname": text, "port": port},
        unmapped=extra or None,
    )
    back = EventBatch.from_events([event]).events()
    assert back == [event]
    assert json.loads(back[0].model_dump_json()) == json.loads(event.model_dump_json())


def test_json_lines_keep_good_events_and_report_bad_ones(documents: list[dict[str, Any]]) -> None:
    lines = [
        json.dumps(documents[0]),
        "{not json",
        json.dumps({"class_uid": 9999, "activity_id": 1}),
        json.dumps({"class_uid": 3002, "activity_id": 1, "time": 0}),
        "[1, 2]",
        "",
        json.dumps(documents[1]),
    ]
    parsed = batches_from_json_lines(lines)
    rejected = parsed.rejected
    assert sum(len(batch) for batch in parsed.batches) == 2
    assert [item.index for item in rejected] == [1, 2, 3, 4]
    assert "unknown event class 9999" in rejected[1].reason
    assert "metadata: Field required" in rejected[2].reason
    assert rejected[0].raw == "{not json"


def test_conform_fills_missing_columns_and_refuses_unknown_ones() -> None:
    partial = pa.table(
        {
            "activity_id": [6],
            "time": pa.array([0], pa.timestamp("ms", tz="UTC")),
            "metadata.product.name": ["zeek"],
        }
    )
    batch = EventBatch(NetworkActivity, partial)
    assert batch.table.schema == arrow_schema(NetworkActivity)
    assert batch.table.column("src_endpoint.ip").null_count == 1
    assert batch.table.column("type_uid").to_pylist() == [400106]  # identity filled in
    assert batch.table.column("class_uid").to_pylist() == [4001]
    with pytest.raises(SchemaMismatchError, match="1 row"):
        EventBatch(
            NetworkActivity,
            partial.set_column(1, "time", pa.nulls(1, pa.timestamp("ms", tz="UTC"))),
        )
    with pytest.raises(SchemaMismatchError, match="class_uid other than 4001"):
        EventBatch(NetworkActivity, partial.append_column("class_uid", pa.array([3002])))
    with pytest.raises(SchemaMismatchError, match="colour"):
        EventBatch(NetworkActivity, pa.table({"colour": ["red"]}))


def test_table_row_that_violates_the_model_reports_its_index() -> None:
    table = pa.table(
        {
            "activity_id": [6, 6],
            "time": pa.array([0, 0], pa.timestamp("ms", tz="UTC")),
            "src_endpoint.ip": ["10.0.0.1", "10.0.0.2"],
            "metadata.product.name": ["zeek", None],
        }
    )
    with pytest.raises(InvalidEventError, match="row 1") as caught:
        from_table(table, NetworkActivity)
    assert caught.value.index == 1


def test_event_class_lookup() -> None:
    assert event_class(4001) is NetworkActivity
    assert event_class("vigil/pos_transaction") is PosTransaction
    assert event_class("pos_transaction") is PosTransaction
    with pytest.raises(UnknownEventClassError, match="known classes"):
        event_class("shoplifting")


def test_values_arrow_cannot_hold_reject_their_line_only(documents: list[dict[str, Any]]) -> None:
    flow = next(d for d in documents if d["class_uid"] == 4001)
    lines = [
        json.dumps(flow),
        json.dumps({**flow, "count": 2**63}),
        json.dumps({**flow, "message": "\ud800"}),
        json.dumps(flow),
    ]
    parsed = batches_from_json_lines(lines)
    assert [len(batch) for batch in parsed.batches] == [2]
    assert [item.index for item in parsed.rejected] == [1, 2]
    assert all("cannot be stored" in item.reason for item in parsed.rejected)


def test_empty_objects_round_trip() -> None:
    auth = Authentication(
        activity_id=1,
        time=0,
        metadata=PRODUCT,
        user={},
        service={"name": "sso"},
        src_endpoint={},
        actor={"user": {"groups": [{}]}},
    )
    assert auth.src_endpoint is None  # an empty optional object is absent
    assert EventBatch.from_events([auth]).events() == [auth]
