"""Vigil's own retail JSON lines: POS transactions (`vigil.pos/1`), self-checkout sessions (`vigil.sco/1`).

Both formats are documented in `docs/formats/`. Each record names its format
version in `schema`; a version this parser does not read is rejected with the
versions it does read, never guessed at. A whole chunk is decoded against one
struct type and mapped with column expressions; the nested lists (lines,
tenders, discounts) are mapped with `list.eval`, never record by record.

Card data: a tender carries only `bin` and `last4`. A card field holding
anything that looks like a full card number (12-19 digits, masked or not) gets
the whole record rejected so that it is never stored.

The helpers at the top (times, schema versions, devices, sniffing) are shared by
the other retail parsers (`access`, `poslog`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import PosTransaction
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    PRODUCT_VENDOR,
    REASON,
    Parser,
    decode_json,
    indexed,
    parse_with,
    parsers,
    reject_where,
    utc_time,
)
from vigil.ingest.types import ParseResult, RawRecords

TIME_REASON = "is missing or not an ISO 8601 time with a zone, e.g. 2026-11-23T09:29:34.488Z"
OTHER_DEVICE = 99
"""OCSF device type_id Other: tills, door controllers and panels have no OCSF type."""


def iso_time(name: str) -> pl.Expr:
    """A text column of ISO 8601 times with zones as UTC milliseconds (null if not one)."""
    return utc_time(pl.col(name)).alias(name)


def reject_other_schemas(frame: pl.DataFrame, supported: Sequence[str]) -> pl.DataFrame:
    """Reject records without `schema`, or with a version this parser does not read."""
    names = ", ".join(supported)
    schema = pl.col("schema")
    return reject_where(
        frame,
        (schema.is_null(), f"no schema field (supported: {names})"),
        (
            ~schema.is_in(list(supported)),
            pl.lit("schema ")
            + schema.str.slice(0, 40)
            + pl.lit(f" is not supported (supported: {names})"),
        ),
    )


def device(uid: pl.Expr, kind: str | pl.Expr) -> list[pl.Expr]:
    """`device.*` columns of a till, controller or panel; none when the uid is missing."""
    known = uid.is_not_null()
    kind_expr = pl.lit(kind) if isinstance(kind, str) else kind
    return [
        uid.alias("device.uid"),
        pl.when(known).then(pl.lit(OTHER_DEVICE)).alias("device.type_id"),
        pl.when(known).then(kind_expr).alias("device.type"),
    ]


def sniff_marker(sample: Sequence[str], *markers: str) -> float:
    """Share of the first non-blank records (up to 20) that hold every marker."""
    records = [line for line in sample if line.strip()][:20]
    if not records:
        return 0.0
    squeezed = [line.replace(" ", "") for line in records]
    hits = sum(all(marker in line for marker in markers) for line in squeezed)
    return hits / len(records)


POS_SCHEMAS = ("vigil.pos/1",)
TYPES = {
    "sale": 1,
    "refund": 2,
    "void": 3,
    "post_void": 4,
    "no_sale": 5,
    "drawer_open": 6,
    "drawer_close": 7,
    "suspend": 8,
    "resume": 9,
}
DRAWER_TYPES = ("no_sale", "drawer_open", "drawer_close")
CURRENCY = r"^[A-Z]{3}$"
PAN_LIKE = r"^[0-9*xX#]{12,19}$"
"""A card field that is a whole card number, clear or masked, once spaces and dashes go."""

ITEM = pl.Struct(
    {
        "seq": pl.Int64(),
        "sku": pl.String(),
        "gtin": pl.String(),
        "desc": pl.String(),
        "dept": pl.String(),
        "qty": pl.Float64(),
        "price": pl.Float64(),
        "amount": pl.Float64(),
        "discount": pl.Float64(),
        "entry": pl.String(),
        "voided": pl.Boolean(),
        "void_reason": pl.String(),
        "return": pl.Boolean(),
        "override": pl.Boolean(),
        "orig_price": pl.Float64(),
    }
)
CARD_FIELDS = ("bin", "last4", "pan", "card_number")
"""Tender fields that could hold card digits; `pan` and `card_number` are not in the
format and are only read to refuse a record that carries them."""
TENDER = pl.Struct(
    {
        "type": pl.String(),
        "amount": pl.Float64(),
        "bin": pl.String(),
        "last4": pl.String(),
        "brand": pl.String(),
        "entry": pl.String(),
        "fingerprint": pl.String(),
        "auth": pl.String(),
        "approved": pl.Boolean(),
        "change": pl.Float64(),
        "pan": pl.String(),
        "card_number": pl.String(),
    }
)
DISCOUNT = pl.Struct(
    {
        "type": pl.String(),
        "amount": pl.Float64(),
        "reason": pl.String(),
        "line": pl.Int64(),
        "approver": pl.String(),
    }
)
POS_RECORD = pl.Struct(
    {
        "schema": pl.String(),
        "type": pl.String(),
        "ts": pl.String(),
        "store": pl.String(),
        "terminal": pl.String(),
        "lane": pl.String(),
        "cashier": pl.String(),
        "supervisor": pl.String(),
        "txn": pl.String(),
        "receipt": pl.String(),
        "seq": pl.Int64(),
        "business_day": pl.String(),
        "currency": pl.String(),
        "self_checkout": pl.Boolean(),
        "training": pl.Boolean(),
        "loyalty": pl.String(),
        "drawer": pl.String(),
        "drawer_expected": pl.Float64(),
        "drawer_counted": pl.Float64(),
        "items": pl.List(ITEM),
        "discounts": pl.List(DISCOUNT),
        "tenders": pl.List(TENDER),
        "subtotal": pl.Float64(),
        "discount": pl.Float64(),
        "tax": pl.Float64(),
        "total": pl.Float64(),
        "orig_receipt": pl.String(),
    }
)


def _field(name: str) -> pl.Expr:
    return pl.element().struct.field(name)


def _line_items(refund: bool) -> pl.Expr:
    """`LineItem` structs, in the class's field order; in a refund every line is a return."""
    amount = _field("amount")
    is_return = (
        pl.lit(value=True)
        if refund
        else pl.coalesce(_field("return"), amount < 0, pl.lit(value=False))
    )
    return pl.struct(
        _field("seq").fill_null(pl.int_range(1, pl.len() + 1)).alias("sequence"),
        _field("sku").alias("sku"),
        _field("gtin").alias("gtin"),
        _field("desc").alias("description"),
        _field("dept").alias("department"),
        _field("qty").fill_null(1.0).alias("quantity"),
        _field("price").alias("unit_price"),
        amount.alias("extended_price"),
        _field("discount").alias("discount_amount"),
        _field("entry").alias("entry_method"),
        _field("voided").fill_null(value=False).alias("is_voided"),
        _field("void_reason").alias("void_reason"),
        is_return.alias("is_return"),
        _field("override").fill_null(value=False).alias("is_price_override"),
        _field("orig_price").alias("original_price"),
    )


