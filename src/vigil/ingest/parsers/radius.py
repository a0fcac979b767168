"""FreeRADIUS accounting `detail` files: the Wi-Fi sessions of every store.

Each record is a block of `Attribute = value` lines under a date line, blocks
separated by a blank line (framing "block"):

    Mon Nov 23 13:19:26 2026
        Acct-Status-Type = Interim-Update
        Acct-Session-Id = "8CB563FBE9C610BF"
        User-Name = "tfarouk10020"
        NAS-IP-Address = 10.0.25.12
        Called-Station-Id = "02-00-01-00-19-0C:Northwind-Staff"
        Calling-Station-Id = "BA-ED-F3-9E-4E-8B"
        Acct-Input-Octets = 13146262
        ...
        Timestamp = 1795439966

Start, Interim-Update and Stop become Authentication events (Logon, Other named
"Interim-Update", Logoff); Accounting-On/Off (a NAS restarting) carry no user
session and are counted as skipped. The user is User-Name; the NAS (access
point) is `dst_endpoint`, the client is `src_endpoint` (Calling-Station-Id,
Framed-IP-Address), the SSID after the BSSID in Called-Station-Id is the
`service`. MAC addresses are written lower-case with colons, as other sources
write them. OCSF Authentication has no traffic counters, so `unmapped` keeps
`acct_input_octets` / `acct_output_octets` (Gigawords included: gigawords x 2^32
+ octets), the packet counts and `acct_session_time` in seconds.

FreeRADIUS writes `Timestamp` (when it received the request) last in every
record; a block without it is cut short and rejected. The event time is
`Timestamp` less `Acct-Delay-Time`.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import Authentication
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    PRODUCT_VENDOR,
    REASON,
    Parser,
    indexed,
    parse_with,
    parsers,
    reject_where,
)
from vigil.ingest.types import ParseResult, RawRecords

ATTRIBUTES = {
    "Acct-Status-Type": "acct_status",
    "Acct-Session-Id": "session_id",
    "Acct-Unique-Session-Id": "unique_id",
    "User-Name": "user",
    "NAS-IP-Address": "nas_ip",
    "NAS-Identifier": "nas_id",
    "Called-Station-Id": "called",
    "Calling-Station-Id": "calling",
    "Framed-IP-Address": "framed_ip",
    "Acct-Input-Octets": "input_octets",
    "Acct-Output-Octets": "output_octets",
    "Acct-Input-Gigawords": "input_gigawords",
    "Acct-Output-Gigawords": "output_gigawords",
    "Acct-Input-Packets": "input_packets",
    "Acct-Output-Packets": "output_packets",
    "Acct-Session-Time": "session_time",
    "Acct-Terminate-Cause": "cause",
    "Acct-Delay-Time": "delay",
    "Event-Timestamp": "event_timestamp",
    "Timestamp": "timestamp",
}
"""RADIUS attribute -> the helper column its value is read into."""
COUNTERS = (
    "input_octets",
    "output_octets",
    "input_gigawords",
    "output_gigawords",
    "input_packets",
    "output_packets",
    "session_time",
    "delay",
    "timestamp",
)
ACTIVITY = {"Start": 1, "Stop": 2, "Interim-Update": 99}
"""Acct-Status-Type -> Authentication activity_id (Logon, Logoff, Other)."""
NO_SESSION = ("Accounting-On", "Accounting-Off")
RADIUS_PROTOCOL = 10  # OCSF auth_protocol_id "RADIUS"
GIGAWORD = 1 << 32
SSID = r"^[0-9A-Fa-f]{2}(?:[-:]?[0-9A-Fa-f]{2}){5}:(.+)$"
BSSID = r"^([0-9A-Fa-f]{2}(?:[-:]?[0-9A-Fa-f]{2}){5})"


def attribute(name: str) -> pl.Expr:
    """The value of one attribute in the block, unquoted; null when absent.

    The reference for `attributes`, which reads every attribute in one pass.
    """
    pattern = rf'(?m)^[ \t]*{name}[ \t]*=[ \t]*"?([^"\r\n]*?)"?[ \t]*\r?$'
    return pl.col("record").str.extract(pattern, 1)


def attributes(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with a column per attribute of `ATTRIBUTES`, read in one pass.

    Blocks are cut into lines and each line into name and value, once; the first
    well-formed line of each name in a block gives its value (what `attribute`
    finds): a value is unquoted, and one with a quote or a carriage return left
    inside is not well-formed.
    """
    lines = frame.select(INDEX, pl.col("record").str.split("\n").alias("_line")).explode("_line")
    pair = pl.col("_line").str.splitn("=", 2)
    value = (
        pair.struct.field("field_1")
        .str.strip_suffix("\r")
        .str.strip_chars(" \t")
        .str.strip_prefix('"')
        .str.strip_suffix('"')
    )
    lines = lines.select(
        INDEX,
        pair.struct.field("field_0").str.strip_chars(" \t").alias("_name"),
        value.alias("_value"),
    )
    lines = lines.filter(
        pl.col("_name").is_in(list(ATTRIBUTES))
        & ~pl.col("_value").str.contains(r'["\r]').fill_null(value=True)
    )
    wide = lines.pivot(on="_name", index=INDEX, values="_value", aggregate_function="first").rename(
        lambda name: ATTRIBUTES.get(name, name)
    )
    missing = [column for column in ATTRIBUTES.values() if column not in wide.columns]
    wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(column) for column in missing)
    return frame.join(
        wide.select(INDEX, *ATTRIBUTES.values()), on=INDEX, how="left", maintain_order="left"
    )


