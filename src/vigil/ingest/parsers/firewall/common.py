"""What both firewall formats share: protocol, traffic, status and observer columns.

A firewall names the same things in either format (who talked to whom, over what,
how many bytes, let through or not, seen by which device); these helpers map them
to the same OCSF Network Activity columns so that CEF and FortiGate events look
alike in the lake.
"""

from __future__ import annotations

import polars as pl

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

STATUS_CAPTIONS = {1: "Success", 2: "Failure", 99: "Other"}


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


def protocol_columns(number: pl.Expr, name: pl.Expr) -> list[pl.Expr]:
    num = pl.coalesce(
        number, name.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64)
    )
    return [
        num.alias("connection_info.protocol_num"),
        pl.coalesce(
            num.replace_strict(PROTOCOL_NAMES, default=None, return_dtype=pl.String), name
        ).alias("connection_info.protocol_name"),
    ]


def traffic_columns(
    out: pl.Expr, back: pl.Expr, pkts_out: pl.Expr, pkts_in: pl.Expr
) -> list[pl.Expr]:
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


def status_columns(status_id: pl.Expr) -> list[pl.Expr]:
    caption = status_id.replace_strict(STATUS_CAPTIONS, default="Other", return_dtype=pl.String)
    return [
        status_id.alias("status_id"),
        pl.when(status_id.is_not_null()).then(caption).alias("status"),
    ]


def observer_columns(uid: pl.Expr, name: pl.Expr, ip: pl.Expr) -> list[pl.Expr]:
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
