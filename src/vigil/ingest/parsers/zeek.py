"""Zeek logs, TSV (with `#fields` headers) or JSON (one object per line).

Both forms are read into the same typed frame of Zeek fields, then mapped to
OCSF by one function per log. TSV headers change the column layout: each chunk
is cut at `#fields` lines and every part read with the layout that applies to
it; a tailer that starts mid-file uses the last header it saw, or Zeek's
default layout.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import polars as pl

from vigil.events import DnsActivity, HttpActivity, NetworkActivity, OcsfEvent, ocsf
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
)
from vigil.ingest.parsers.web import (
    http_activity,
    http_method,
    other_method,
    url_parts,
    without_port,
)
from vigil.ingest.types import ParseResult, RawRecords

UNSET = "-"
EMPTY = "(empty)"
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58}


def epoch_ms(seconds: pl.Expr) -> pl.Expr:
    """Epoch seconds (float) as a UTC time in ms; null when out of range."""
    return (seconds * 1000).cast(pl.Int64, strict=False).cast(pl.Datetime("ms", "UTC"))


class ZeekLog(Parser):
    """One Zeek log (`path`), with its default field layout and typed fields."""

    path: ClassVar[str] = ""
    fields: ClassVar[dict[str, pl.DataType]] = {}
    """Zeek field name -> type, in Zeek's default order (the fields that are mapped)."""
    default_layout: ClassVar[tuple[str, ...]] = ()
    """Zeek's default field order, where it has fields that are not mapped."""
    required: ClassVar[tuple[str, ...]] = ("ts", "id.orig_h", "id.resp_h")
    """Fields Zeek writes in every record of these logs: without them it is damaged."""

    def __init__(self) -> None:
        self.layout: list[str] = list(self.default_layout or self.fields)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        for line in sample[:20]:
            if line.startswith("#path") and line.split("\t")[-1].strip() == cls.path:
                return 1.0
        first = next((line for line in sample if line.strip()), "")
        if first.startswith("{") and all(f'"{name}"' in first for name in cls.distinctive()):
            return 0.9
        return 0.0

    @classmethod
    def distinctive(cls) -> tuple[str, ...]:
        """Fields whose presence in a JSON record marks this log."""
        return tuple(list(cls.fields)[:4])

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        is_json = pl.col("record").str.strip_chars_start().str.starts_with("{")
        frame = frame.with_columns(is_json.alias("_json"))
        result = ParseResult()
        tsv_rows = frame.filter(~pl.col("_json")).drop("_json")
        if tsv_rows.height:
            result.extend(self._from_tsv(tsv_rows))
        if tsv_rows.height == frame.height:
            return result
        # Zeek writes `ts` as epoch seconds, or as ISO 8601 text with JSON::TS_ISO8601.
        json = frame.filter(pl.col("_json")).drop("_json")
        iso = pl.col("record").str.contains(r'"ts"\s*:\s*"')
        for iso_time in (False, True):
            json_rows = json.filter(iso if iso_time else ~iso)
            if json_rows.height:
                result.extend(self._finish(self._from_json(json_rows, iso_time), skipped=0))
        return result

    def _from_json(self, frame: pl.DataFrame, iso_time: bool) -> pl.DataFrame:
        types = {**self.fields, "ts": pl.String()} if iso_time else dict(self.fields)
        decoded = decode_json(frame, "record", pl.Struct(types))
        if not iso_time:
            return decoded
        moment = pl.col("ts").str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
        return decoded.with_columns((moment.dt.epoch("us") / 1e6).alias("ts"))

    def _from_tsv(self, frame: pl.DataFrame) -> ParseResult:
        record = pl.col("record")
        comment = record.str.starts_with("#") | (record.str.strip_chars() == "")
        frame = frame.with_columns(comment.alias("_comment"))
        header = frame.filter(record.str.starts_with("#fields"))
        data = frame.filter(~pl.col("_comment")).drop("_comment")
        result = ParseResult(skipped=frame.height - data.height)
        # Cut the chunk at each #fields line; rows after it use its layout.
        cuts = [(-1, self.layout)]
        for index, text in zip(header.get_column(INDEX), header.get_column("record"), strict=True):
            cuts.append((int(index), text.rstrip("\r").split("\t")[1:]))
        for number, (start, layout) in enumerate(cuts):
            end = cuts[number + 1][0] if number + 1 < len(cuts) else None
            part = data if len(cuts) == 1 else data.filter(pl.col(INDEX) > start)
            if end is not None:
                part = part.filter(pl.col(INDEX) < end)
            if part.height:
                result.extend(self._finish(self._typed_tsv(part, layout), skipped=0))
        self.layout = cuts[-1][1]
        return result

    def _typed_tsv(self, frame: pl.DataFrame, layout: list[str]) -> pl.DataFrame:
        """The Zeek fields of TSV rows, typed; a row of the wrong width or with a value
        that is not of its field's type gets a reason.

        One lazy query. Each mapped field's text is cut out of the split row once, as a
        helper column, before its value and its validity check both read it: an
        expression repeated across `with_columns` calls would be evaluated again.
        """
        values = pl.col("record").str.strip_suffix("\r").str.split("\t")
        query = frame.lazy().with_columns(values.alias("_values"))
        twice = sorted({name for name in layout if layout.count(name) > 1})
        query = reject_where(
            query,
            (pl.lit(bool(twice)), f"the #fields header names {', '.join(twice)} more than once"),
            (
                pl.col("_values").list.len() != len(layout),
                f"expected {len(layout)} tab-separated Zeek fields, found a different number",
            ),
        )
        first = {name: layout.index(name) for name in layout}
        used = [(position, name) for name, position in first.items() if name in self.fields]
        query = query.with_columns(
            pl.col("_values").list.get(position, null_on_oob=True).alias(f"_text.{name}")
            for position, name in used
        ).drop("_values")
        columns: list[pl.Expr] = []
        checks: list[tuple[pl.Expr, str]] = []
        for _, name in used:
            value, bad = self._typed(pl.col(f"_text.{name}"), name)
            columns.append(value.alias(name))
            if bad is not None:
                checks.append((bad, f"Zeek field {name} is not a valid {self.fields[name]}"))
        query = reject_where(query.with_columns(columns), *checks)
        missing = [name for name in self.fields if name not in layout]
        query = query.drop(f"_text.{name}" for _, name in used).with_columns(
            pl.lit(None, dtype=self.fields[name]).alias(name) for name in missing
        )
        return query.collect()

    def _typed(self, raw: pl.Expr, name: str) -> tuple[pl.Expr, pl.Expr | None]:
        """A field's value of its Zeek text (`-` unset, `(empty)` empty), and the check,
        on the value once it is column `name`, that the text was there but is not of the
        field's type."""
        target = self.fields[name]
        given = raw.is_not_null() & (raw != UNSET)
        value = pl.col(name)
        if isinstance(target, pl.List):
            # Zeek sets and vectors: comma-separated, "(empty)" for none.
            items = (
                pl.when(raw == EMPTY)
                .then(pl.lit([], dtype=pl.List(pl.String)))
                .when(raw == "")
                .then(pl.lit([], dtype=pl.List(pl.String)))
                .when(given)
                .then(raw.str.split(","))
            )
            if target.inner == pl.String:
                return items, None  # text items are always valid
            invalid = value.list.eval(pl.element().is_null()).list.any()
            return items.cast(target, strict=False), given & invalid
        if target == pl.String:
            return pl.when(raw == EMPTY).then(pl.lit("")).when(given).then(raw), None
        if target == pl.Boolean:
            typed = pl.when(raw == "T").then(pl.lit(value=True)).when(raw == "F")
            return typed.then(pl.lit(value=False)), given & value.is_null()
        # "-" and "(empty)" both fail to convert: only "-" (unset) is a valid null.
        return raw.cast(target, strict=False), given & value.is_null()

    def _finish(self, frame: pl.DataFrame, skipped: int) -> ParseResult:
        frame = reject_where(
            frame,
            *((pl.col(name).is_null(), f"Zeek field {name} is missing") for name in self.required),
            (epoch_ms(pl.col("ts")).is_null(), "Zeek field ts is out of range"),
        )
        frame = self.prepare(frame)
        out = frame.select(INDEX, *(c for c in (REASON,) if c in frame.columns), *self.mapping())
        result = parse_with(out, self.event_class())
        result.skipped += skipped
        return result

    def event_class(self) -> type[OcsfEvent]:
        return self.event_classes[0]

    def prepare(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Helper columns `mapping` needs that one expression cannot make."""
        return frame

    @abstractmethod
    def mapping(self) -> list[pl.Expr]:
        """OCSF columns from the typed Zeek fields."""

    def common(self) -> list[pl.Expr]:
        """Columns every Zeek log shares: time, product, the connection 4-tuple."""
        # http.log has no proto field: HTTP runs over TCP.
        proto = pl.col("proto") if "proto" in self.fields else pl.lit("tcp")
        return [
            epoch_ms(pl.col("ts")).alias("time"),
            pl.lit("Zeek").alias(PRODUCT_NAME),
            pl.lit("Zeek").alias(PRODUCT_VENDOR),
            pl.lit(self.path).alias("metadata.log_name"),
            pl.lit("zeek").alias(LOG_FORMAT),
            pl.col("uid").alias("metadata.uid"),
            pl.col("id.orig_h").alias("src_endpoint.ip"),
            pl.col("id.orig_p").alias("src_endpoint.port"),
            pl.col("id.resp_h").alias("dst_endpoint.ip"),
            pl.col("id.resp_p").alias("dst_endpoint.port"),
            pl.col("uid").alias("connection_info.uid"),
            proto.alias("connection_info.protocol_name"),
            proto.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64).alias(
                "connection_info.protocol_num"
            ),
        ]


ENDPOINT_FIELDS: dict[str, pl.DataType] = {
    "ts": pl.Float64(),
    "uid": pl.String(),
    "id.orig_h": pl.String(),
    "id.orig_p": pl.Int64(),
    "id.resp_h": pl.String(),
    "id.resp_p": pl.Int64(),
}

# Zeek conn_state -> OCSF Network Activity activity_id.
CONN_ACTIVITY = {
    "S0": 4,  # Fail: attempt seen, no reply
    "REJ": 5,  # Refuse
    "RSTO": 3,  # Reset
    "RSTR": 3,
    "RSTOS0": 3,
    "RSTRH": 3,
    "SF": 2,  # Close: normal establishment and termination
}


@parsers.register("zeek_conn")
class ZeekConn(ZeekLog):
    """Zeek conn.log: one record per connection, with bytes and packets each way."""

    description = "Zeek conn.log (TSV or JSON)"
    event_classes = (NetworkActivity,)
    path = "conn"
    fields: ClassVar[dict[str, pl.DataType]] = {
        **ENDPOINT_FIELDS,
        "proto": pl.String(),
        "service": pl.String(),
        "duration": pl.Float64(),
        "orig_bytes": pl.Int64(),
        "resp_bytes": pl.Int64(),
        "conn_state": pl.String(),
        "local_orig": pl.Boolean(),
        "local_resp": pl.Boolean(),
        "missed_bytes": pl.Int64(),
        "history": pl.String(),
        "orig_pkts": pl.Int64(),
        "orig_ip_bytes": pl.Int64(),
        "resp_pkts": pl.Int64(),
        "resp_ip_bytes": pl.Int64(),
    }

    @classmethod
    def distinctive(cls) -> tuple[str, ...]:
        return ("id.orig_h", "conn_state")

    def mapping(self) -> list[pl.Expr]:
        orig, resp = pl.col("orig_bytes"), pl.col("resp_bytes")
        return [
            *self.common(),
            pl.col("conn_state")
            .replace_strict(CONN_ACTIVITY, default=6, return_dtype=pl.Int64)
            .alias("activity_id"),
            pl.col("conn_state").alias("status_code"),
            (pl.col("duration") * 1000).round(0).cast(pl.Int64, strict=False).alias("duration"),
            pl.col("service").alias("app_name"),
            orig.alias("traffic.bytes_out"),
            resp.alias("traffic.bytes_in"),
            (orig.fill_null(0) + resp.fill_null(0)).alias("traffic.bytes"),
            pl.col("orig_pkts").alias("traffic.packets_out"),
            pl.col("resp_pkts").alias("traffic.packets_in"),
            (pl.col("orig_pkts").fill_null(0) + pl.col("resp_pkts").fill_null(0)).alias(
                "traffic.packets"
            ),
        ]


DNS_RCODES = {
    int(value): str(entry["caption"])
    for value, entry in ocsf.class_attributes("dns_activity")["rcode_id"]["enum"].items()
}
"""DNS response codes OCSF names (rcode_id -> caption); other codes are 99 (Other)."""


def dns_rcode(code: pl.Expr) -> list[pl.Expr]:
    """`rcode_id` and `rcode` of a numeric DNS response code."""
    rcode_id = pl.when(code.is_in(list(DNS_RCODES))).then(code).otherwise(pl.lit(99))
    rcode_id = pl.when(code.is_not_null()).then(rcode_id).cast(pl.Int64)
    captions = {**DNS_RCODES, 99: "Other"}
    return [
        rcode_id.alias("rcode_id"),
        rcode_id.replace_strict(captions, default=None, return_dtype=pl.String).alias("rcode"),
    ]


def dns_answers(frame: pl.DataFrame, rdata: str, ttl: str) -> pl.DataFrame:
    """Add `_answers` (OCSF list of dns_answer) zipped from parallel lists of rdata and TTLs.

    Zeek logs answers and their TTLs as two vectors; they are exploded side by
    side and gathered back per record (no Python loop). No answers give null.
    """
    length = pl.col(rdata).list.len()
    present = length.fill_null(0) > 0
    known = pl.col(ttl).fill_null(pl.lit([], dtype=pl.List(pl.Float64)))
    ttls = known.list.gather(pl.int_ranges(0, length.fill_null(0)), null_on_oob=True)
    rdatas = pl.when(present).then(pl.col(rdata))
    long = frame.select(
        INDEX, rdatas.alias("_rdata"), pl.when(present).then(ttls).alias("_ttl")
    ).explode("_rdata", "_ttl")
    answer = pl.struct(
        pl.col("_rdata").alias("rdata"),
        pl.col("_ttl").round(0).cast(pl.Int64, strict=False).alias("ttl"),
    )
    grouped = long.group_by(INDEX, maintain_order=True).agg(
        answer.filter(pl.col("_rdata").is_not_null()).alias("_answers")
    )
    grouped = grouped.with_columns(
        pl.when(pl.col("_answers").list.len() > 0).then(pl.col("_answers")).alias("_answers")
    )
    return frame.join(grouped, on=INDEX, how="left", maintain_order="left")


@parsers.register("zeek_dns")
class ZeekDns(ZeekLog):
    """Zeek dns.log: one record per query, with its answers, TTLs and response code."""

    description = "Zeek dns.log (TSV or JSON)"
    event_classes = (DnsActivity,)
    path = "dns"
    fields: ClassVar[dict[str, pl.DataType]] = {
        **ENDPOINT_FIELDS,
        "proto": pl.String(),
        "trans_id": pl.Int64(),
        "rtt": pl.Float64(),
        "query": pl.String(),
        "qclass": pl.Int64(),
        "qclass_name": pl.String(),
        "qtype": pl.Int64(),
        "qtype_name": pl.String(),
        "rcode": pl.Int64(),
        "rcode_name": pl.String(),
        "AA": pl.Boolean(),
        "TC": pl.Boolean(),
        "RD": pl.Boolean(),
        "RA": pl.Boolean(),
        "Z": pl.Int64(),
        "answers": pl.List(pl.String()),
        "TTLs": pl.List(pl.Float64()),
        "rejected": pl.Boolean(),
    }

    @classmethod
    def distinctive(cls) -> tuple[str, ...]:
        return ("id.orig_h", "query", "trans_id")

    def prepare(self, frame: pl.DataFrame) -> pl.DataFrame:
        return dns_answers(frame, "answers", "TTLs")

    def mapping(self) -> list[pl.Expr]:
        has_query = pl.col("query").is_not_null()
        answered = pl.col("rcode").is_not_null()
        common = self.common()
        time = common[0]
        return [
            *common,
            # A Zeek DNS record holds a query and its response: Traffic; Query when unanswered.
            pl.when(answered).then(6).otherwise(1).cast(pl.Int64).alias("activity_id"),
            pl.when(has_query).then(pl.col("query")).alias("query.hostname"),
            pl.when(has_query).then(pl.col("qtype_name")).alias("query.type"),
            pl.when(has_query).then(pl.col("qclass_name")).alias("query.class"),
            pl.when(has_query).then(pl.col("trans_id")).alias("query.packet_uid"),
            pl.col("_answers").alias("answers"),
            *dns_rcode(pl.col("rcode")),
            time.alias("query_time"),
            pl.when(pl.col("rtt").is_not_null())
            .then(epoch_ms(pl.col("ts") + pl.col("rtt")))
            .alias("response_time"),
        ]


@parsers.register("zeek_http")
class ZeekHttp(ZeekLog):
    """Zeek http.log: one record per request/response pair on a connection."""

    description = "Zeek http.log (TSV or JSON)"
    event_classes = (HttpActivity,)
    path = "http"
    fields: ClassVar[dict[str, pl.DataType]] = {
        **ENDPOINT_FIELDS,
        "trans_depth": pl.Int64(),
        "method": pl.String(),
        "host": pl.String(),
        "uri": pl.String(),
        "referrer": pl.String(),
        "version": pl.String(),
        "user_agent": pl.String(),
        "origin": pl.String(),
        "request_body_len": pl.Int64(),
        "response_body_len": pl.Int64(),
        "status_code": pl.Int64(),
        "status_msg": pl.String(),
        "username": pl.String(),
        "resp_mime_types": pl.List(pl.String()),
    }
    default_layout = (
        *ENDPOINT_FIELDS,
        "trans_depth",
        "method",
        "host",
        "uri",
        "referrer",
        "version",
        "user_agent",
        "origin",
        "request_body_len",
        "response_body_len",
        "status_code",
        "status_msg",
        "info_code",
        "info_msg",
        "tags",
        "username",
        "password",
        "proxied",
        "orig_fuids",
        "orig_filenames",
        "orig_mime_types",
        "resp_fuids",
        "resp_filenames",
        "resp_mime_types",
    )

    @classmethod
    def distinctive(cls) -> tuple[str, ...]:
        return ("id.orig_h", "trans_depth", "uri")

    def mapping(self) -> list[pl.Expr]:
        status = pl.col("status_code")
        responded = status.is_not_null()
        host = pl.col("host")
        uri = pl.col("uri")
        url = pl.when(host.is_not_null()).then(pl.lit("http://") + host + uri.fill_null(""))
        return [
            *self.common(),
            http_activity(pl.col("method")).alias("activity_id"),
            without_port(host).alias("dst_endpoint.hostname"),
            http_method(pl.col("method")).alias("http_request.http_method"),
            other_method(pl.col("method")).alias("unmapped"),
            *url_parts(pl.coalesce(url, uri), "http_request.url"),
            pl.col("referrer").alias("http_request.referrer"),
            pl.col("version").alias("http_request.version"),
            pl.col("user_agent").alias("http_request.user_agent"),
            pl.col("request_body_len").alias("http_request.body_length"),
            status.alias("http_status"),
            status.alias("http_response.code"),
            pl.when(responded).then(pl.col("status_msg")).alias("http_response.status"),
            pl.when(responded).then(pl.col("response_body_len")).alias("http_response.body_length"),
            pl.when(responded)
            .then(pl.col("resp_mime_types").list.first())
            .alias("http_response.content_type"),
        ]
