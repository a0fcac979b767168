"""ArcSight CEF from any device: network events as OCSF Network Activity.

The seven header fields (`\\|` escapes a pipe) and an extension of `key=value`
pairs (`\\=` and `\\\\` escape in values). The extension is cut into pairs
with vectorised string operations, exploded to one row per pair, and pivoted back:
known keys become OCSF columns, the rest JSON in `unmapped`. A syslog header in
front is allowed; an RFC 5424 one gives the time when the record has none.

    CEF:0|Fortinet|FortiGate|7.2|13|traffic:forward close|3|src=10.0.11.34 dst=10.0.10.5
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import NetworkActivity
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
from vigil.ingest.parsers.firewall.common import (
    SYSLOG_5424_TIME,
    epoch,
    observer_columns,
    protocol_columns,
    status_columns,
    traffic_columns,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.parsers.web import url_parts
from vigil.ingest.types import ParseResult, RawRecords

CEF_HEADER = (
    r"CEF:(?<version>\d+)\|(?<vendor>(?:[^|\\]|\\.)*)\|(?<product>(?:[^|\\]|\\.)*)"
    r"\|(?<device_version>(?:[^|\\]|\\.)*)\|(?<signature_id>(?:[^|\\]|\\.)*)"
    r"\|(?<name>(?:[^|\\]|\\.)*)\|(?<severity>(?:[^|\\]|\\.)*)\|(?<extension>.*)$"
)
_KEY_START = "\u0001"
_BACKSLASH = "\ue000"
_EQUALS = "\ue001"
CEF_SEVERITY = {"unknown": 0, "low": 2, "medium": 3, "high": 4, "very-high": 5}
"""CEF severity names -> OCSF severity_id; numbers 0-3 are Low, 4-6 Medium, 7-8 High,
9-10 Very-High (Critical)."""
CEF_ACTIONS = {
    "allow": 1,
    "allowed": 1,
    "accept": 1,
    "accepted": 1,
    "permit": 1,
    "pass": 1,
    "close": 1,
    "deny": 2,
    "denied": 2,
    "drop": 2,
    "dropped": 2,
    "block": 2,
    "blocked": 2,
    "reject": 2,
    "rejected": 2,
}
CEF_KEYS = (
    "src",
    "spt",
    "shost",
    "smac",
    "dst",
    "dpt",
    "dhost",
    "dmac",
    "proto",
    "act",
    "in",
    "out",
    "rt",
    "start",
    "end",
    "deviceInboundInterface",
    "deviceOutboundInterface",
    "dvchost",
    "dvc",
    "msg",
    "cnt",
    "app",
    "request",
    "externalId",
    "deviceDirection",
)
"""Extension keys mapped to OCSF; any other key goes to `unmapped` (custom `csN` fields
under their `csNLabel` when there is one)."""
_LABELLED = r"^(c[sn]\d|cfp\d|c6a\d|flexString\d|flexNumber\d|flexDate\d|deviceCustomDate\d)$"


def _json_string(text: pl.Expr) -> pl.Expr:
    """A string as a JSON string literal (quotes and escapes), vectorised."""
    encoded = pl.struct(text.alias("v")).struct.json_encode()
    return encoded.str.strip_prefix('{"v":').str.strip_suffix("}")


def cef_time(text: pl.Expr) -> pl.Expr:
    """CEF times: epoch milliseconds, or `MMM dd yyyy HH:mm:ss[.SSS][ zone]` (zone taken as UTC)."""
    plain = text.str.replace(r"\s+(?:[A-Za-z]{3,4}|[+-]\d\d:?\d\d)$", "")
    parsed = plain.str.to_datetime("%b %d %Y %H:%M:%S%.f", time_unit="ms", strict=False)
    digits = text.str.contains(r"^\d{9,13}$")
    return pl.when(digits).then(epoch(text)).otherwise(parsed.dt.replace_time_zone("UTC"))


def cef_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """The extension's pairs, one row each: `_index`, `key`, `value` (unescaped)."""
    ext = (
        pl.col("extension")
        .str.replace_all("\\\\", _BACKSLASH, literal=True)
        .str.replace_all("\\=", _EQUALS, literal=True)
        .str.replace_all(r"\s+([A-Za-z0-9_.\[\]-]+)=", _KEY_START + "${1}=")
        .str.strip_chars()
    )
    pairs = (
        frame.select(INDEX, ext.str.split(_KEY_START).alias("pair"))
        .explode("pair")
        .with_columns(
            pl.col("pair").str.extract_groups(r"^([A-Za-z0-9_.\[\]-]+)=(.*)$").alias("kv")
        )
        .select(
            INDEX,
            pl.col("kv").struct.field("1").alias("key"),
            pl.col("kv")
            .struct.field("2")
            .str.replace_all(_EQUALS, "=", literal=True)
            .str.replace_all("\\n", "\n", literal=True)
            .str.replace_all("\\r", "\r", literal=True)
            .str.replace_all(_BACKSLASH, "\\", literal=True)
            .str.strip_chars_end()
            .alias("value"),
        )
        .filter(pl.col("key").is_not_null())
    )
    return pairs


