"""ARTS POSLog XML (NRF/ARTS IXRetail): one document per record, many transactions each.

Each `Transaction` becomes a `PosTransaction`: `RetailTransaction` (sale,
refund, void, post-void, suspend, resume, from its lines and
`TransactionStatus`), `ControlTransaction` (`NoSale`; other control kinds as
Other) and `TenderControlTransaction` (Other). Namespaced
(`http://www.nrf-arts.org/IXRetail/namespace/`) and plain documents read the
same: namespaces are stripped from tags and attributes before mapping.

POSLog documents are few and large, so each is parsed in Python with the
standard library's expat-based `xml.etree`. A document that declares a DOCTYPE
or ENTITY is refused before parsing: entities are how XML reaches outside
resources or expands without bound. A document that is not well-formed XML is
rejected whole, with expat's message and line. A transaction that cannot be
mapped (no store, no time, a card number) is left out, and the document's one
rejection lists each such transaction by position; its other transactions are
kept.

Times without a zone (common in POSLog) are read as UTC: a store's own zone is
estate context this parser does not have.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pyarrow as pa

from vigil.events import PosTransaction, arrow_schema
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    PRODUCT_VENDOR,
    Parser,
    parsers,
    to_batch,
)
from vigil.ingest.parsers.pos import OTHER_DEVICE, PAN_LIKE, TYPES
from vigil.ingest.types import ParseResult, RawRecords, Rejected

ARTS_NAMESPACE = "http://www.nrf-arts.org/IXRetail/namespace/"
DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
TENDER_TYPES = {
    "cash": "cash",
    "creditdebit": "card",
    "credit": "card",
    "debit": "card",
    "giftcard": "gift_card",
    "giftcertificate": "gift_card",
    "voucher": "voucher",
    "coupon": "voucher",
    "storedvalue": "store_credit",
    "storecredit": "store_credit",
    "mobile": "mobile",
}
STATUS_ACTIVITY = {
    "voided": TYPES["void"],
    "cancelled": TYPES["void"],
    "canceled": TYPES["void"],
    "postvoided": TYPES["post_void"],
    "postvoid": TYPES["post_void"],
    "suspended": TYPES["suspend"],
    "resumed": TYPES["resume"],
    "retrieved": TYPES["resume"],
}
CONTROL_ACTIVITY = {"NoSale": TYPES["no_sale"], "PostVoid": TYPES["post_void"]}
OTHER = 99
TOTALS = {
    "TransactionGrossAmount": "transaction.subtotal",
    "TransactionTaxAmount": "transaction.tax_total",
    "TransactionDiscountAmount": "transaction.discount_total",
    "TransactionGrandAmount": "transaction.total",
}
COLUMNS = (
    "time",
    "start_time",
    "activity_id",
    "message",
    "store.uid",
    "transaction.uid",
    "transaction.business_day",
    "transaction.lane",
    "transaction.sequence_number",
    "transaction.currency",
    "transaction.subtotal",
    "transaction.discount_total",
    "transaction.tax_total",
    "transaction.total",
    "transaction.item_count",
    "transaction.void_count",
    "transaction.original_receipt_uid",
    "transaction.is_training",
    "line_items",
    "tenders",
    "discounts",
    "cashier.uid",
    "cashier.name",
    "device.uid",
    "device.type_id",
    "device.type",
)


class TransactionError(ValueError):
    """One transaction of a document cannot be mapped; the others can."""


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _strip_namespaces(root: ET.Element) -> None:
    for element in root.iter():
        element.tag = _local(element.tag)
        if any("}" in key for key in element.attrib):
            element.attrib = {_local(key): value for key, value in element.attrib.items()}


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _number(element: ET.Element | None, path: str) -> float | None:
    text = _text(element, path)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TransactionError(f"{_label(element, path)} is not a number") from None
    if not math.isfinite(value):
        raise TransactionError(f"{_label(element, path)} is not a finite number")
    return value


def _label(element: ET.Element | None, path: str) -> str:
    return element.tag if element is not None and path == "." else path


def _integer(element: ET.Element | None, path: str) -> int | None:
    value = _number(element, path)
    return None if value is None else int(value)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes"}


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TransactionError(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _voided(line: ET.Element) -> bool:
    return _flag(line.get("VoidFlag")) or _flag(_text(line, "VoidFlag"))


def _item(line: ET.Element, goods: ET.Element, sequence: int) -> dict[str, Any]:
    returned = goods.tag == "Return"
    amount = _number(goods, "ExtendedAmount")
    unit = _number(goods, "ActualSalesUnitPrice")
    regular = _number(goods, "RegularSalesUnitPrice")
    department = _text(goods, "MerchandiseHierarchy[@Level='Department']") or _text(
        goods, "MerchandiseHierarchy"
    )
    entry = line.get("EntryMethod") or goods.get("EntryMethod")
    return {
        "sequence": sequence,
        "sku": _text(goods, "ItemID") or _text(goods, "POSIdentity/POSItemID"),
        "gtin": _text(goods, "POSIdentity[@POSIDType='GTIN']/POSItemID"),
        "description": _text(goods, "Description"),
        "department": department,
        "quantity": _number(goods, "Quantity") or 1.0,
        "unit_price": unit if unit is not None else regular,
        "extended_price": -abs(amount) if returned and amount is not None else amount,
        "discount_amount": _number(goods, "DiscountAmount"),
        "entry_method": entry.lower() if entry else None,
        "is_voided": _voided(line),
        "void_reason": None,
        "is_return": returned,
        "is_price_override": _flag(line.get("OperatorOverride") or goods.get("PriceOverride")),
        "original_price": regular if unit is not None and regular != unit else None,
    }


def _card_digits(tender: ET.Element) -> tuple[str | None, str | None]:
    """BIN and last four of a card tender; a full card number refuses the transaction.

    A masked `PrimaryAccountNumber` (`424242******4242`) is fine: its last four are kept.
    """
    card = tender.find("CreditDebit")
    if card is None:
        return None, None
    pan = _text(card, "PrimaryAccountNumber")
    bin_ = _text(card, "IssuerIdentificationNumber")
    clear_pan = pan is not None and re.fullmatch(r"\d{12,19}", re.sub(r"[ \-]", "", pan))
    if clear_pan or (bin_ is not None and re.fullmatch(PAN_LIKE, re.sub(r"[ \-]", "", bin_))):
        raise TransactionError(
            "a card field holds what looks like a full card number (PAN); "
            "the transaction is refused so that it is never stored"
        )
    if bin_ is not None and not re.fullmatch(r"\d{6,8}", bin_):
        raise TransactionError("IssuerIdentificationNumber is not 6-8 digits")
    last4 = pan[-4:] if pan is not None and re.search(r"\d{4}$", pan) else None
    return bin_, last4


def _tender(tender: ET.Element) -> dict[str, Any]:
    amount = _number(tender, "Amount")
    if amount is None:
        raise TransactionError("a Tender has no Amount")
    kind = (tender.get("TenderType") or "other").replace("_", "").lower()
    if (tender.get("TypeCode") or "").lower() == "refund":
        amount = -abs(amount)
    bin_, last4 = _card_digits(tender)
    card = tender.find("CreditDebit")
    authorization = tender.find("Authorization")
    host = None if authorization is None else authorization.get("HostAuthorized")
    return {
        "type": TENDER_TYPES.get(kind, kind),
        "amount": amount,
        "card": None
        if card is None
        else {
            "bin": bin_,
            "last4": last4,
            "brand": None,
            "entry_mode": None,
            "fingerprint": None,
        },
        "auth_code": _text(tender, "Authorization/AuthorizationCode"),
        "is_approved": None if host is None else _flag(host),
        "change_amount": _number(tender, "TenderChange/Amount"),
    }


def _discount(element: ET.Element, line_sequence: int | None) -> dict[str, Any] | None:
    amount = _number(element, "Amount")
    if amount is None:
        return None
    kind = element.get("TypeCode") or element.get("DiscountBenefit") or "amount"
    return {
        "type": kind.lower(),
        "amount": abs(amount),
        "reason": _text(element, "ReasonCode"),
        "line_sequence": line_sequence,
        "approver_uid": _text(element, "ApproverID") or _text(element, "OperatorBypassApproval"),
    }


def _link(element: ET.Element | None, store: str) -> str | None:
    """The id of a transaction a return refers to, built as `_uid` builds one."""
    if element is None:
        return None
    link = element.find("TransactionLink")
    if link is None:
        return None
    return _text(link, "TransactionID") or _uid(link, store)


def _uid(transaction: ET.Element, store: str) -> str | None:
    given = _text(transaction, "TransactionID")
    if given is not None:
        return given
    parts = [
        _text(transaction, name) for name in ("WorkstationID", "BusinessDayDate", "SequenceNumber")
    ]
    if parts[2] is None:
        return None
    return "-".join([_text(transaction, "RetailStoreID") or store, *(p or "" for p in parts)])


class Lines:
    """What the `LineItem`s of a retail transaction add up to."""

    def __init__(self, retail: ET.Element, store: str) -> None:
        self.items: list[dict[str, Any]] = []
        self.tenders: list[dict[str, Any]] = []
        self.discounts: list[dict[str, Any]] = []
        self.tax = 0.0
        self.link = _link(retail, store)
        for position, line in enumerate(retail.findall("LineItem"), start=1):
            self.add(line, _integer(line, "SequenceNumber") or position, store)

    def add(self, line: ET.Element, sequence: int, store: str) -> None:
        goods = line.find("Sale")
        if goods is None:
            goods = line.find("Return")
        if goods is not None:
            self.items.append(_item(line, goods, sequence))
            self.link = self.link or _link(goods, store)
        if _voided(line):
            return  # a voided line counts as an item line only
        if goods is not None:
            modifiers = (_discount(m, sequence) for m in goods.findall("RetailPriceModifier"))
            self.discounts.extend(found for found in modifiers if found is not None)
        elif (tender := line.find("Tender")) is not None:
            self.tenders.append(_tender(tender))
        elif (discount := line.find("Discount")) is not None:
            found = _discount(discount, None)
            self.discounts.extend([found] if found is not None else [])
        elif (tax := line.find("Tax")) is not None:
            self.tax += _number(tax, "Amount") or 0.0


def _retail(transaction: ET.Element, retail: ET.Element, store: str, row: dict[str, Any]) -> None:
    lines = Lines(retail, store)
    for total in retail.findall("Total"):
        column = TOTALS.get(total.get("TotalType") or "")
        if column is not None:
            row[column] = _number(total, ".")
    if row.get("transaction.tax_total") is None and lines.tax:
        row["transaction.tax_total"] = round(lines.tax, 2)
    status = (retail.get("TransactionStatus") or "").replace(" ", "").lower()
    if _flag(transaction.get("CancelFlag")) or _flag(transaction.get("VoidFlag")):
        status = "voided"
    live = [item for item in lines.items if not item["is_voided"]]
    refund = bool(live) and all(item["is_return"] for item in live)
    row["activity_id"] = STATUS_ACTIVITY.get(status, TYPES["refund"] if refund else TYPES["sale"])
    row["transaction.item_count"] = len(live)
    row["transaction.void_count"] = len(lines.items) - len(live)
    row["transaction.original_receipt_uid"] = lines.link
    row["line_items"] = lines.items
    row["tenders"] = lines.tenders
    row["discounts"] = lines.discounts


def _transaction(transaction: ET.Element) -> dict[str, Any]:
    store = _text(transaction, "RetailStoreID")
    if store is None:
        raise TransactionError("no RetailStoreID")
    end = _time(_text(transaction, "EndDateTime"), "EndDateTime")
    if end is None:
        raise TransactionError("no EndDateTime")
    uid = _uid(transaction, store)
    if uid is None:
        raise TransactionError("no TransactionID or SequenceNumber")
    workstation = _text(transaction, "WorkstationID")
    operator = transaction.find("OperatorID")
    row: dict[str, Any] = {
        "time": end,
        "start_time": _time(_text(transaction, "BeginDateTime"), "BeginDateTime"),
        "store.uid": store,
        "transaction.uid": uid,
        "transaction.business_day": _text(transaction, "BusinessDayDate"),
        "transaction.lane": workstation,
        "transaction.sequence_number": _integer(transaction, "SequenceNumber"),
        "transaction.currency": _text(transaction, "CurrencyCode") or "USD",
        "transaction.is_training": _flag(transaction.get("TrainingModeFlag"))
        or _flag(_text(transaction, "TrainingModeFlag")),
        "cashier.uid": _text(transaction, "OperatorID"),
        "cashier.name": None if operator is None else operator.get("OperatorName"),
        "device.uid": workstation,
        "device.type_id": None if workstation is None else OTHER_DEVICE,
        "device.type": None if workstation is None else "POS Terminal",
    }
    retail = transaction.find("RetailTransaction")
    control = transaction.find("ControlTransaction")
    if retail is not None:
        _retail(transaction, retail, store, row)
    elif control is not None:
        kinds = [child.tag for child in control]
        activity = next((CONTROL_ACTIVITY[k] for k in kinds if k in CONTROL_ACTIVITY), OTHER)
        row["activity_id"] = activity
        row["message"] = None if activity != OTHER else f"ControlTransaction: {', '.join(kinds)}"
    else:
        kinds = [child.tag for child in transaction if child.tag.endswith("Transaction")]
        row["activity_id"] = OTHER
        row["message"] = ", ".join(kinds) or "Transaction without a body"
    return row


def _document(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Rows of one document, and the reason for what of it was refused (None if nothing)."""
    if DECLARATION.search(text):
        return [], (
            "XML DOCTYPE or ENTITY declarations are refused "
            "(they can reach outside resources or expand without bound)"
        )
    try:
        root = ET.fromstring(text)  # noqa: S314 - declarations refused above, expat never fetches
    except ET.ParseError as error:
        return [], f"not well-formed XML: {error}"
    _strip_namespaces(root)
    if root.tag == "Transaction":
        transactions = [root]
    elif root.tag == "POSLog":
        transactions = root.findall("Transaction")
    else:
        return [], f"root element is {root.tag[:60]}, not POSLog"
    if not transactions:
        return [], "POSLog holds no Transaction"
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for position, transaction in enumerate(transactions, start=1):
        try:
            rows.append(_transaction(transaction))
        except TransactionError as error:
            sequence = _text(transaction, "SequenceNumber")
            named = f"transaction {position}" + (
                f" (SequenceNumber {sequence})" if sequence else ""
            )
            problems.append(f"{named}: {error}")
    if not problems:
        return rows, None
    return rows, f"{len(problems)} of {len(transactions)} transactions refused: " + "; ".join(
        problems[:20]
    )


