"""Suricata EVE JSON: alerts, flows, DNS, HTTP and TLS records, mixed in one file.

A chunk holds records of many event types. Each record's `event_type` is read
with one regular expression over the chunk; the records are then split into one
group per type and each group decoded with that type's struct (one polars call
per group), so no record is decoded twice on the fast path. Types without an
OCSF mapping here (stats, fileinfo, anomaly, ...) are counted as skipped.

    {"timestamp":"2026-11-23T08:00:03.106222+0000","flow_id":1,"event_type":"alert",
     "src_ip":"10.0.11.34","src_port":57366,"dest_ip":"203.0.113.9","dest_port":443,
     "proto":"TCP","alert":{"signature_id":2027865,"signature":"ET INFO ...","severity":2}}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from vigil.events import DetectionFinding, DnsActivity, HttpActivity, NetworkActivity, OcsfEvent
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
    split_rejected,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.parsers.web import (
    http_activity,
    http_method,
    other_method,
    url_parts,
    without_port,
)
from vigil.ingest.parsers.zeek import dns_rcode
from vigil.ingest.types import ParseResult, RawRecords

EVENT_TYPE = r'"event_type"\s*:\s*"([^"\\]*)"'
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}
SEVERITY = {1: 4, 2: 3, 3: 2}
"""Suricata alert severity (1 is the most severe) -> OCSF severity_id: High, Medium, Low;
any other value is Informational."""
DNS_RCODES = {
    "NOERROR": 0,
    "FORMERR": 1,
    "SERVFAIL": 2,
    "NXDOMAIN": 3,
    "NOTIMP": 4,
    "REFUSED": 5,
    "YXDOMAIN": 6,
    "YXRRSET": 7,
    "NXRRSET": 8,
    "NOTAUTH": 9,
    "NOTZONE": 10,
}

COMMON: dict[str, pl.DataType] = {
    "timestamp": pl.String(),
    "flow_id": pl.UInt64(),
    "event_type": pl.String(),
    "src_ip": pl.String(),
    "src_port": pl.Int64(),
    "dest_ip": pl.String(),
    "dest_port": pl.Int64(),
    "proto": pl.String(),
    "app_proto": pl.String(),
    "community_id": pl.String(),
}

ANSWER = pl.Struct({"rrname": pl.String, "rrtype": pl.String, "ttl": pl.Int64, "rdata": pl.String})
TYPES: dict[str, pl.DataType] = {
    "alert": pl.Struct(
        {
            "action": pl.String,
            "gid": pl.Int64,
            "signature_id": pl.Int64,
            "rev": pl.Int64,
            "signature": pl.String,
            "category": pl.String,
            "severity": pl.Int64,
        }
    ),
    "flow": pl.Struct(
        {
            "pkts_toserver": pl.Int64,
            "pkts_toclient": pl.Int64,
            "bytes_toserver": pl.Int64,
            "bytes_toclient": pl.Int64,
            "start": pl.String,
            "end": pl.String,
            "age": pl.Int64,
            "state": pl.String,
            "reason": pl.String,
        }
    ),
    "dns": pl.Struct(
        {
            "type": pl.String,
            "id": pl.Int64,
            "rrname": pl.String,
            "rrtype": pl.String,
            "rcode": pl.String,
            "queries": pl.List(pl.Struct({"rrname": pl.String, "rrtype": pl.String})),
            "answers": pl.List(ANSWER),
        }
    ),
    "http": pl.Struct(
        {
            "hostname": pl.String,
            "url": pl.String,
            "http_user_agent": pl.String,
            "http_content_type": pl.String,
            "http_refer": pl.String,
            "http_method": pl.String,
            "protocol": pl.String,
            "status": pl.Int64,
            "length": pl.Int64,
        }
    ),
    "tls": pl.Struct(
        {
            "subject": pl.String,
            "issuerdn": pl.String,
            "serial": pl.String,
            "fingerprint": pl.String,
            "sni": pl.String,
            "version": pl.String,
            "notbefore": pl.String,
            "notafter": pl.String,
        }
    ),
}
"""The object each mapped event type carries, as decoded."""


def _time(text: pl.Expr) -> pl.Expr:
    return text.str.to_datetime(
        TIMESTAMP_FORMAT, time_unit="ms", strict=False
    ).dt.replace_time_zone("UTC")


def _common() -> list[pl.Expr]:
    return [
        _time(pl.col("timestamp")).alias("time"),
        pl.lit("Suricata").alias(PRODUCT_NAME),
        pl.lit("OISF").alias(PRODUCT_VENDOR),
        pl.lit("eve").alias("metadata.log_name"),
        pl.lit("eve-json").alias(LOG_FORMAT),
        pl.col("flow_id").cast(pl.String).alias("metadata.correlation_uid"),
    ]


def _endpoints() -> list[pl.Expr]:
    proto = pl.col("proto").str.to_lowercase()
    return [
        pl.col("src_ip").alias("src_endpoint.ip"),
        pl.col("src_port").alias("src_endpoint.port"),
        pl.col("dest_ip").alias("dst_endpoint.ip"),
        pl.col("dest_port").alias("dst_endpoint.port"),
        proto.alias("connection_info.protocol_name"),
        proto.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64).alias(
            "connection_info.protocol_num"
        ),
        pl.col("flow_id").cast(pl.String).alias("connection_info.uid"),
    ]


def _field(group: str, name: str) -> pl.Expr:
    return pl.col(group).struct.field(name)


def _alert() -> list[pl.Expr]:
    sid = _field("alert", "signature_id").cast(pl.String)
    signature = _field("alert", "signature")
    category = _field("alert", "category")
    evidence = pl.struct(
        src_endpoint=pl.struct(ip=pl.col("src_ip"), port=pl.col("src_port")),
        dst_endpoint=pl.struct(ip=pl.col("dest_ip"), port=pl.col("dest_port")),
    )
    return [
        pl.lit(1, dtype=pl.Int64).alias("activity_id"),
        pl.lit(1, dtype=pl.Int64).alias("status_id"),
        pl.lit(True).alias("is_alert"),
        _field("alert", "severity")
        .replace_strict(SEVERITY, default=1, return_dtype=pl.Int64)
        .alias("severity_id"),
        pl.struct(action=_field("alert", "action"), gid=_field("alert", "gid"))
        .struct.json_encode()
        .alias("unmapped"),
        signature.alias("message"),
        sid.alias("finding_info.uid"),
        signature.alias("finding_info.title"),
        pl.when(category.is_not_null()).then(pl.concat_list(category)).alias("finding_info.types"),
        sid.alias("finding_info.analytic.uid"),
        signature.alias("finding_info.analytic.name"),
        category.alias("finding_info.analytic.category"),
        _field("alert", "rev").cast(pl.String).alias("finding_info.analytic.version"),
        pl.lit(1, dtype=pl.Int64).alias("finding_info.analytic.type_id"),
        pl.lit("Rule").alias("finding_info.analytic.type"),
        pl.concat_list(evidence).alias("evidences"),
    ]


def _flow() -> list[pl.Expr]:
    state = _field("flow", "state")
    start, end = _time(_field("flow", "start")), _time(_field("flow", "end"))
    out, back = _field("flow", "bytes_toserver"), _field("flow", "bytes_toclient")
    pkts_out, pkts_in = _field("flow", "pkts_toserver"), _field("flow", "pkts_toclient")
    return [
        *_endpoints(),
        pl.when(state == "closed").then(2).otherwise(6).cast(pl.Int64).alias("activity_id"),
        state.alias("status_code"),
        _field("flow", "reason").alias("status_detail"),
        pl.col("app_proto").alias("app_name"),
        start.alias("start_time"),
        end.alias("end_time"),
        (end - start).dt.total_milliseconds().alias("duration"),
        out.alias("traffic.bytes_out"),
        back.alias("traffic.bytes_in"),
        (out.fill_null(0) + back.fill_null(0)).alias("traffic.bytes"),
        pkts_out.alias("traffic.packets_out"),
        pkts_in.alias("traffic.packets_in"),
        (pkts_out.fill_null(0) + pkts_in.fill_null(0)).alias("traffic.packets"),
    ]


def _dns() -> list[pl.Expr]:
    kind = _field("dns", "type")
    first = _field("dns", "queries").list.first()
    hostname = pl.coalesce(_field("dns", "rrname"), first.struct.field("rrname"))
    has_query = hostname.is_not_null()
    answer = pl.element()
    answers = (
        _field("dns", "answers")
        .list.eval(
            pl.struct(
                answer.struct.field("rdata"),
                answer.struct.field("rrtype").alias("type"),
                answer.struct.field("ttl"),
            )
        )
        .list.eval(answer.filter(answer.struct.field("rdata").is_not_null()))
    )
    rcode = _field("dns", "rcode").str.to_uppercase()
    code = rcode.replace_strict(DNS_RCODES, default=None, return_dtype=pl.Int64)
    code = pl.when(rcode.is_not_null() & code.is_null()).then(pl.lit(99)).otherwise(code)
    return [
        *_endpoints(),
        pl.when(kind.is_in(["query", "request"]))
        .then(1)
        .when(kind.is_in(["answer", "response"]))
        .then(2)
        .otherwise(0)
        .cast(pl.Int64)
        .alias("activity_id"),
        pl.when(has_query).then(hostname).alias("query.hostname"),
        pl.when(has_query)
        .then(pl.coalesce(_field("dns", "rrtype"), first.struct.field("rrtype")))
        .alias("query.type"),
        pl.when(has_query).then(_field("dns", "id")).alias("query.packet_uid"),
        pl.when(answers.list.len() > 0).then(answers).alias("answers"),
        *dns_rcode(code),
    ]


def _http() -> list[pl.Expr]:
    status = _field("http", "status")
    uri = _field("http", "url")
    host = _field("http", "hostname")
    absolute = uri.str.contains("^[A-Za-z][A-Za-z0-9+.-]*://")
    url = (
        pl.when(host.is_not_null() & ~absolute).then(pl.lit("http://") + host + uri).otherwise(uri)
    )
    return [
        *_endpoints(),
        http_activity(_field("http", "http_method")).alias("activity_id"),
        without_port(host).alias("dst_endpoint.hostname"),
        http_method(_field("http", "http_method")).alias("http_request.http_method"),
        other_method(_field("http", "http_method")).alias("unmapped"),
        *url_parts(url, "http_request.url"),
        _field("http", "http_user_agent").alias("http_request.user_agent"),
        _field("http", "http_refer").alias("http_request.referrer"),
        _field("http", "protocol").str.strip_prefix("HTTP/").alias("http_request.version"),
        status.alias("http_status"),
        status.alias("http_response.code"),
        pl.when(status.is_not_null())
        .then(_field("http", "length"))
        .alias("http_response.body_length"),
        pl.when(status.is_not_null())
        .then(_field("http", "http_content_type"))
        .alias("http_response.content_type"),
    ]


def _tls() -> list[pl.Expr]:
    return [
        *_endpoints(),
        pl.lit(6, dtype=pl.Int64).alias("activity_id"),
        pl.col("app_proto").alias("app_name"),
        _field("tls", "sni").alias("dst_endpoint.hostname"),
        pl.struct(pl.col("tls")).struct.json_encode().alias("unmapped"),
    ]


MAPPINGS: dict[str, tuple[type[OcsfEvent], Callable[[], list[pl.Expr]]]] = {
    "alert": (DetectionFinding, _alert),
    "flow": (NetworkActivity, _flow),
    "dns": (DnsActivity, _dns),
    "http": (HttpActivity, _http),
    "tls": (NetworkActivity, _tls),
}


@parsers.register("suricata_eve")
class SuricataEve(Parser):
    """Suricata EVE JSON records: alerts become findings, the rest network activity."""

    description = "Suricata EVE JSON (alert, flow, dns, http, tls; other types skipped)"
    event_classes = (DetectionFinding, NetworkActivity, DnsActivity, HttpActivity)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = sample_lines(sample)
        eve = (
            lines.str.starts_with("{")
            & lines.str.contains(EVENT_TYPE)
            & lines.str.contains(r'"timestamp"\s*:')
        )
        return 0.95 * share(eve)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = frame.with_columns(pl.col("record").str.extract(EVENT_TYPE, 1).alias("_type"))
        result = ParseResult()
        for event_type, (event_class, mapping) in MAPPINGS.items():
            group = frame.filter(pl.col("_type") == event_type)
            if group.height:
                result.extend(self._parse_group(group, event_type, event_class, mapping()))
        unmapped = pl.col("_type").is_null() | ~pl.col("_type").is_in(list(MAPPINGS))
        others = frame.filter(unmapped)
        if others.height:
            result.extend(self._others(others))
        result.rejected.sort(key=lambda item: item.index)
        return result

    def _parse_group(
        self,
        group: pl.DataFrame,
        event_type: str,
        event_class: type[OcsfEvent],
        mapping: list[pl.Expr],
    ) -> ParseResult:
        dtype = pl.Struct({**COMMON, event_type: TYPES[event_type]})
        decoded = decode_json(group, "record", dtype)
        checks = [
            (pl.col("event_type") != pl.col("_type"), "event_type is not a top-level field"),
            (pl.col("timestamp").is_null(), "Suricata record has no timestamp"),
            (_time(pl.col("timestamp")).is_null(), "timestamp is not ISO 8601 with an offset"),
            (pl.col(event_type).is_null(), f"{event_type} record has no {event_type} object"),
        ]
        if event_type == "alert":
            checks.append((_field("alert", "signature_id").is_null(), "alert has no signature_id"))
        else:
            checks.append(
                (
                    pl.col("src_ip").is_null() & pl.col("dest_ip").is_null(),
                    "record has neither src_ip nor dest_ip",
                )
            )
        decoded = reject_where(decoded, *checks)
        helpers = [pl.col(name) for name in (INDEX, REASON) if name in decoded.columns]
        return parse_with(decoded.select(*helpers, *_common(), *mapping), event_class)

    def _others(self, frame: pl.DataFrame) -> ParseResult:
        """Event types this parser does not map: skipped when they are EVE records."""
        decoded = decode_json(frame, "record", pl.Struct({"event_type": pl.String}))
        decoded = reject_where(
            decoded, (pl.col("event_type").is_null(), "not a Suricata EVE record (no event_type)")
        )
        _, rejected = split_rejected(decoded)
        return ParseResult(rejected=rejected, skipped=decoded.height - len(rejected))