def _unmapped(pairs: pl.DataFrame) -> pl.DataFrame:
    """`_index`, `unmapped`: keys not mapped to OCSF as a JSON object per record."""
    labels = pairs.filter(pl.col("key").str.ends_with("Label")).select(
        INDEX, pl.col("key").str.strip_suffix("Label"), pl.col("value").alias("label")
    )
    rest = pairs.filter(~pl.col("key").is_in(CEF_KEYS) & ~pl.col("key").str.ends_with("Label"))
    rest = rest.join(labels, on=[INDEX, "key"], how="left", maintain_order="left")
    named = pl.when(pl.col("key").str.contains(_LABELLED) & pl.col("label").is_not_null())
    rest = rest.with_columns(named.then(pl.col("label")).otherwise(pl.col("key")).alias("key"))
    member = _json_string(pl.col("key")) + pl.lit(":") + _json_string(pl.col("value"))
    return rest.group_by(INDEX, maintain_order=True).agg(
        (pl.lit("{") + member.str.join(",") + pl.lit("}")).alias("unmapped")
    )


@parsers.register("cef")
class Cef(Parser):
    """ArcSight CEF events with a source or destination, as network activity."""

    description = "ArcSight Common Event Format (CEF), syslog header optional"
    event_classes = (NetworkActivity,)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        return 0.95 * share(sample_lines(sample).str.contains(r"CEF:\d+\|"))

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        header = pl.col("record").str.extract_groups(CEF_HEADER)
        frame = frame.with_columns(header.alias("_header")).unnest("_header")
        unescape = {
            name: pl.col(name).str.replace_all(r"\\(.)", "${1}")
            for name in ("vendor", "product", "device_version", "signature_id", "name", "severity")
        }
        frame = frame.with_columns(expr.alias(name) for name, expr in unescape.items())
        pairs = cef_pairs(frame.filter(pl.col("extension").is_not_null()))
        known = (
            pairs.filter(pl.col("key").is_in(CEF_KEYS))
            .unique(subset=[INDEX, "key"], keep="last", maintain_order=True)
            .pivot(on="key", index=INDEX, values="value")
        )
        frame = frame.join(known, on=INDEX, how="left", maintain_order="left")
        frame = frame.join(_unmapped(pairs), on=INDEX, how="left", maintain_order="left")
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.String).alias(key) for key in CEF_KEYS if key not in frame.columns
        )
        header_time = pl.col("record").str.extract(SYSLOG_5424_TIME, 1)
        moment = pl.coalesce(
            cef_time(pl.col("rt")),
            cef_time(pl.col("end")),
            cef_time(pl.col("start")),
            header_time.str.to_datetime(time_unit="ms", time_zone="UTC", strict=False),
        )
        frame = frame.with_columns(moment.alias("time"))
        frame = reject_where(
            frame,
            (pl.col("version").is_null(), "not a CEF record (no CEF:n| header with 7 fields)"),
            (pl.col("product").str.strip_chars() == "", "CEF header has no device product"),
            (pl.col("time").is_null(), "no event time (rt, end, start or an RFC 5424 header)"),
            (
                pl.col("src").is_null() & pl.col("dst").is_null(),
                "CEF event has neither src nor dst: not network activity",
            ),
        )
        return parse_with(frame.select(INDEX, REASON, *self.mapping()), NetworkActivity)

    def mapping(self) -> list[pl.Expr]:
        def number(key: str) -> pl.Expr:
            return pl.col(key).cast(pl.Int64, strict=False)

        act = pl.col("act").str.to_lowercase()
        status_id = pl.when(act.is_not_null()).then(
            act.replace_strict(CEF_ACTIONS, default=99, return_dtype=pl.Int64)
        )
        severity = pl.col("severity").str.to_lowercase()
        level = severity.cast(pl.Int64, strict=False)
        severity_id = (
            pl.when(level.is_between(0, 3))
            .then(2)
            .when(level.is_between(4, 6))
            .then(3)
            .when(level.is_between(7, 8))
            .then(4)
            .when(level.is_between(9, 10))
            .then(5)
            .otherwise(severity.replace_strict(CEF_SEVERITY, default=0, return_dtype=pl.Int64))
        )
        direction = number("deviceDirection").replace_strict(
            {0: 1, 1: 2}, default=None, return_dtype=pl.Int64
        )
        proto = pl.col("proto").str.to_lowercase()
        request = pl.col("request")
        return [
            pl.col("time"),
            cef_time(pl.col("start")).alias("start_time"),
            cef_time(pl.col("end")).alias("end_time"),
            pl.when(status_id == 2).then(5).otherwise(6).cast(pl.Int64).alias("activity_id"),
            *status_columns(status_id),
            pl.col("act").alias("status_code"),
            severity_id.cast(pl.Int64).alias("severity_id"),
            pl.coalesce(pl.col("msg"), pl.col("name")).alias("message"),
            number("cnt").alias("count"),
            pl.col("product").alias(PRODUCT_NAME),
            pl.col("vendor").alias(PRODUCT_VENDOR),
            pl.col("device_version").alias("metadata.product.version"),
            pl.lit("CEF").alias(LOG_FORMAT),
            pl.col("externalId").alias("metadata.uid"),
            pl.col("src").alias("src_endpoint.ip"),
            number("spt").alias("src_endpoint.port"),
            pl.col("shost").alias("src_endpoint.hostname"),
            pl.col("smac").alias("src_endpoint.mac"),
            pl.col("deviceInboundInterface").alias("src_endpoint.interface_name"),
            pl.col("dst").alias("dst_endpoint.ip"),
            number("dpt").alias("dst_endpoint.port"),
            pl.col("dhost").alias("dst_endpoint.hostname"),
            pl.col("dmac").alias("dst_endpoint.mac"),
            pl.col("deviceOutboundInterface").alias("dst_endpoint.interface_name"),
            *protocol_columns(proto.cast(pl.Int64, strict=False), proto),
            direction.alias("connection_info.direction_id"),
            direction.replace_strict(
                {1: "Inbound", 2: "Outbound"}, default=None, return_dtype=pl.String
            ).alias("connection_info.direction"),
            pl.col("app").alias("app_name"),
            # CEF `in` counts bytes from source to destination: OCSF's bytes_out.
            *traffic_columns(
                number("in"),
                number("out"),
                pl.lit(None, dtype=pl.Int64),
                pl.lit(None, dtype=pl.Int64),
            ),
            *url_parts(request, "url"),
            *observer_columns(pl.lit(None, dtype=pl.String), pl.col("dvchost"), pl.col("dvc")),
            pl.concat_str(
                pl.lit('{"deviceEventClassId":'),
                _json_string(pl.col("signature_id")),
                pl.lit(',"name":'),
                _json_string(pl.col("name")),
                pl.lit(',"extension":'),
                pl.coalesce(pl.col("unmapped"), pl.lit("{}")),
                pl.lit("}"),
            ).alias("unmapped"),
        ]
