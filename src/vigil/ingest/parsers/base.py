"""The parser plugin: raw records of one format in, OCSF event batches out.

A parser works on a whole chunk of records at once with polars expressions; it
never loops over records in Python on the hot path and never raises on bad
input. The helpers here carry the shared mechanics:

- `decode_json` decodes a chunk of JSON records against a schema in one call and,
  only when that fails, narrows down to the bad records by bisection;
- `reject_where` marks records with a reason, vectorised;
- `to_batch` turns a frame whose columns are flattened OCSF names into an
  `EventBatch`, filling the captions and metadata that the class implies.

    @parsers.register("zeek_conn")
    class ZeekConn(Parser):
        event_classes = (NetworkActivity,)
        def parse(self, records): ...
"""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, Literal, TypeVar

import polars as pl
import pyarrow as pa
from polars.exceptions import PolarsError, ShapeError

from vigil.events import VIGIL_EXTENSION, EventBatch, OcsfEvent, SchemaMismatchError
from vigil.events.base import RETAIL_PROFILE, SeverityId
from vigil.events.columns import arrow_schema
from vigil.events.ocsf import OCSF_VERSION, category_caption
from vigil.ingest.enrich.geo import IPV4
from vigil.ingest.types import ParseResult, RawRecords, Rejected
from vigil.plugins import Registry

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
"""A frame or a lazy query: the helpers that only add columns take either."""

Framing = Literal["line", "block", "document"]
"""How a byte stream is cut into records: one per line; blocks separated by a blank
line (FreeRADIUS detail files); or whole documents (XML files, HTTP bodies)."""

INDEX = "_index"
REASON = "_reason"
PRODUCT_VENDOR = "metadata.product.vendor_name"
PRODUCT_NAME = "metadata.product.name"
LOG_FORMAT = "metadata.log_format"
ISO_8601 = "%Y-%m-%dT%H:%M:%S%.f%#z"
"""ISO 8601 with a zone (`Z` or `+01:00`), fractions of a second optional."""
MAX_RECORD_BYTES = 1 << 20
"""A line or block longer than this is rejected before parsing (no log line is a megabyte)."""
MAX_DOCUMENT_BYTES = 256 << 20
"""The limit for whole documents (POSLog files)."""


class Parser(ABC):
    """Turns records of one format into events; bad records are rejected, never raised."""

    name: ClassVar[str] = ""
    """Registry name, set by `parsers.register`."""
    description: ClassVar[str] = ""
    event_classes: ClassVar[tuple[type[OcsfEvent], ...]] = ()
    framing: ClassVar[Framing] = "line"

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        """How sure we are (0-1) that these first records of a file are in this format."""
        return 0.0

    @abstractmethod
    def parse(self, records: RawRecords) -> ParseResult:
        """Events of the records; each record is in a batch, rejected, or skipped."""


class ParserRegistry(Registry[Parser]):
    """Parsers by format name; registering also sets the class's `name`."""

    def register(self, name: str) -> Callable[[type[Parser]], type[Parser]]:
        add = super().register(name)

        def named(plugin: type[Parser]) -> type[Parser]:
            plugin.name = name
            return add(plugin)

        return named


parsers: ParserRegistry = ParserRegistry("parser")


def indexed(text: pl.Series) -> pl.DataFrame:
    """The records as a frame: `_index` (position in the chunk) and `record`."""
    return pl.DataFrame(
        {INDEX: pl.int_range(len(text), dtype=pl.UInt32, eager=True), "record": text}
    )


def decode_json(frame: pl.DataFrame, column: str, dtype: pl.Struct) -> pl.DataFrame:
    """Decode a column of JSON text into the struct's fields, one call per chunk.

    Records that are not JSON objects matching `dtype` get a `_reason`; their fields
    are null. The fast path decodes everything at once; only a chunk that fails is
    split in halves until the bad records are isolated, so the cost of bad input is
    proportional to how much of it there is.
    """
    texts = frame.get_column(column)
    try:
        decoded = _json_decode(texts, dtype)
    except PolarsError as error:  # some record is bad: find which, off the fast path
        decoded, reasons = _narrow(texts, dtype, error)
        out = frame.with_columns(decoded.struct.unnest())
        if any(reason is not None for reason in reasons):
            out = _add_reason(out, pl.Series(REASON, reasons, dtype=pl.String))
        return out
    return frame.with_columns(decoded.struct.unnest())


_SMALL = 16