def _tender() -> pl.Expr:
    has_card = pl.any_horizontal(_field(name).is_not_null() for name in ("bin", "last4", "brand"))
    card = pl.struct(
        _field("bin").alias("bin"),
        _field("last4").alias("last4"),
        _field("brand").alias("brand"),
        _field("entry").alias("entry_mode"),
        _field("fingerprint").alias("fingerprint"),
    )
    return pl.struct(
        _field("type").alias("type"),
        _field("amount").alias("amount"),
        pl.when(has_card).then(card).alias("card"),
        _field("auth").alias("auth_code"),
        _field("approved").alias("is_approved"),
        _field("change").alias("change_amount"),
    )


def _discount() -> pl.Expr:
    return pl.struct(
        _field("type").alias("type"),
        _field("amount").alias("amount"),
        _field("reason").alias("reason"),
        _field("line").alias("line_sequence"),
        _field("approver").alias("approver_uid"),
    )


def _any(column: str, condition: pl.Expr) -> pl.Expr:
    """Whether any element of a list column meets the condition (false for none or null)."""
    return pl.col(column).list.eval(condition.fill_null(value=False)).list.any().fill_null(False)


def _count(column: str, condition: pl.Expr) -> pl.Expr:
    return pl.col(column).list.eval(condition.fill_null(value=False)).list.sum().cast(pl.Int64)


def _pan_like(name: str) -> pl.Expr:
    return _field(name).str.replace_all(r"[ \-]", "").str.contains(PAN_LIKE)


