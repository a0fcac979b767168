"""Flow records as CSV: `nfdump -o csv`, or IPFIX exports whose header names the
information elements (sourceIPv4Address, octetDeltaCount, ...).

The header line says which column holds what; it is skipped, and remembered in
the parser so that the next chunk of the same file (a tailer that started mid
file, or a long file cut into chunks) is read with it. Without any header the
nfdump layout is assumed. nfdump's trailing `Summary` block is skipped too.

    ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,...
    2026-11-23 08:00:58.277,2026-11-23 08:00:58.282,0.004,10.0.12.11,192.0.2.123,123,123,UDP,...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from vigil.events import NetworkActivity
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    REASON,
    Parser,
    indexed,
    parse_with,
    parsers,
    reject_where,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords

NFDUMP_HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,"
    "dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,"
    "mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
)
"""The header `nfdump -o csv` writes (nfdump 1.6 and 1.7)."""

ROLES: dict[str, tuple[str, ...]] = {
    "start": ("ts", "flowStartMilliseconds", "flowStartSeconds", "flowStartMicroseconds"),
    "end": ("te", "flowEndMilliseconds", "flowEndSeconds", "flowEndMicroseconds"),
    "duration": ("td",),
    "src_ip": ("sa", "sourceIPv4Address", "sourceIPv6Address"),
    "dst_ip": ("da", "destinationIPv4Address", "destinationIPv6Address"),
    "src_port": ("sp", "sourceTransportPort"),
    "dst_port": ("dp", "destinationTransportPort"),
    "proto": ("pr", "protocolIdentifier"),
    "flags": ("flg", "tcpControlBits"),
    "bytes_out": ("ibyt", "octetDeltaCount", "octetTotalCount"),
    "packets_out": ("ipkt", "packetDeltaCount", "packetTotalCount"),
    "bytes_in": ("obyt", "reverseOctetDeltaCount"),
    "packets_in": ("opkt", "reversePacketDeltaCount"),
}
"""What each column means, by its name in nfdump's and IPFIX's vocabularies."""

PROTOCOL_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 58: "ipv6-icmp"}
PROTOCOL_NUMBERS = {name: number for number, name in PROTOCOL_NAMES.items()} | {"icmp6": 58}
TCP_FLAG_BITS = (128, 64, 32, 16, 8, 4, 2, 1)
"""nfdump writes TCP flags as eight characters, CEUAPRSF, '.' where unset."""
_HEADER = r"^[A-Za-z][A-Za-z0-9_]*(?:,[A-Za-z][A-Za-z0-9_]*)+$"
_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.fZ")


@dataclass(frozen=True)
class Layout:
    """Column names of a CSV header, and which dialect they are."""

    names: tuple[str, ...]

    @property
    def dialect(self) -> str:
        return "nfdump-csv" if self.names[:2] == ("ts", "te") else "ipfix-csv"

    @property
    def is_flows(self) -> bool:
        """False for nfdump's summary block (flows,bytes,packets,...)."""
        return self.position("src_ip") is not None and self.position("dst_ip") is not None

    def position(self, role: str) -> int | None:
        for name in ROLES[role]:
            if name in self.names:
                return self.names.index(name)
        return None

    def unit(self, role: str) -> str:
        """How a time column counts: ms, s or us since the epoch, or text."""
        position = self.position(role)
        name = self.names[position] if position is not None else ""
        for suffix, unit in (("Milliseconds", "ms"), ("Seconds", "s"), ("Microseconds", "us")):
            if name.endswith(suffix):
                return unit
        return "text"


NFDUMP = Layout(tuple(NFDUMP_HEADER.split(",")))


def _moment(text: pl.Expr, unit: str, iso: bool = True) -> pl.Expr:
    """A time column: epoch numbers in the unit its IPFIX name says, or date-time text
    (nfdump's `2026-11-23 08:00:58.277`, in UTC, or ISO 8601).

    `iso=False` says no value has a `T`, so the ISO formats need not be tried.
    """
    if unit != "text":
        scale = {"ms": 1, "s": 1000, "us": 0.001}[unit]
        number = text.cast(pl.Float64, strict=False)
        millis = (number * scale).round(0).cast(pl.Int64, strict=False)
        return millis.cast(pl.Datetime("ms", "UTC"))
    nfdump = text.str.to_datetime(_FORMATS[0], time_unit="ms", strict=False)
    if not iso:
        return nfdump.dt.replace_time_zone("UTC")
    iso_times = [text.str.to_datetime(fmt, time_unit="ms", strict=False) for fmt in _FORMATS[1:]]
    parsed = (
        pl.when(text.str.contains("T", literal=True))
        .then(pl.coalesce(*iso_times))
        .otherwise(nfdump)
    )
    return parsed.dt.replace_time_zone("UTC")