def mac(text: pl.Expr) -> pl.Expr:
    """A MAC address as `aa:bb:cc:dd:ee:ff`, from dashes, colons or bare hex."""
    hexes = text.str.replace_all(r"[-:.]", "").str.to_lowercase()
    return (
        pl.when(hexes.str.contains(r"^[0-9a-f]{12}$"))
        .then(pl.concat_str([hexes.str.slice(i, 2) for i in range(0, 12, 2)], separator=":"))
        .otherwise(text)
    )


@parsers.register("radius_detail")
class RadiusDetail(Parser):
    """FreeRADIUS accounting detail records: Wi-Fi sessions start, go on and stop."""

    description = "FreeRADIUS accounting detail file (Start / Interim-Update / Stop)"
    event_classes = (Authentication,)
    framing = "block"

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        blocks = [block for block in sample[:20] if block.strip()]
        if not blocks:
            return 0.0
        marked = sum("Acct-Status-Type" in block and "\n" in block for block in blocks)
        return 0.95 * marked / len(blocks)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = attributes(frame).with_columns(
            pl.col(column).cast(pl.Int64, strict=False).alias(f"_{column}") for column in COUNTERS
        )
        status = pl.col("acct_status")
        no_session = status.is_in(NO_SESSION)
        skipped = int(frame.select(no_session.fill_null(value=False).sum()).item())
        frame = frame.filter(~no_session.fill_null(value=False))
        bad_number = [
            (
                pl.col(column).is_not_null() & pl.col(f"_{column}").is_null(),
                f"{name} is not a whole number",
            )
            for name, column in ATTRIBUTES.items()
            if column in COUNTERS
        ]
        frame = reject_where(
            frame,
            (status.is_null(), "no Acct-Status-Type: not a RADIUS accounting record"),
            (
                ~status.is_in(list(ACTIVITY)),
                "Acct-Status-Type is not Start, Interim-Update or Stop",
            ),
            (pl.col("timestamp").is_null(), "no Timestamp attribute: the record is cut short"),
            *bad_number,
            (
                pl.col("nas_ip").is_null() & pl.col("nas_id").is_null(),
                "no NAS-IP-Address or NAS-Identifier",
            ),
        )
        if REASON not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(REASON))
        result = parse_with(frame.select(INDEX, REASON, *self.mapping()), Authentication)
        result.skipped += skipped
        return result

    @staticmethod
    def mapping() -> list[pl.Expr]:
        status = pl.col("acct_status")
        seconds = pl.col("_timestamp") - pl.col("_delay").fill_null(0)
        return [
            (seconds * 1000).cast(pl.Datetime("ms", "UTC")).alias("time"),
            (pl.col("_timestamp") * 1000)
            .cast(pl.Datetime("ms", "UTC"))
            .alias("metadata.logged_time"),
            pl.col("event_timestamp").alias("metadata.original_time"),
            status.replace_strict(ACTIVITY, default=None, return_dtype=pl.Int64).alias(
                "activity_id"
            ),
            pl.when(status == "Start")
            .then(pl.lit("Logon"))
            .when(status == "Stop")
            .then(pl.lit("Logoff"))
            .otherwise(status)
            .alias("activity_name"),
            pl.lit(1).alias("status_id"),
            pl.lit("Success").alias("status"),
            pl.col("cause").alias("status_detail"),
            pl.lit("FreeRADIUS").alias(PRODUCT_NAME),
            pl.lit("FreeRADIUS").alias(PRODUCT_VENDOR),
            pl.lit("detail").alias("metadata.log_name"),
            pl.lit("radius_detail").alias(LOG_FORMAT),
            pl.col("unique_id").alias("metadata.correlation_uid"),
            pl.lit(RADIUS_PROTOCOL).alias("auth_protocol_id"),
            pl.lit("RADIUS").alias("auth_protocol"),
            pl.col("user").alias("user.name"),
            pl.col("session_id").alias("session.uid"),
            pl.col("nas_ip").alias("dst_endpoint.ip"),
            pl.col("nas_id").alias("dst_endpoint.name"),
            mac(pl.col("called").str.extract(BSSID, 1)).alias("dst_endpoint.mac"),
            pl.col("called").str.extract(SSID, 1).alias("service.name"),
            mac(pl.col("calling")).alias("src_endpoint.mac"),
            pl.col("framed_ip").alias("src_endpoint.ip"),
            (pl.col("_session_time") * 1000).alias("duration"),
            _counters().alias("unmapped"),
        ]


def _counters() -> pl.Expr:
    """Byte, packet and time counters as JSON; null on a Start, which has none."""
    octets = {
        "acct_input_octets": pl.col("_input_gigawords").fill_null(0) * GIGAWORD
        + pl.col("_input_octets"),
        "acct_output_octets": pl.col("_output_gigawords").fill_null(0) * GIGAWORD
        + pl.col("_output_octets"),
        "acct_input_packets": pl.col("_input_packets"),
        "acct_output_packets": pl.col("_output_packets"),
        "acct_session_time": pl.col("_session_time"),
    }
    present = pl.any_horizontal(expr.is_not_null() for expr in octets.values())
    encoded = pl.struct(expr.alias(name) for name, expr in octets.items()).struct.json_encode()
    # Drop the counters a NAS did not send rather than writing them as null.
    compact = encoded.str.replace_all(r'"[a-z_]+":null,?', "").str.replace(r",\}$", "}")
    return pl.when(present).then(compact)