@parsers.register("vigil_pos")
class VigilPos(Parser):
    """Vigil's POS export (`vigil.pos/1`): one transaction per JSON line."""

    description = "Vigil POS transactions, JSON lines (vigil.pos/1)"
    event_classes = (PosTransaction,)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        return sniff_marker(sample, '"schema":"vigil.pos/')

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = decode_json(frame, "record", POS_RECORD).drop("record")
        frame = frame.with_columns(iso_time("ts"))
        frame = reject_other_schemas(frame, POS_SCHEMAS)
        kinds = ", ".join(TYPES)
        frame = reject_where(
            frame,
            (
                ~pl.col("type").is_in(list(TYPES)).fill_null(value=False),
                f"type is missing or not a vigil.pos/1 type ({kinds})",
            ),
            (pl.col("ts").is_null(), f"ts {TIME_REASON}"),
            (
                _any("tenders", pl.any_horizontal(_pan_like(name) for name in CARD_FIELDS)),
                "a tender's card field holds what looks like a full card number (PAN); "
                "the record is refused so that it is never stored",
            ),
            (
                _any(
                    "tenders",
                    ~_field("bin").str.contains(r"^\d{6,8}$")
                    | ~_field("last4").str.contains(r"^\d{4}$"),
                ),
                "a tender's bin is not 6-8 digits or its last4 is not 4 digits",
            ),
            (pl.col("store").is_null(), "store is missing"),
            (pl.col("txn").is_null(), "txn is missing"),
            (
                ~pl.col("currency").str.contains(CURRENCY),
                "currency is not an ISO 4217 code (three capital letters)",
            ),
            (
                _any("tenders", _field("type").is_null() | _field("amount").is_null()),
                "a tender has no type or no amount",
            ),
            (
                _any("discounts", _field("type").is_null() | _field("amount").is_null()),
                "a discount has no type or no amount",
            ),
            (
                (pl.col("drawer_expected").is_not_null() | pl.col("drawer_counted").is_not_null())
                & pl.col("drawer").is_null()
                & pl.col("terminal").is_null(),
                "drawer amounts without a drawer or terminal to count them against",
            ),
        )
        out = frame.select(INDEX, *((REASON,) if REASON in frame.columns else ()), *self.mapping())
        return parse_with(out, PosTransaction)

    def mapping(self) -> list[pl.Expr]:
        """PosTransaction columns from the decoded `vigil.pos/1` fields."""
        kind, terminal = pl.col("type"), pl.col("terminal")
        refund = kind == "refund"
        self_checkout = pl.col("self_checkout").fill_null(value=False)
        drawer = pl.coalesce(
            pl.col("drawer"),
            pl.when(
                kind.is_in(DRAWER_TYPES)
                | pl.col("drawer_expected").is_not_null()
                | pl.col("drawer_counted").is_not_null()
            ).then(terminal),
        )
        items = pl.col("items")
        return [
            pl.col("ts").alias("time"),
            kind.replace_strict(TYPES, default=None, return_dtype=pl.Int64).alias("activity_id"),
            pl.lit("Vigil POS export").alias(PRODUCT_NAME),
            pl.lit("Vigil").alias(PRODUCT_VENDOR),
            pl.lit("pos").alias("metadata.log_name"),
            pl.col("schema").alias(LOG_FORMAT),
            (pl.col("store") + pl.lit(":") + pl.col("txn")).alias("metadata.uid"),
            pl.col("store").alias("store.uid"),
            pl.col("txn").alias("transaction.uid"),
            pl.col("receipt").alias("transaction.receipt_uid"),
            pl.col("business_day").alias("transaction.business_day"),
            pl.col("lane").alias("transaction.lane"),
            pl.col("seq").alias("transaction.sequence_number"),
            pl.col("currency").fill_null("USD").alias("transaction.currency"),
            pl.col("subtotal").alias("transaction.subtotal"),
            pl.col("discount").alias("transaction.discount_total"),
            pl.col("tax").alias("transaction.tax_total"),
            pl.col("total").alias("transaction.total"),
            _count("items", ~_field("voided").fill_null(value=False)).alias(
                "transaction.item_count"
            ),
            _count("items", _field("voided")).alias("transaction.void_count"),
            pl.col("orig_receipt").alias("transaction.original_receipt_uid"),
            self_checkout.alias("transaction.is_self_checkout"),
            pl.col("training").fill_null(value=False).alias("transaction.is_training"),
            pl.col("loyalty").alias("transaction.loyalty_uid"),
            pl.when(refund)
            .then(items.list.eval(_line_items(refund=True)))
            .otherwise(items.list.eval(_line_items(refund=False)))
            .alias("line_items"),
            pl.col("tenders").list.eval(_tender()).alias("tenders"),
            pl.col("discounts").list.eval(_discount()).alias("discounts"),
            pl.col("cashier").alias("cashier.uid"),
            pl.col("supervisor").alias("supervisor.uid"),
            *device(
                terminal,
                pl.when(self_checkout)
                .then(pl.lit("Self-Checkout"))
                .otherwise(pl.lit("POS Terminal")),
            ),
            drawer.alias("cash_drawer.uid"),
            pl.col("drawer_expected").alias("cash_drawer.expected_amount"),
            pl.col("drawer_counted").alias("cash_drawer.counted_amount"),
        ]


