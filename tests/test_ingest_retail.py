"""Retail parsers: each POS transaction type, refunds, voids, card data, POSLog forms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vigil.events import PosTransaction
from vigil.ingest.parsers import parsers
from vigil.ingest.parsers.base import run
from vigil.ingest.types import ParseResult, RawRecords

NS = "http://www.nrf-arts.org/IXRetail/namespace/"


def pos_line(**fields: Any) -> str:
    record: dict[str, Any] = {
        "schema": "vigil.pos/1",
        "type": "sale",
        "ts": "2026-11-23T14:06:38.383Z",
        "store": "002",
        "terminal": "s002-pos-03",
        "lane": "3",
        "cashier": "002008",
        "txn": "00230000000",
        "items": [],
        "discounts": [],
        "tenders": [],
    }
    record.update(fields)
    return json.dumps(record)


def parse(name: str, records: list[str], unit: str = "line") -> ParseResult:
    return run(parsers.get(name)(), RawRecords.of("test", records, unit=unit))


def only_event(result: ParseResult) -> PosTransaction:
    assert result.rejected == []
    (batch,) = result.batches
    (event,) = batch.events()
    assert isinstance(event, PosTransaction)
    return event


ITEM = {"seq": 1, "sku": "SKU1", "qty": 1, "price": 9.99, "amount": 9.99}


@pytest.mark.parametrize(
    ("kind", "activity"),
    [
        ("sale", 1),
        ("refund", 2),
        ("void", 3),
        ("post_void", 4),
        ("no_sale", 5),
        ("drawer_open", 6),
        ("drawer_close", 7),
        ("suspend", 8),
        ("resume", 9),
    ],
)
def test_each_pos_type_maps_to_its_activity(kind: str, activity: int) -> None:
    event = only_event(parse("vigil_pos", [pos_line(type=kind)]))
    assert event.activity_id == activity
    assert event.device is not None
    assert event.device.uid == "s002-pos-03"
    assert event.store is not None
    assert event.store.uid == "002"


@pytest.mark.parametrize(
    ("orig_receipt", "expected"),
    [("R00230000042", "R00230000042"), (None, None)],
)
def test_refund_with_and_without_receipt(orig_receipt: str | None, expected: str | None) -> None:
    line = pos_line(type="refund", items=[{**ITEM, "amount": -9.99}], orig_receipt=orig_receipt)
    event = only_event(parse("vigil_pos", [line]))
    assert event.transaction is not None
    assert event.transaction.original_receipt_uid == expected
    assert event.line_items is not None
    assert [line.is_return for line in event.line_items] == [True]


@pytest.mark.parametrize(
    ("voided", "items", "voids"),
    [([], 0, 0), ([False, True, True], 1, 2), ([True], 0, 1), ([False, False], 2, 0)],
)
def test_void_and_item_counts(voided: list[bool], items: int, voids: int) -> None:
    lines = [{**ITEM, "seq": n + 1, "voided": flag} for n, flag in enumerate(voided)]
    event = only_event(parse("vigil_pos", [pos_line(items=lines)]))
    assert event.transaction is not None
    assert (event.transaction.item_count, event.transaction.void_count) == (items, voids)


@pytest.mark.parametrize(
    ("tender", "reason"),
    [
        ({"bin": "4242424242424242", "last4": "4242"}, "full card number"),
        ({"bin": "424242", "last4": "4242 4242 4242 4242"}, "full card number"),
        ({"bin": "424242******4242"}, "full card number"),
        ({"pan": "4111111111111111"}, "full card number"),
        ({"bin": 4242424242424242}, "full card number"),
        ({"bin": "42424", "last4": "4242"}, "bin is not 6-8 digits"),
        ({"bin": "424242", "last4": "42"}, "last4 is not 4 digits"),
    ],
)
def test_card_fields_beyond_bin_and_last4_are_refused(tender: dict[str, Any], reason: str) -> None:
    line = pos_line(tenders=[{"type": "card", "amount": 10.0, **tender}])
    result = parse("vigil_pos", [line])
    assert result.events == 0
    (rejected,) = result.rejected
    assert reason in rejected.reason
    assert "4242424242424242" not in rejected.reason


def test_card_tender_keeps_bin_and_last4_only() -> None:
    tender = {"type": "card", "amount": 10.0, "bin": "424242", "last4": "2700", "brand": "visa"}
    event = only_event(parse("vigil_pos", [pos_line(tenders=[tender])]))
    assert event.tenders is not None
    card = event.tenders[0].card
    assert card is not None
    assert (card.bin, card.last4, card.brand) == ("424242", "2700", "visa")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"schema": "vigil.pos/2"}, "schema vigil.pos/2 is not supported (supported: vigil.pos/1)"),
        ({"schema": None}, "no schema field (supported: vigil.pos/1)"),
        ({"type": "layaway"}, "type is missing or not a vigil.pos/1 type"),
        ({"ts": "2026-11-23 14:06:38"}, "ts is missing or not an ISO 8601 time"),
        ({"store": None}, "store is missing"),
        ({"currency": "euro"}, "currency is not an ISO 4217 code"),
        ({"tenders": [{"type": "cash"}]}, "a tender has no type or no amount"),
    ],
)
def test_bad_pos_records_are_rejected_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    result = parse("vigil_pos", [pos_line(**fields), pos_line()])
    assert result.events == 1
    (rejected,) = result.rejected
    assert rejected.index == 0
    assert rejected.reason.startswith(reason)


def test_self_checkout_session_keeps_its_counters() -> None:
    line = json.dumps(
        {
            "schema": "vigil.sco/1",
            "ts": "2026-11-23T14:07:31.261Z",
            "start": "2026-11-23T14:06:06.241Z",
            "store": "002",
            "terminal": "s002-sco-01",
            "session": "002-0000000",
            "trust_level": 2,
            "scans": 11,
            "scan_seconds": 85.0,
            "total": 53.29,
            "voids": 1,
            "scans_without_registration": 2,
            "quantity_modifications": 1,
            "weight_mismatches": 3,
            "attendant_interventions": 1,
        }
    )
    event = only_event(parse("vigil_sco", [line]))
    assert event.transaction is not None
    assert event.transaction.is_self_checkout
    assert event.duration == 85020
    session = event.self_checkout
    assert session is not None
    assert (session.scans, session.weight_mismatches, session.trust_level) == (11, 3, 2)
    assert session.scans_without_registration == 2


@pytest.mark.parametrize(
    ("parser", "record", "activity"),
    [
        ("vigil_door", {"controller": "c1", "door": "d1", "event": "granted"}, 1),
        ("vigil_door", {"controller": "c1", "door": "d1", "event": "denied"}, 2),
        ("vigil_door", {"controller": "c1", "door": "d1", "event": "forced"}, 3),
        ("vigil_door", {"controller": "c1", "door": "d1", "event": "held"}, 4),
        ("vigil_door", {"controller": "c1", "door": "d1", "event": "opened"}, 5),
        ("vigil_door", {"controller": "c1", "door": "d1", "event": "closed"}, 6),
        ("vigil_alarm", {"panel": "p1", "event": "armed"}, 7),
        ("vigil_alarm", {"panel": "p1", "event": "disarmed"}, 8),
        ("vigil_alarm", {"panel": "p1", "event": "triggered"}, 9),
        ("vigil_alarm", {"panel": "p1", "event": "alarm"}, 9),
    ],
)
def test_access_events_map_to_activities(
    parser: str, record: dict[str, str], activity: int
) -> None:
    line = json.dumps({"ts": "2026-11-23T23:41:07Z", "user": "jdoe", "badge": "B1", **record})
    result = parse(parser, [line])
    assert result.rejected == []
    (event,) = result.batches[0].events()
    assert event.activity_id == activity
    assert event.model_dump()["user"]["name"] == "jdoe"


def poslog(body: str, namespaced: bool = True) -> str:
    xmlns = f' xmlns="{NS}"' if namespaced else ""
    return f'<?xml version="1.0"?>\n<POSLog{xmlns}>{body}</POSLog>'


def transaction(sequence: int, inner: str, end: str = "2026-11-23T14:06:38Z") -> str:
    return (
        f"<Transaction><RetailStoreID>001</RetailStoreID><WorkstationID>3</WorkstationID>"
        f"<SequenceNumber>{sequence}</SequenceNumber><EndDateTime>{end}</EndDateTime>"
        f"<OperatorID>001008</OperatorID>{inner}</Transaction>"
    )


SALE = (
    "<RetailTransaction><LineItem><SequenceNumber>1</SequenceNumber><Sale><ItemID>SKU1</ItemID>"
    "<ExtendedAmount>9.99</ExtendedAmount></Sale></LineItem>"
    '<LineItem VoidFlag="true"><SequenceNumber>2</SequenceNumber><Sale><ItemID>SKU2</ItemID>'
    "<ExtendedAmount>5.00</ExtendedAmount></Sale></LineItem>"
    '<LineItem><Tender TenderType="Cash"><Amount>10.79</Amount></Tender></LineItem>'
    '<Total TotalType="TransactionGrandAmount">10.79</Total></RetailTransaction>'
)
NO_SALE = "<ControlTransaction><NoSale/></ControlTransaction>"
RETURN = (
    "<RetailTransaction><LineItem><Return><ItemID>SKU1</ItemID>"
    "<ExtendedAmount>9.99</ExtendedAmount></Return></LineItem></RetailTransaction>"
)


@pytest.mark.parametrize("namespaced", [True, False])
def test_poslog_namespaced_or_not_reads_the_same(namespaced: bool) -> None:
    document = poslog(transaction(1, SALE), namespaced=namespaced)
    event = only_event(parse("arts_poslog", [document], unit="record"))
    assert event.activity_id == 1
    assert event.transaction is not None
    assert (event.transaction.item_count, event.transaction.void_count) == (1, 1)
    assert event.transaction.total == 10.79
    assert event.cashier is not None
    assert event.cashier.uid == "001008"


def test_poslog_document_with_many_transactions() -> None:
    document = poslog(transaction(1, SALE) + transaction(2, NO_SALE) + transaction(3, RETURN))
    result = parse("arts_poslog", [document], unit="record")
    assert result.rejected == []
    activities = [event.activity_id for event in result.batches[0].events()]
    assert activities == [1, 5, 2]


def test_poslog_bad_transaction_costs_only_itself() -> None:
    document = poslog(transaction(1, SALE) + transaction(2, NO_SALE, end="yesterday"))
    result = parse("arts_poslog", [document], unit="record")
    assert result.events == 1
    (rejected,) = result.rejected
    assert "1 of 2 transactions refused: transaction 2 (SequenceNumber 2)" in rejected.reason


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE POSLog [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<POSLog>&x;</POSLog>",
            "XML DOCTYPE or ENTITY declarations are refused",
        ),
        ("<POSLog><Transaction></POSLog>", "not well-formed XML: mismatched tag: line 1"),
        ("<Other/>", "root element is Other, not POSLog"),
        ("<POSLog/>", "POSLog holds no Transaction"),
    ],
)
def test_poslog_refused_documents(document: str, reason: str) -> None:
    result = parse("arts_poslog", [document], unit="record")
    assert result.events == 0
    (rejected,) = result.rejected
    assert rejected.reason.startswith(reason)


@pytest.mark.parametrize(
    ("parser", "sample", "sure"),
    [
        ("vigil_pos", [pos_line()], 1.0),
        ("vigil_sco", [pos_line()], 0.0),
        ("vigil_door", ['{"ts":"x","controller":"c","door":"d","event":"granted"}'], 1.0),
        ("vigil_alarm", ['{"ts":"x","panel":"p","event":"armed"}'], 1.0),
        ("arts_poslog", [poslog(transaction(1, NO_SALE))], 1.0),
        ("arts_poslog", [pos_line()], 0.0),
    ],
)
def test_sniff(parser: str, sample: list[str], sure: float) -> None:
    assert parsers.get(parser).sniff(sample) == sure
