"""Firewall logs: FortiGate key=value traffic logs, and ArcSight CEF from any device.

Both may arrive behind a syslog header (`<PRI>`, RFC 3164 or RFC 5424); the
header is read for its time where the record lacks one, and otherwise ignored:
fields are found wherever they are in the line.

FortiGate: one pass over the chunk cuts every record into its `key=value` pairs
(quoted or not), and the wanted keys are pivoted back into columns.

    <189>date=2026-11-23 time=08:00:03 devname="s001-fw-01" ... srcip=10.0.11.34 action="close"

CEF: the seven header fields (`\\|` escapes a pipe) and an extension of
`key=value` pairs (`\\=` and `\\\\` escape in values). The extension is cut into
pairs with vectorised string operations, exploded to one row per pair, and
pivoted back: known keys become OCSF columns, the rest JSON in `unmapped`.

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
from vigil.ingest.parsers.web import share, url_parts
from vigil.ingest.types import ParseResult, RawRecords

PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 58: "ipv6-icmp"}
PROTOCOL_NUMBERS = {name: number for number, name in PROTOCOL_NAMES.items()}
FIREWALL = 9
"""OCSF network endpoint type_id of a firewall."""
OBSERVED_BY_NEITHER = 3
"""OCSF observation_point_id: the firewall, neither source nor destination, saw the traffic."""

SYSLOG_5424_TIME = (
    r"^(?:<\d{1,3}>)?\d{1,2} (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"
)
"""The timestamp of an RFC 5424 header. RFC 3164 headers carry no year, so are not used."""

# FortiGate action -> (activity_id, status_id): Success when the session was let through,
# Failure when it was denied. (OCSF's action_id belongs to the security_control profile.)
FORTIGATE_ACTIONS = {
    "start": (1, 1),  # Open
    "accept": (6, 1),  # Traffic
    "close": (2, 1),  # Close
    "timeout": (2, 1),
    "client-rst": (3, 1),  # Reset
    "server-rst": (3, 1),
    "ip-conn": (4, 1),  # Fail
    "deny": (5, 2),  # Refuse
    "block": (5, 2),
    "dns": (5, 2),
}
STATUS_CAPTIONS = {1: "Success", 2: "Failure", 99: "Other"}


def _unquote_pattern(key: str) -> str:
    return rf'(?:^|[\s>]){key}=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))'


PAIR = r'[\s>][^\s=">]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)'
"""One `key=value` or `key="value"` pair, with the space (or the `>` closing a syslog
priority) before it; a quoted value may hold spaces and backslash escapes."""


def key_values(frame: pl.DataFrame, keys: Sequence[str], prefix: str = "_") -> pl.DataFrame:
    """`frame` with a column `<prefix><key>` for each key: the value of the key's first
    pair in the record, unquoted (escapes kept), null when absent or empty.

    One pass: every record is cut into its pairs at once (a `key=` inside a quoted
    value is part of that value, not a pair), the pairs are split into key and value,
    and those of the wanted keys are pivoted back to one row per record.
    """
    pairs = frame.select(
        INDEX, (pl.lit(" ") + pl.col("record")).str.extract_all(PAIR).alias("_pair")
    ).explode("_pair")
    pair = pl.col("_pair").str.splitn("=", 2)
    value = pair.struct.field("field_1").str.strip_prefix('"').str.strip_suffix('"')
    pairs = pairs.select(
        INDEX,
        pair.struct.field("field_0").str.slice(1).alias("_key"),
        pl.when(value != "").then(value).alias("_value"),
    ).filter(pl.col("_key").is_in(list(keys)))
    wide = pairs.pivot(on="_key", index=INDEX, values="_value", aggregate_function="first")
    columns = [
        (pl.col(key) if key in wide.columns else pl.lit(None, dtype=pl.String)).alias(
            f"{prefix}{key}"
        )
        for key in keys
    ]
    return frame.join(wide.select(INDEX, *columns), on=INDEX, how="left", maintain_order="left")


def kv(key: str) -> pl.Expr:
    """The value of `key=value` or `key="value"` in the record, null when absent."""
    found = pl.col("record").str.extract_groups(_unquote_pattern(key))
    value = pl.coalesce(found.struct.field("1"), found.struct.field("2"))
    return pl.when(value == "").then(pl.lit(None, dtype=pl.String)).otherwise(value)


def epoch(text: pl.Expr) -> pl.Expr:
    """Epoch time in s, ms, us or ns, told apart by the number of digits."""
    digits = text.str.len_chars()
    number = text.cast(pl.Int64, strict=False)
    millis = (
        pl.when(digits <= 10)
        .then(number * 1000)
        .when(digits <= 13)
        .then(number)
        .when(digits <= 16)
        .then(number // 1000)
        .otherwise(number // 1_000_000)
    )
    return millis.cast(pl.Datetime("ms", "UTC"))


def _protocol(number: pl.Expr, name: pl.Expr) -> list[pl.Expr]:
    num = pl.coalesce(
        number, name.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64)
    )
    return [
        num.alias("connection_info.protocol_num"),
        pl.coalesce(
            num.replace_strict(PROTOCOL_NAMES, default=None, return_dtype=pl.String), name
        ).alias("connection_info.protocol_name"),
    ]


def _traffic(out: pl.Expr, back: pl.Expr, pkts_out: pl.Expr, pkts_in: pl.Expr) -> list[pl.Expr]:
    return [
        out.alias("traffic.bytes_out"),
        back.alias("traffic.bytes_in"),
        pl.when(out.is_not_null() | back.is_not_null())
        .then(out.fill_null(0) + back.fill_null(0))
        .alias("traffic.bytes"),
        pkts_out.alias("traffic.packets_out"),
        pkts_in.alias("traffic.packets_in"),
        pl.when(pkts_out.is_not_null() | pkts_in.is_not_null())
        .then(pkts_out.fill_null(0) + pkts_in.fill_null(0))
        .alias("traffic.packets"),
    ]


def _status(status_id: pl.Expr) -> list[pl.Expr]:
    caption = status_id.replace_strict(STATUS_CAPTIONS, default="Other", return_dtype=pl.String)
    return [
        status_id.alias("status_id"),
        pl.when(status_id.is_not_null()).then(caption).alias("status"),
    ]


def _observer(uid: pl.Expr, name: pl.Expr, ip: pl.Expr) -> list[pl.Expr]:
    """The firewall that logged the traffic, as OCSF's network observation point."""
    seen = uid.is_not_null() | name.is_not_null() | ip.is_not_null()
    return [
        pl.when(seen).then(pl.lit(OBSERVED_BY_NEITHER)).alias("observation_point_id"),
        pl.when(seen).then(pl.lit("Neither")).alias("observation_point"),
        uid.alias("network_observation_point.uid"),
        name.alias("network_observation_point.name"),
        name.alias("network_observation_point.hostname"),
        ip.alias("network_observation_point.ip"),
        pl.when(seen).then(pl.lit(FIREWALL)).alias("network_observation_point.type_id"),
        pl.when(seen).then(pl.lit("Firewall")).alias("network_observation_point.type"),
    ]


