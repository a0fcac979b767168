"""FortiGate logs: `key=value` pairs, quoted or not, behind an optional syslog header.

One pass over the chunk cuts every record into its pairs, and the wanted keys are
pivoted back into columns. Traffic logs become Network Activity; VPN event logs
(`type=event subtype=vpn`: SSL-VPN and IPsec dial-up sign-ins, the way vendors and
remote staff reach a store) become Authentication: `tunnel-up` a successful logon,
`ssl-login-fail` a failed one (the reason in `status_detail`), `tunnel-down` a
logoff with the tunnel's duration. Other log types (`type=event` of other
subtypes, `utm`) and other VPN actions (`tunnel-stats`, `ssl-new-con`, ...) are
skipped.

    <189>date=2026-11-23 time=08:00:03 devname="s001-fw-01" ... srcip=10.0.11.34 action="close"
    date=2026-11-23 time=21:14:09 devname="s001-fw-01" ... type="event" subtype="vpn"
      action="ssl-login-fail" tunneltype="ssl-web" remip=198.51.100.7 user="acme-hvac"
      group="vendors" reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import Authentication, NetworkActivity
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
    epoch,
    observer_columns,
    protocol_columns,
    status_columns,
    traffic_columns,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords

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

LOGON, LOGOFF = 1, 2
VPN_ACTIONS = {
    "tunnel-up": (LOGON, 1),
    "ssl-login-fail": (LOGON, 2),
    "tunnel-down": (LOGOFF, 1),
}
"""VPN event action -> (Authentication activity_id, status_id); other actions are skipped."""
NOT_APPLICABLE = "N/A"
"""What FortiGate writes for an empty user, group or reason."""


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


def _unbalanced_quotes() -> pl.Expr:
    quotes = pl.col("record").str.count_matches('"', literal=True)
    escaped = pl.col("record").str.count_matches('\\"', literal=True)
    return (quotes - escaped) % 2 == 1


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
    "logdesc",
    "msg",
    "user",
    "xauthuser",
    "group",
    "remip",
    "tunnelip",
    "tunneltype",
    "tunnelid",
    "reason",
)


@parsers.register("fortigate")
class Fortigate(Parser):
    """FortiGate traffic logs and VPN sign-ins (key=value); other log types are skipped."""

    description = "FortiGate key=value traffic and VPN event log (syslog header optional)"
    event_classes = (NetworkActivity, Authentication)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = sample_lines(sample)
        forti = lines.str.contains(r"(?:^|[\s>])devid=\"?FG") | (
            lines.str.contains(r"(?:^|[\s>])logid=") & lines.str.contains(r"(?:^|[\s>])devname=")
        )
        return 0.95 * share(forti)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        # FortiGate's `reason=` would land in the rejection column `_reason`: renamed.
        frame = key_values(frame, FORTIGATE_KEYS).rename({REASON: "_why"})
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
        good = pl.col(REASON).is_null()
        vpn = (
            (pl.col("_type") == "event")
            & (pl.col("_subtype") == "vpn")
            & pl.col("_action").is_in(list(VPN_ACTIONS))
        )
        traffic = (pl.col("_type") == "traffic") | ~good
        other = ~(traffic | vpn.fill_null(value=False))
        skipped = frame.filter(other).height
        sign_ins = frame.filter(vpn.fill_null(value=False) & good)
        frame = frame.filter(traffic)
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
        if sign_ins.height:
            sign_ins = reject_where(
                sign_ins, (pl.col("time").is_null(), "no valid eventtime or date/time")
            )
            result.extend(
                parse_with(sign_ins.select(INDEX, REASON, *self.vpn_mapping()), Authentication)
            )
            result.rejected.sort(key=lambda item: item.index)
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
            *status_columns(status_id),
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
            *protocol_columns(number("proto"), pl.lit(None, dtype=pl.String)),
            pl.coalesce(pl.col("_app"), pl.col("_service")).alias("app_name"),
            (number("duration") * 1000).alias("duration"),
            *traffic_columns(
                number("sentbyte"), number("rcvdbyte"), number("sentpkt"), number("rcvdpkt")
            ),
            *observer_columns(pl.col("_devid"), pl.col("_devname"), pl.lit(None, dtype=pl.String)),
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

    @staticmethod
    def vpn_mapping() -> list[pl.Expr]:
        """A VPN event as Authentication: who (`user`, `group`), from where (`remip`), at
        which gateway (the FortiGate), through which tunnel, and how it went."""

        def given(key: str) -> pl.Expr:
            value = pl.col(f"_{key}")
            return pl.when(value != NOT_APPLICABLE).then(value)

        action = pl.col("_action")
        activity = action.replace_strict(
            {name: ids[0] for name, ids in VPN_ACTIONS.items()}, return_dtype=pl.Int64
        )
        status_id = action.replace_strict(
            {name: ids[1] for name, ids in VPN_ACTIONS.items()}, return_dtype=pl.Int64
        )
        group = given("group")
        return [
            pl.col("time"),
            activity.alias("activity_id"),
            *status_columns(status_id),
            action.alias("status_code"),
            pl.when(status_id != 1).then(given("why")).alias("status_detail"),
            pl.coalesce(given("msg"), pl.col("_logdesc")).alias("message"),
            pl.lit("FortiGate").alias(PRODUCT_NAME),
            pl.lit("Fortinet").alias(PRODUCT_VENDOR),
            pl.lit("fortigate").alias(LOG_FORMAT),
            pl.lit("vpn").alias("metadata.log_name"),
            pl.col("_logid").alias("metadata.uid"),
            pl.coalesce(given("user"), given("xauthuser")).alias("user.name"),  # IPsec: XAuth
            pl.when(group.is_not_null())
            .then(pl.concat_list(pl.struct(uid=pl.lit(None, dtype=pl.String), name=group)))
            .alias("user.groups"),
            pl.col("_remip").alias("src_endpoint.ip"),
            pl.col("_devname").alias("dst_endpoint.hostname"),
            pl.col("_devid").alias("dst_endpoint.uid"),
            pl.col("_dstintf").alias("dst_endpoint.interface_name"),
            pl.col("_tunneltype").alias("service.name"),
            pl.col("_tunnelid").alias("session.uid"),
            pl.lit(value=True).alias("session.is_vpn"),
            pl.lit(value=True).alias("session.is_remote"),
            pl.lit(value=True).alias("is_remote"),
            (pl.col("_duration").cast(pl.Int64, strict=False) * 1000).alias("duration"),
            pl.struct(
                tunnelip=pl.col("_tunnelip"),
                sentbyte=pl.col("_sentbyte"),
                rcvdbyte=pl.col("_rcvdbyte"),
                logdesc=pl.col("_logdesc"),
                level=pl.col("_level"),
                vd=pl.col("_vd"),
            )
            .struct.json_encode()
            .alias("unmapped"),
        ]