def _json_decode(texts: pl.Series, dtype: pl.Struct) -> pl.Series:
    """One struct per record, or an error.

    polars decodes the column as one stream of JSON lines, so a record cut inside a
    string (`{"ts":"x","pa`) runs into the next one and two records come back as one
    object: a count that does not match is a bad record, like a syntax error.
    """
    decoded = texts.str.json_decode(dtype)
    if len(decoded) != len(texts):
        raise ShapeError(f"{len(texts)} records decoded as {len(decoded)} JSON objects")
    return decoded


def _decode(texts: pl.Series, dtype: pl.Struct) -> tuple[pl.Series, list[str | None]]:
    try:
        return _json_decode(texts, dtype), [None] * len(texts)
    except PolarsError as error:
        return _narrow(texts, dtype, error)


def _narrow(
    texts: pl.Series, dtype: pl.Struct, error: PolarsError
) -> tuple[pl.Series, list[str | None]]:
    """Decode records that failed together: singly when few, else by halves."""
    if len(texts) == 1:
        return pl.Series([None], dtype=dtype), [_json_reason(texts[0], error)]
    if len(texts) <= _SMALL:
        parts = [_decode(texts.slice(i, 1), dtype) for i in range(len(texts))]
    else:
        half = len(texts) // 2
        parts = [_decode(texts.slice(0, half), dtype), _decode(texts.slice(half), dtype)]
    series = pl.concat([part[0] for part in parts])
    reasons = [reason for part in parts for reason in part[1]]
    return series, reasons


def _json_reason(text: str | None, error: Exception) -> str:
    if text is None or not text.strip():
        return "empty record"
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return "not a JSON object"
    detail = str(error).strip().splitlines()[0]
    return f"invalid JSON or unexpected value types: {detail[:300]}"


def _add_reason(frame: pl.DataFrame, reasons: pl.Series) -> pl.DataFrame:
    if REASON in frame.columns:
        return frame.with_columns(pl.coalesce(pl.col(REASON), reasons).alias(REASON))
    return frame.with_columns(reasons)


def utc_time(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text with a zone as a UTC millisecond time; null when it is not one."""
    return text.str.to_datetime(ISO_8601, time_unit="ms", time_zone="UTC", strict=False)


_UNFORMATTED = "refused by a check whose reason names a missing value"


def reject_where(frame: FrameT, *checks: tuple[pl.Expr, str | pl.Expr]) -> FrameT:
    """Give rows their first failing check's reason (earlier reasons win).

    A reason is fixed text, or an expression computed per row (to name the value seen).
    Works on a `LazyFrame` too, so that a parser can check and map in one query.
    A computed reason that comes out null (it formats a missing value) still rejects:
    a null reason would let the row through with no event and no rejection.
    """
    if not checks:
        return frame
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for condition, reason in reversed(checks):
        text = (
            pl.lit(reason)
            if isinstance(reason, str)
            else reason.cast(pl.String).fill_null(pl.lit(_UNFORMATTED))
        )
        expr = pl.when(condition.fill_null(value=False)).then(text).otherwise(expr)
    if REASON in column_names(frame):
        return frame.with_columns(pl.coalesce(pl.col(REASON), expr).alias(REASON))
    return frame.with_columns(expr.alias(REASON))


def column_names(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The columns of a frame, or of what a lazy query will give (without running it)."""
    if isinstance(frame, pl.LazyFrame):
        return frame.collect_schema().names()
    return frame.columns


def split_rejected(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Rejected]]:
    """Rows without a reason, and the rejected ones as `Rejected`."""
    if REASON not in frame.columns:
        return frame, []
    if frame.get_column(REASON).null_count() == frame.height:
        return frame.drop(REASON), []  # nothing rejected: no filter, no copy
    bad = frame.filter(pl.col(REASON).is_not_null()).select(INDEX, REASON)
    rejected = [
        Rejected(int(index), str(reason))
        for index, reason in zip(bad.get_column(INDEX), bad.get_column(REASON), strict=True)
    ]
    return frame.filter(pl.col(REASON).is_null()).drop(REASON), rejected


def to_batch(frame: pl.DataFrame, event_class: type[OcsfEvent]) -> EventBatch:
    """An `EventBatch` of a frame whose columns are the class's flattened names.

    Helper columns (`_index`, anything starting with `_`) are dropped. Captions
    (activity, class, category, type, severity), the OCSF version, and the
    extension and profile declarations are filled as the typed model would.
    """
    columns = [name for name in frame.columns if not name.startswith("_")]
    frame = frame.select(columns)
    frame = _complete(frame, event_class)
    try:
        return EventBatch(event_class, _with_schema(frame.to_arrow(), arrow_schema(event_class)))
    except SchemaMismatchError:
        raise
    except Exception as error:  # Arrow raises many types; name the class in one error
        raise SchemaMismatchError(
            f"cannot build {event_class.CLASS_NAME} columns: {error}"
        ) from error