def _unbalanced_quotes() -> pl.Expr:
    quotes = pl.col("record").str.count_matches('"', literal=True)
    escaped = pl.col("record").str.count_matches('\\"', literal=True)
    return (quotes - escaped) % 2 == 1


def _sample(sample: Sequence[str]) -> pl.Series:
    return pl.Series([line for line in sample[:20] if line.strip()], dtype=pl.String)


FORTIGATE_KEYS = (
    "date",
    "time",
    "tz",
    "eventtime",
    "devname",
    "devid",
    "logid",
    "type",
    "subtype",
    "level",
    "vd",
    "srcip",
    "srcport",
    "srcintf",
    "srcmac",
    "dstip",
    "dstport",
    "dstintf",
    "sessionid",
    "proto",
    "action",
    "policyid",
    "policyname",
    "service",
    "app",
    "duration",
    "sentbyte",
    "rcvdbyte",
    "sentpkt",
    "rcvdpkt",
)


@parsers.register("fortigate")
class Fortigate(Parser):
    """FortiGate traffic logs (key=value); other log types are skipped."""

    description = "FortiGate key=value traffic log (syslog header optional)"
    event_classes = (NetworkActivity,)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = _sample(sample)
        if lines.is_empty():
            return 0.0
        forti = lines.str.contains(r"(?:^|[\s>])devid=\"?FG") | (
            lines.str.contains(r"(?:^|[\s>])logid=") & lines.str.contains(r"(?:^|[\s>])devname=")
        )
        return 0.95 * share(forti)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = key_values(frame, FORTIGATE_KEYS)
        local = pl.concat_str(
            pl.col("_date"),
            pl.lit(" "),
            pl.col("_time"),
            pl.lit(" "),
            pl.col("_tz").fill_null("+0000"),
        ).str.to_datetime("%Y-%m-%d %H:%M:%S %z", time_unit="ms", strict=False)
        frame = frame.with_columns(
            pl.coalesce(epoch(pl.col("_eventtime")), local.dt.convert_time_zone("UTC")).alias(
                "time"
            )
        )
        frame = reject_where(
            frame,
            (_unbalanced_quotes(), "unbalanced quotes (truncated record?)"),
            (pl.col("_type").is_null(), "not a FortiGate log (no type=)"),
        )
        other = (pl.col("_type") != "traffic") & pl.col(REASON).is_null()
        skipped = frame.filter(other).height
        frame = frame.filter(~other)
        frame = reject_where(
            frame,
            (pl.col("time").is_null(), "no valid eventtime or date/time"),
            (
                pl.col("_srcip").is_null() & pl.col("_dstip").is_null(),
                "traffic log has neither srcip nor dstip",
            ),
            (pl.col("_action").is_null(), "traffic log has no action"),
        )
        result = parse_with(frame.select(INDEX, REASON, *self.mapping()), NetworkActivity)
        result.skipped += skipped
        return result

    def mapping(self) -> list[pl.Expr]:
        def number(key: str) -> pl.Expr:
            return pl.col(f"_{key}").cast(pl.Int64, strict=False)

        action = pl.col("_action")
        activity = action.replace_strict(
            {name: ids[0] for name, ids in FORTIGATE_ACTIONS.items()},
            default=99,
            return_dtype=pl.Int64,
        )
        status_id = action.replace_strict(
            {name: ids[1] for name, ids in FORTIGATE_ACTIONS.items()},
            default=99,
            return_dtype=pl.Int64,
        )
        return [
            pl.col("time"),
            activity.alias("activity_id"),
            *_status(status_id),
            action.alias("status_code"),
            pl.lit("FortiGate").alias(PRODUCT_NAME),
            pl.lit("Fortinet").alias(PRODUCT_VENDOR),
            pl.lit("fortigate").alias(LOG_FORMAT),
            pl.col("_type").alias("metadata.log_name"),
            pl.col("_srcip").alias("src_endpoint.ip"),
            number("srcport").alias("src_endpoint.port"),
            pl.col("_srcintf").alias("src_endpoint.interface_name"),
            pl.col("_srcmac").alias("src_endpoint.mac"),
            pl.col("_dstip").alias("dst_endpoint.ip"),
            number("dstport").alias("dst_endpoint.port"),
            pl.col("_dstintf").alias("dst_endpoint.interface_name"),
            pl.col("_sessionid").alias("connection_info.uid"),
            *_protocol(number("proto"), pl.lit(None, dtype=pl.String)),
            pl.coalesce(pl.col("_app"), pl.col("_service")).alias("app_name"),
            (number("duration") * 1000).alias("duration"),
            *_traffic(number("sentbyte"), number("rcvdbyte"), number("sentpkt"), number("rcvdpkt")),
            *_observer(pl.col("_devid"), pl.col("_devname"), pl.lit(None, dtype=pl.String)),
            pl.struct(
                policyid=pl.col("_policyid"),
                policyname=pl.col("_policyname"),
                logid=pl.col("_logid"),
                subtype=pl.col("_subtype"),
                level=pl.col("_level"),
                vd=pl.col("_vd"),
                service=pl.col("_service"),
            )
            .struct.json_encode()
            .alias("unmapped"),
        ]


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
        lines = _sample(sample)
        if lines.is_empty():
            return 0.0
        return 0.95 * share(lines.str.contains(r"CEF:\d+\|"))

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
            *_status(status_id),
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
            *_protocol(proto.cast(pl.Int64, strict=False), proto),
            direction.alias("connection_info.direction_id"),
            direction.replace_strict(
                {1: "Inbound", 2: "Outbound"}, default=None, return_dtype=pl.String
            ).alias("connection_info.direction"),
            pl.col("app").alias("app_name"),
            # CEF `in` counts bytes from source to destination: OCSF's bytes_out.
            *_traffic(
                number("in"),
                number("out"),
                pl.lit(None, dtype=pl.Int64),
                pl.lit(None, dtype=pl.Int64),
            ),
            *url_parts(request, "url"),
            *_observer(pl.lit(None, dtype=pl.String), pl.col("dvchost"), pl.col("dvc")),
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