def _any_iso(frame: pl.DataFrame, names: list[str]) -> bool:
    """Whether any of these time columns holds ISO 8601 text (a `T`), one check per chunk."""
    found = pl.any_horizontal(pl.col(name).str.contains("T", literal=True).any() for name in names)
    return bool(frame.select(found).item())


def _tcp_flags(text: pl.Expr) -> pl.Expr:
    """nfdump's `...AP.SF` or IPFIX's integer (or 0x hex) as the TCP flags bitmap."""
    # Each of the eight letters is a bit, set unless it is '.': read them as binary digits.
    letters = (
        text.str.replace_all(r"[^.]", "1")
        .str.replace_all(".", "0", literal=True)
        .str.to_integer(base=2, strict=False)
    )
    hexadecimal = text.str.strip_prefix("0x").str.to_integer(base=16, strict=False)
    number = text.cast(pl.Int64, strict=False)
    return (
        pl.when(text.str.starts_with("0x"))
        .then(hexadecimal)
        .when(number.is_not_null())
        .then(number)
        .when(text.str.len_chars() == len(TCP_FLAG_BITS))
        .then(letters)
    )


def _flags_by_value(frame: pl.DataFrame, column: str) -> pl.Expr:
    """The TCP flags of `column`: a flow log holds few distinct flag texts, so each is
    read once (two regular expressions) and the rows look theirs up."""
    distinct = frame.get_column(column).drop_nulls().unique()
    bitmaps = distinct.to_frame().select(_tcp_flags(pl.col(column))).to_series()
    return pl.col(column).replace_strict(distinct, bitmaps, default=None, return_dtype=pl.Int64)