def _with_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table in the class schema's column order and types, when it only needs what
    `conform` would do without complaint: offsets narrowed (polars writes large
    strings and lists) and absent columns added as nulls.

    The absent columns (most of a wide OCSF class) share one zeroed buffer instead of
    each allocating its own. Anything else (an unknown column, a failing cast) is
    left as it is, for `EventBatch` to conform and report.
    """
    if any(name not in schema.names for name in table.column_names):
        return table
    arrays: list[pa.ChunkedArray | pa.Array] = []
    zeros = _zeros(8 * (table.num_rows + 1))
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(_nulls(field.type, table.num_rows, zeros))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return table
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)


_ZEROS: list[pa.Buffer] = []


def _zeros(size: int) -> pa.Buffer:
    """A zeroed, read-only buffer of at least `size` bytes, kept for reuse."""
    if not _ZEROS or _ZEROS[0].size < size:
        _ZEROS[:] = [pa.py_buffer(bytes(max(size, 1 << 16)))]
    return _ZEROS[0]


def _nulls(dtype: pa.DataType, length: int, zeros: pa.Buffer) -> pa.Array:
    """An all-null array whose validity, offsets and values all point at `zeros`."""
    if pa.types.is_list(dtype):
        child = pa.array([], type=dtype.value_type)
        return pa.Array.from_buffers(dtype, length, [zeros, zeros], length, children=[child])
    if pa.types.is_string(dtype) or pa.types.is_binary(dtype):
        return pa.Array.from_buffers(dtype, length, [zeros, zeros, zeros], length)
    if pa.types.is_struct(dtype):
        children = [_nulls(dtype.field(i).type, length, zeros) for i in range(dtype.num_fields)]
        return pa.Array.from_buffers(dtype, length, [zeros], length, children=children)
    if pa.types.is_primitive(dtype):
        return pa.Array.from_buffers(dtype, length, [zeros, zeros], length)
    return pa.nulls(length, dtype)


def _activity_captions(event_class: type[OcsfEvent], activity: pl.Expr) -> pl.Expr:
    captions = dict(event_class.ACTIVITIES)
    if not captions:
        for value in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 99):
            caption = event_class.activity_caption(value)
            if caption is not None:
                captions[value] = caption
    return activity.replace_strict(captions, default=None, return_dtype=pl.String)


def _complete(frame: pl.DataFrame, event_class: type[OcsfEvent]) -> pl.DataFrame:
    def missing(name: str) -> bool:
        return name not in frame.columns

    fills: list[pl.Expr] = []
    if missing("severity_id"):
        fills.append(pl.lit(int(SeverityId.INFORMATIONAL), dtype=pl.Int64).alias("severity_id"))
    frame = frame.with_columns(fills) if fills else frame
    severity_names = {int(level): level.name.title() for level in SeverityId}
    activity_name = _activity_captions(event_class, pl.col("activity_id"))
    exprs: list[pl.Expr] = [
        pl.lit(OCSF_VERSION).alias("metadata.version"),
        pl.lit(event_class.CLASS_CAPTION).alias("class_name"),
        pl.lit(category_caption(event_class.CATEGORY_UID) or "Other").alias("category_name")
        if event_class.EXTENSION is None
        else pl.lit(None, dtype=pl.String).alias("category_name"),
        pl.col("severity_id")
        .replace_strict(severity_names, default=None, return_dtype=pl.String)
        .alias("severity"),
    ]
    if missing("activity_name"):
        exprs.append(activity_name.alias("activity_name"))
    exprs.append(
        pl.when(activity_name.is_not_null())
        .then(pl.lit(f"{event_class.CLASS_CAPTION}: ") + activity_name)
        .alias("type_name")
    )
    if event_class.EXTENSION is not None:
        extension = {
            "name": VIGIL_EXTENSION.name,
            "uid": VIGIL_EXTENSION.uid,
            "version": VIGIL_EXTENSION.version,
        }
        exprs.append(pl.lit([extension]).alias("metadata.extensions"))
    if "store.uid" in frame.columns:
        exprs.append(
            pl.when(pl.col("store.uid").is_not_null())
            .then(pl.lit([RETAIL_PROFILE]))
            .alias("metadata.profiles")
        )
    return frame.with_columns(exprs)


MAC_ADDRESS = r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$"
"""OCSF's `mac_t`."""


