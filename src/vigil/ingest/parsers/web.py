"""Web server access logs (Apache and nginx combined or common log format).

One regular expression cuts each line into its fields and a second one the
request line; a line that fits neither is rejected with what was wrong with it.
The HTTP helpers here (method to activity, URL parts) are shared with the Zeek
and Suricata HTTP parsers.

    203.0.113.7 - - [23/Nov/2026:08:01:51 +0000] "GET /cart?x=1 HTTP/1.1" 200 15040 "-" "Mozilla/5.0"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import polars as pl

from vigil.events import HttpActivity
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

HTTP_ACTIVITY = {
    "CONNECT": 1,
    "DELETE": 2,
    "GET": 3,
    "HEAD": 4,
    "OPTIONS": 5,
    "POST": 6,
    "PUT": 7,
    "TRACE": 8,
    "PATCH": 9,
}
"""HTTP method -> OCSF HTTP Activity activity_id; any other method is 99 (Other)."""

_URL = (
    r"^(?:(?<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?<host>\[[^\]]*\]|[^/?#:]*)(?::(?<port>\d+))?)?"
    r"(?<path>[^?#]*)(?:\?(?<query>[^#]*))?"
)

_LINE = (
    r"^(?<client>\S+) (?<ident>\S+) (?<user>\S+) \[(?<when>[^\]]+)\] "
    r'"(?<request>(?:[^"\\]|\\.)*)" (?<status>\d{3}) (?<size>\d+|-)'
    + r'(?: "(?<referrer>(?:[^"\\]|\\.)*)" "(?<agent>(?:[^"\\]|\\.)*)")?'
)
_REQUEST = r"^(?<method>[A-Za-z]+) (?<uri>\S+)(?: HTTP/(?<version>\d(?:\.\d)?))?$"
_IP = r"^[0-9A-Fa-f:.]+$"


def http_activity(method: pl.Expr) -> pl.Expr:
    """activity_id of an HTTP method: 0 when there is none, 99 for one OCSF does not name."""
    known = method.str.to_uppercase().replace_strict(
        HTTP_ACTIVITY, default=99, return_dtype=pl.Int64
    )
    return pl.when(method.is_null()).then(pl.lit(0, dtype=pl.Int64)).otherwise(known)


def http_method(method: pl.Expr) -> pl.Expr:
    """The method in upper case when OCSF names it (its http_method is an enum), else null."""
    upper = method.str.to_uppercase()
    return pl.when(upper.is_in(list(HTTP_ACTIVITY))).then(upper)


def other_method(method: pl.Expr) -> pl.Expr:
    """`unmapped` JSON holding a method OCSF does not name (WebDAV's PROPFIND...), else null."""
    known = method.str.to_uppercase().is_in(list(HTTP_ACTIVITY))
    return pl.when(method.is_not_null() & ~known).then(
        pl.struct(method.alias("http_method")).struct.json_encode()
    )


def without_port(host: pl.Expr) -> pl.Expr:
    """A Host header without its `:port`."""
    return host.str.replace(r":\d+$", "")


def url_parts(uri: pl.Expr, prefix: str) -> list[pl.Expr]:
    """`url_string`, `scheme`, `hostname`, `path` and `query_string` of a request target."""
    parts = uri.str.extract_groups(_URL)
    empty = pl.lit(None, dtype=pl.String)

    def part(name: str) -> pl.Expr:
        value = parts.struct.field(name)
        return pl.when(value == "").then(empty).otherwise(value)

    return [
        uri.alias(f"{prefix}.url_string"),
        part("scheme").str.to_lowercase().alias(f"{prefix}.scheme"),
        part("host").alias(f"{prefix}.hostname"),
        part("port").cast(pl.Int64, strict=False).alias(f"{prefix}.port"),
        part("path").alias(f"{prefix}.path"),
        part("query").alias(f"{prefix}.query_string"),
    ]


def unset(value: pl.Expr, marker: str = "-") -> pl.Expr:
    """Null where a log writes its "no value" marker."""
    return pl.when(value == marker).then(pl.lit(None, dtype=pl.String)).otherwise(value)


@parsers.register("web_access")
class WebAccess(Parser):
    """Apache/nginx access log lines, combined or common log format."""

    description = "Apache/nginx access log (combined or common log format)"
    event_classes = (HttpActivity,)
    product: ClassVar[str] = "Web server"

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        return 0.9 * share(sample_lines(sample).str.contains(_LINE))

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        line = pl.col("record").str.extract_groups(_LINE)
        frame = frame.with_columns(line.alias("_line")).unnest("_line")
        request = pl.col("request").str.extract_groups(_REQUEST)
        frame = frame.with_columns(request.alias("_request")).unnest("_request")
        moment = pl.col("when").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False)
        offset = pl.col("when").str.extract_groups(r" (?<sign>[+-])(?<hh>\d\d)(?<mm>\d\d)$")
        frame = frame.with_columns(
            moment.dt.convert_time_zone("UTC").dt.cast_time_unit("ms").alias("time"),
            offset.alias("_offset"),
        )
        frame = reject_where(
            frame,
            (
                pl.col("client").is_null(),
                "not an access log line (expected the combined or common log format)",
            ),
            (
                pl.col("method").is_null(),
                "malformed request line (expected METHOD URI HTTP/x.y)",
            ),
            (pl.col("time").is_null(), "invalid time (expected dd/Mon/yyyy:HH:MM:SS +zzzz)"),
        )
        return parse_with(frame.select(self.mapping(frame)), HttpActivity)

    def mapping(self, frame: pl.DataFrame) -> list[pl.Expr]:
        client = pl.col("client")
        is_ip = client.str.contains(_IP)
        offset = pl.col("_offset")
        minutes = offset.struct.field("hh").cast(pl.Int64, strict=False) * 60 + offset.struct.field(
            "mm"
        ).cast(pl.Int64, strict=False)
        status = pl.col("status").cast(pl.Int64, strict=False)
        size = pl.col("size")
        has_agent = pl.col("agent").is_not_null()
        return [
            pl.col(INDEX),
            *(pl.col(name) for name in (REASON,) if name in frame.columns),
            pl.col("time"),
            pl.when(offset.struct.field("sign") == "-")
            .then(-minutes)
            .otherwise(minutes)
            .alias("timezone_offset"),
            http_activity(pl.col("method")).alias("activity_id"),
            pl.lit(self.product).alias(PRODUCT_NAME),
            pl.lit("access").alias("metadata.log_name"),
            pl.when(has_agent)
            .then(pl.lit("combined"))
            .otherwise(pl.lit("common"))
            .alias(LOG_FORMAT),
            pl.when(is_ip).then(client).alias("src_endpoint.ip"),
            pl.when(~is_ip).then(client).alias("src_endpoint.hostname"),
            http_method(pl.col("method")).alias("http_request.http_method"),
            other_method(pl.col("method")).alias("unmapped"),
            *url_parts(pl.col("uri"), "http_request.url"),
            pl.col("version").alias("http_request.version"),
            unset(pl.col("referrer")).alias("http_request.referrer"),
            unset(pl.col("agent")).alias("http_request.user_agent"),
            status.alias("http_response.code"),
            status.alias("http_status"),
            pl.when(size == "-")
            .then(pl.lit(0, dtype=pl.Int64))
            .otherwise(size.cast(pl.Int64, strict=False))
            .alias("http_response.body_length"),
        ]