SCO_SCHEMAS = ("vigil.sco/1",)
COUNTERS = (
    "scans",
    "voids",
    "scans_without_registration",
    "quantity_modifications",
    "weight_mismatches",
    "attendant_interventions",
)
SCO_RECORD = pl.Struct(
    {
        "schema": pl.String(),
        "ts": pl.String(),
        "start": pl.String(),
        "store": pl.String(),
        "terminal": pl.String(),
        "session": pl.String(),
        "currency": pl.String(),
        "total": pl.Float64(),
        "trust_level": pl.Int64(),
        "scan_seconds": pl.Float64(),
        **{name: pl.Int64() for name in COUNTERS},
    }
)
SALE = TYPES["sale"]


@parsers.register("vigil_sco")
class VigilSco(Parser):
    """Self-checkout session summaries (`vigil.sco/1`): one paid session per JSON line."""

    description = "Vigil self-checkout session summaries, JSON lines (vigil.sco/1)"
    event_classes = (PosTransaction,)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        return sniff_marker(sample, '"schema":"vigil.sco/')

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = decode_json(frame, "record", SCO_RECORD).drop("record")
        frame = frame.with_columns(pl.col("start").alias("_start_text"))
        frame = frame.with_columns(iso_time("ts"), iso_time("start"))
        frame = reject_other_schemas(frame, SCO_SCHEMAS)
        negative = pl.any_horizontal(pl.col(name) < 0 for name in (*COUNTERS, "scan_seconds"))
        frame = reject_where(
            frame,
            (pl.col("ts").is_null(), f"ts {TIME_REASON}"),
            (
                pl.col("start").is_null() & pl.col("_start_text").is_not_null(),
                "start is not an ISO 8601 time with a zone",
            ),
            (pl.col("start") > pl.col("ts"), "start is after ts (the session's end)"),
            (pl.col("store").is_null(), "store is missing"),
            (pl.col("session").is_null(), "session is missing"),
            (negative, "a session counter is negative"),
            (~pl.col("trust_level").is_between(1, 6), "trust_level is not between 1 and 6"),
            (
                ~pl.col("currency").str.contains(CURRENCY),
                "currency is not an ISO 4217 code (three capital letters)",
            ),
        )
        out = frame.select(INDEX, *((REASON,) if REASON in frame.columns else ()), *self.mapping())
        return parse_with(out, PosTransaction)

    def mapping(self) -> list[pl.Expr]:
        """PosTransaction columns (a self-checkout sale) from the session summary."""
        return [
            pl.col("ts").alias("time"),
            pl.col("start").alias("start_time"),
            (pl.col("ts") - pl.col("start")).dt.total_milliseconds().alias("duration"),
            pl.lit(SALE, dtype=pl.Int64).alias("activity_id"),
            pl.lit("Vigil self-checkout export").alias(PRODUCT_NAME),
            pl.lit("Vigil").alias(PRODUCT_VENDOR),
            pl.lit("sco").alias("metadata.log_name"),
            pl.col("schema").alias(LOG_FORMAT),
            (pl.col("store") + pl.lit(":") + pl.col("session")).alias("metadata.uid"),
            pl.col("store").alias("store.uid"),
            pl.col("session").alias("transaction.uid"),
            pl.col("currency").fill_null("USD").alias("transaction.currency"),
            pl.col("total").alias("transaction.total"),
            pl.col("voids").alias("transaction.void_count"),
            pl.lit(value=True).alias("transaction.is_self_checkout"),
            *device(pl.col("terminal"), "Self-Checkout"),
            *(pl.col(name).alias(f"self_checkout.{name}") for name in COUNTERS),
            pl.col("scan_seconds").alias("self_checkout.scan_seconds"),
            pl.col("trust_level").alias("self_checkout.trust_level"),
        ]