@parsers.register("arts_poslog")
class ArtsPosLog(Parser):
    """ARTS POSLog XML documents, each with one or more transactions."""

    description = "ARTS POSLog XML (NRF/ARTS IXRetail), one document per record"
    event_classes = (PosTransaction,)
    framing = "document"

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        head = "\n".join(sample[:20])[:4096]
        if re.search(r"<(\w+:)?POSLog[\s>]", head):
            return 1.0 if ARTS_NAMESPACE in head or "<Transaction" in head else 0.8
        return 0.0

    def parse(self, records: RawRecords) -> ParseResult:
        result = ParseResult()
        rows: list[dict[str, Any]] = []
        for index, text in enumerate(records.text.to_list()):
            found, problem = _document(text or "")
            rows.extend({**row, INDEX: index} for row in found)
            if problem is not None:
                result.rejected.append(Rejected(index, problem))
        if rows:
            result.batches.append(to_batch(_frame(rows), PosTransaction))
        return result


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = arrow_schema(PosTransaction)
    fields = [schema.field(name) for name in COLUMNS]
    columns = {field.name: [row.get(field.name) for row in rows] for field in fields}
    table = pa.table(
        {
            name: pa.array(values, type=field.type)
            for (name, values), field in zip(columns.items(), fields, strict=True)
        }
    )
    frame = pl.from_arrow(table)
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a table gives a frame
        raise TypeError("expected a frame")
    return frame.with_columns(
        pl.lit("ARTS POSLog").alias(PRODUCT_NAME),
        pl.lit("NRF ARTS").alias(PRODUCT_VENDOR),
        pl.lit("poslog").alias("metadata.log_name"),
        pl.lit("xml").alias(LOG_FORMAT),
        (pl.col("store.uid") + pl.lit(":") + pl.col("transaction.uid")).alias("metadata.uid"),
    )