@parsers.register("netflow_csv")
class NetflowCsv(Parser):
    """NetFlow/IPFIX flows as CSV (nfdump -o csv, or IPFIX element names as header)."""

    description = "NetFlow/IPFIX CSV (nfdump -o csv, or IPFIX information element header)"
    event_classes = (NetworkActivity,)

    def __init__(self) -> None:
        self.layout = NFDUMP
        self.in_summary = False

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        first = next((line.strip() for line in sample if line.strip()), "")
        if first == NFDUMP_HEADER or first.startswith("ts,te,td,sa,da,sp,dp,pr"):
            return 1.0
        names = tuple(first.split(","))
        if Layout(names).is_flows and any(
            name in names for name in ("sourceIPv4Address", "sourceIPv6Address")
        ):
            return 1.0
        lines = sample_lines(sample)
        nfdump = lines.str.count_matches(",", literal=True) == len(NFDUMP.names) - 1
        dated = lines.str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
        return 0.6 * share(nfdump & dated)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        record = pl.col("record").str.strip_chars()
        frame = frame.with_columns(record.alias("record"))
        headers = frame.filter(
            pl.col("record").str.contains(_HEADER) | (pl.col("record") == "Summary")
        )
        result = ParseResult(skipped=headers.height)
        data = frame.filter(~pl.col(INDEX).is_in(headers.get_column(INDEX).implode()))
        cuts: list[tuple[int, Layout | None]] = [(-1, None if self.in_summary else self.layout)]
        for index, text in zip(
            headers.get_column(INDEX), headers.get_column("record"), strict=True
        ):
            layout = None if text == "Summary" else Layout(tuple(text.split(",")))
            if layout is not None and not layout.is_flows:
                layout = None  # nfdump's summary header: the line after it is no flow
            cuts.append((int(index), layout))
        for number, (start, part_layout) in enumerate(cuts):
            end = cuts[number + 1][0] if number + 1 < len(cuts) else None
            part = data.filter(pl.col(INDEX) > start)
            if end is not None:
                part = part.filter(pl.col(INDEX) < end)
            if part.height == 0:
                continue
            if part_layout is None:
                result.skipped += part.height
            else:
                result.extend(self._flows(part, part_layout))
        last = cuts[-1][1]
        self.in_summary = last is None
        if last is not None:
            self.layout = last
        result.rejected.sort(key=lambda item: item.index)
        return result

    def _flows(self, frame: pl.DataFrame, layout: Layout) -> ParseResult:
        width = len(layout.names)
        positions = {role: layout.position(role) for role in ROLES}
        needed = max(position for position in positions.values() if position is not None)
        # Split only as far as the last column used, plus the rest of the line in one
        # piece; the fields cut and the commas in that rest give the width.
        split = needed + 2
        frame = frame.with_columns(pl.col("record").str.splitn(",", split).alias("_fields"))
        rest = pl.col("_fields").struct.field(f"field_{split - 1}")
        cut = pl.sum_horizontal(
            pl.col("_fields").struct.field(f"field_{i}").is_not_null() for i in range(split - 1)
        )
        found = cut + pl.when(rest.is_null()).then(0).otherwise(
            rest.str.count_matches(",", literal=True) + 1
        )

        def field(role: str) -> pl.Expr:
            position = positions[role]
            if position is None:
                return pl.lit(None, dtype=pl.String)
            value = pl.col("_fields").struct.field(f"field_{position}")
            return pl.when(value == "").then(pl.lit(None, dtype=pl.String)).otherwise(value)

        # Each role's text once, as a helper column: later expressions read it, not re-cut it.
        frame = frame.with_columns(
            found.alias("_width"), *(field(role).alias(f"_{role}_text") for role in ROLES)
        )

        def column(role: str) -> pl.Expr:
            return pl.col(f"_{role}_text")

        def number(role: str) -> pl.Expr:
            return column(role).cast(pl.Int64, strict=False)

        iso = _any_iso(frame, ["_start_text", "_end_text"])
        proto = column("proto").str.to_lowercase()
        proto_num = pl.coalesce(
            proto.cast(pl.Int64, strict=False),
            proto.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64),
        )
        frame = frame.with_columns(proto.alias("_proto"), proto_num.alias("_proto_num"))
        proto, proto_num = pl.col("_proto"), pl.col("_proto_num")
        frame = frame.with_columns(
            _moment(column("start"), layout.unit("start"), iso).alias("start_time"),
            _moment(column("end"), layout.unit("end"), iso).alias("end_time"),
            column("src_ip").alias("src_endpoint.ip"),
            column("dst_ip").alias("dst_endpoint.ip"),
            number("src_port").alias("src_endpoint.port"),
            number("dst_port").alias("dst_endpoint.port"),
            proto_num.alias("connection_info.protocol_num"),
            pl.coalesce(
                proto_num.replace_strict(PROTOCOL_NAMES, default=None, return_dtype=pl.String),
                proto,
            ).alias("connection_info.protocol_name"),
            pl.when(proto_num == 6)
            .then(_flags_by_value(frame, "_flags_text"))
            .alias("connection_info.tcp_flags"),
            number("bytes_out").alias("traffic.bytes_out"),
            number("bytes_in").alias("traffic.bytes_in"),
            number("packets_out").alias("traffic.packets_out"),
            number("packets_in").alias("traffic.packets_in"),
            column("duration").cast(pl.Float64, strict=False).alias("_duration"),
            column("bytes_out").alias("_bytes_text"),
        )
        frame = reject_where(
            frame,
            (
                pl.col("_width") != width,
                f"expected {width} comma-separated fields, found a different number",
            ),
            (pl.col("end_time").is_null(), "flow end time is missing or not a time"),
            (pl.col("start_time").is_null(), "flow start time is missing or not a time"),
            (
                pl.col("src_endpoint.ip").is_null() | pl.col("dst_endpoint.ip").is_null(),
                "flow has no source or destination address",
            ),
            (
                pl.col("_bytes_text").is_not_null() & pl.col("traffic.bytes_out").is_null(),
                "flow byte count is not a number",
            ),
        )
        out, back = pl.col("traffic.bytes_out"), pl.col("traffic.bytes_in")
        pkts_out, pkts_in = pl.col("traffic.packets_out"), pl.col("traffic.packets_in")
        duration = pl.coalesce(
            (pl.col("_duration") * 1000).round(0).cast(pl.Int64, strict=False),
            (pl.col("end_time") - pl.col("start_time")).dt.total_milliseconds(),
        )
        frame = frame.with_columns(
            pl.col("end_time").alias("time"),
            duration.alias("duration"),
            pl.lit(6, dtype=pl.Int64).alias("activity_id"),
            pl.lit("nfdump" if layout.dialect == "nfdump-csv" else "IPFIX").alias(PRODUCT_NAME),
            pl.lit(layout.dialect).alias(LOG_FORMAT),
            (out.fill_null(0) + back.fill_null(0)).alias("traffic.bytes"),
            (pkts_out.fill_null(0) + pkts_in.fill_null(0)).alias("traffic.packets"),
        )
        keep = [
            name
            for name in frame.columns
            if name in (INDEX, REASON) or (not name.startswith("_") and name != "record")
        ]
        return parse_with(frame.select(keep), NetworkActivity)