def reject_malformed(frame: pl.DataFrame) -> pl.DataFrame:
    """Reject rows whose address or port columns hold what OCSF would refuse: an `*.ip`
    that is no IPv4 or IPv6 address (`10.0.9.12srcport=36183`, `00.0.11.34`), a `*.mac`
    that is no MAC address, a `*.port` outside 0-65535; and times no reader could
    turn into a date (outside the years 1-9999).

    A damaged record can put any text where a parser expects an address; stored, it
    would break every consumer that trusts the type. Addresses repeat, so each
    distinct value is checked once.
    """
    checks: list[tuple[pl.Expr, str]] = []
    for name, dtype in frame.schema.items():
        leaf = name.rpartition(".")[2]
        if name.startswith("_"):
            continue
        if isinstance(dtype, pl.Datetime) and dtype.time_unit in _PER_SECOND:
            # Compared as integers: polars cannot take the year of such a value.
            first, last = (bound * _PER_SECOND[dtype.time_unit] for bound in _YEARS_1_TO_9999)
            ticks = pl.col(name).cast(pl.Int64)
            checks.append(((ticks < first) | (ticks > last), f"{name} is outside the years 1-9999"))
        elif leaf not in ("ip", "mac", "port"):
            continue
        elif leaf == "port" and dtype.is_integer():
            outside = (pl.col(name) < 0) | (pl.col(name) > 65535)
            checks.append((outside, f"{name} is not a port number (0-65535)"))
        elif dtype == pl.String:
            bad = _bad_values(frame.get_column(name), leaf)
            if len(bad):
                what = "an IP address" if leaf == "ip" else "a MAC address"
                checks.append((pl.col(name).is_in(bad.implode()), f"{name} is not {what}"))
    if not checks:
        return frame
    # One pass to see which checks any row fails; the reasons are built for those only.
    failing = frame.select(
        condition.fill_null(value=False).any().alias(str(number))
        for number, (condition, _) in enumerate(checks)
    ).row(0)
    return reject_where(
        frame, *(check for check, fails in zip(checks, failing, strict=True) if fails)
    )


_YEARS_1_TO_9999 = (-62_135_596_800, 253_402_300_799)
"""The first and last second Python's `datetime` can hold, from the epoch."""
_PER_SECOND = {"ms": 1_000, "us": 1_000_000}
"""Datetime units; nanoseconds cannot leave the years 1677-2262 at all."""


def _bad_values(column: pl.Series, kind: str) -> pl.Series:
    """The distinct values of an `ip` or `mac` column that are not of that form."""
    distinct = column.drop_nulls().unique()
    if kind == "mac":
        return distinct.filter(~distinct.str.contains(MAC_ADDRESS))
    others = distinct.filter(~distinct.str.contains(IPV4))  # IPv6, or not an address
    return pl.Series([value for value in others.to_list() if not _is_ip(value)], dtype=pl.String)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def parse_with(frame: pl.DataFrame, event_class: type[OcsfEvent]) -> ParseResult:
    """The usual ending of a parser: reject malformed addresses and ports, split off
    rejected rows, batch the rest."""
    good, rejected = split_rejected(reject_malformed(frame))
    result = ParseResult(rejected=rejected)
    if good.height:
        result.batches.append(to_batch(good, event_class))
    return result


def run(parser: Parser, records: RawRecords) -> ParseResult:
    """Parse records, skipping blank ones, with rejected indexes in `records`' numbering.

    Every caller goes through here, so no parser needs its own handling of blank
    lines, and one that raises (a defect, never bad input) names itself.
    """
    text = records.text
    blank = text.str.strip_chars().str.len_chars().fill_null(0) == 0
    limit = MAX_DOCUMENT_BYTES if parser.framing == "document" else MAX_RECORD_BYTES
    huge = text.str.len_bytes().fill_null(0) > limit
    if not bool((blank | huge).any()):
        return parser.parse(records)
    keep = ~(blank | huge)
    kept = pl.int_range(len(text), dtype=pl.UInt32, eager=True).filter(keep)
    subset = RawRecords(records.source, text.filter(keep), records.first, records.unit)
    result = parser.parse(subset)
    mapping = kept.to_list()
    result.rejected = [Rejected(mapping[item.index], item.reason) for item in result.rejected]
    sizes = text.str.len_bytes()
    for index in huge.arg_true().to_list():
        result.rejected.append(
            Rejected(
                index,
                f"record of {sizes[index]:,} bytes is over the {limit:,}-byte limit",
            )
        )
    result.rejected.sort(key=lambda item: item.index)
    result.skipped += int(blank.sum())
    return result
