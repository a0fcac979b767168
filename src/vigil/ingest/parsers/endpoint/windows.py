"""Windows and Sysmon events as JSON, from tills and back-office PCs, as OCSF events.

Flat (`EventID`, `Channel`, `Computer`, `TimeCreated`, `EventData`: NXLog,
`Get-WinEvent` exports) or as winlogbeat writes them (`@timestamp`,
`winlog.event_id`, `winlog.channel`, `winlog.computer_name`, `winlog.event_data`).
Security 4624 / 4625 / 4634 -> Authentication (Logon success / failure, Logoff);
Sysmon 1 / 5 -> Process Activity (Launch / Terminate); Sysmon 3 -> Network
Activity. Other event ids are rejected with their id and channel, so a collector
that forwards too much shows up.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import Authentication, NetworkActivity
from vigil.events.system import ProcessActivity
from vigil.ingest.parsers.base import (
    LOG_FORMAT,
    PRODUCT_NAME,
    PRODUCT_VENDOR,
    Parser,
    decode_json,
    indexed,
    parsers,
    reject_where,
)
from vigil.ingest.parsers.endpoint.common import (
    LAUNCH,
    LOGOFF,
    LOGON,
    TERMINATE,
    basename,
    finish,
    json_object,
    prefixed,
    unix_file,
)
from vigil.ingest.parsers.endpoint.windows_fields import (
    AUTH_PROTOCOLS,
    EVENT_DATA,
    FAILURES,
    LOGON_TYPES,
    PROTOCOL_NUMBERS,
    SYSMON,
    WINDOWS,
    WINDOWS_OS,
    dash_null,
    windows_time,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords


@parsers.register("windows_event")
class WindowsEvent(Parser):
    """Windows Security logons and Sysmon process and network events, as JSON."""

    description = "Windows / Sysmon events as JSON (flat EventData or winlogbeat)"
    event_classes = (Authentication, ProcessActivity, NetworkActivity)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = sample_lines(sample)

        def has(text: str) -> pl.Series:
            return lines.str.contains(text, literal=True)

        flat = has('"EventID"') & (has('"Channel"') | has('"Computer"'))
        return 0.9 * share(flat | (has('"winlog"') & has('"event_id"')))

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = decode_json(frame, "record", WINDOWS)
        beat = pl.col("winlog").struct
        data = pl.col("EventData").struct
        fields = [
            pl.coalesce(data.field(name), beat.field("event_data").struct.field(name)).alias(name)
            for name in EVENT_DATA.to_schema()
        ]
        frame = frame.with_columns(
            pl.coalesce("EventID", "Id", beat.field("event_id"))
            .cast(pl.Int64, strict=False)
            .alias("_id"),
            pl.coalesce("Channel", "LogName", beat.field("channel")).alias("_channel"),
            pl.coalesce("Computer", "MachineName", beat.field("computer_name")).alias("_computer"),
            pl.coalesce("EventRecordID", "RecordId", beat.field("record_id")).alias("_record"),
            pl.coalesce(
                windows_time(pl.col("TimeCreated")), windows_time(pl.col("@timestamp"))
            ).alias("_time"),
        ).with_columns(fields)
        event_id, sysmon = pl.col("_id"), pl.col("_channel") == SYSMON
        security = pl.col("_channel") == "Security"
        frame = frame.with_columns(
            pl.when(security & event_id.is_in([4624, 4625, 4634]))
            .then(pl.lit(Authentication.CLASS_NAME))
            .when(sysmon & event_id.is_in([1, 5]))
            .then(pl.lit(ProcessActivity.CLASS_NAME))
            .when(sysmon & (event_id == 3))
            .then(pl.lit(NetworkActivity.CLASS_NAME))
            .alias("_class")
        )
        unmapped = pl.format(
            "Windows event {} of channel {} has no mapping",
            event_id,
            pl.col("_channel").fill_null("(none)"),
        )
        frame = reject_where(
            frame, (event_id.is_null(), "no EventID"), (pl.col("_class").is_null(), unmapped)
        )
        frame = reject_where(
            frame,
            (pl.col("_time").is_null(), "no TimeCreated or @timestamp in a known format"),
            (pl.col("_computer").is_null(), "no Computer"),
            (
                (pl.col("_class") == Authentication.CLASS_NAME)
                & dash_null(pl.col("TargetUserName")).is_null(),
                "logon event without TargetUserName",
            ),
            (
                (pl.col("_class") == ProcessActivity.CLASS_NAME)
                & pl.col("User").is_null()
                & pl.col("ParentProcessId").is_null()
                & pl.col("ParentImage").is_null(),
                "Sysmon process event names no user or parent process",
            ),
            (
                (pl.col("_class") == NetworkActivity.CLASS_NAME)
                & pl.col("SourceIp").is_null()
                & pl.col("DestinationIp").is_null(),
                "Sysmon network connection without addresses",
            ),
        )
        return finish(
            frame,
            {
                Authentication: self.logon(),
                ProcessActivity: self.process(),
                NetworkActivity: self.network(),
            },
        )

    @staticmethod
    def common(product: str) -> list[pl.Expr]:
        return [
            pl.col("_time").alias("time"),
            pl.lit(product).alias(PRODUCT_NAME),
            pl.lit("Microsoft").alias(PRODUCT_VENDOR),
            pl.col("_channel").alias("metadata.log_name"),
            pl.lit("windows_json").alias(LOG_FORMAT),
            pl.col("_record").alias("metadata.uid"),
        ]

    @staticmethod
    def device() -> list[pl.Expr]:
        return [
            pl.col("_computer").alias("device.hostname"),
            pl.col("_computer").alias("device.name"),
            pl.lit("Windows").alias("device.os.name"),
            pl.lit(WINDOWS_OS).alias("device.os.type_id"),
            pl.lit("Windows").alias("device.os.type"),
        ]

    def logon(self) -> list[pl.Expr]:
        event_id = pl.col("_id")
        logon_type = pl.col("LogonType").cast(pl.Int64, strict=False)
        package = dash_null(pl.col("AuthenticationPackageName"))
        protocol = pl.when(package.str.starts_with("NTLM")).then(pl.lit("NTLM")).otherwise(package)
        sub = pl.when(pl.col("SubStatus").str.to_lowercase() != "0x0").then(pl.col("SubStatus"))
        code = pl.coalesce(sub, pl.col("Status"))
        return [
            *self.common("Microsoft Windows"),
            pl.when(event_id == 4634)
            .then(pl.lit(LOGOFF))
            .otherwise(pl.lit(LOGON))
            .alias("activity_id"),
            pl.when(event_id == 4634)
            .then(pl.lit("Logoff"))
            .otherwise(pl.lit("Logon"))
            .alias("activity_name"),
            pl.when(event_id == 4625).then(pl.lit(2)).otherwise(pl.lit(1)).alias("status_id"),
            pl.when(event_id == 4625)
            .then(pl.lit("Failure"))
            .otherwise(pl.lit("Success"))
            .alias("status"),
            pl.when(event_id == 4625).then(code).alias("status_code"),
            pl.when(event_id == 4625)
            .then(
                pl.coalesce(
                    code.str.to_lowercase().replace_strict(
                        FAILURES, default=None, return_dtype=pl.String
                    ),
                    dash_null(pl.col("FailureReason")),
                )
            )
            .alias("status_detail"),
            pl.col("TargetUserName").alias("user.name"),
            dash_null(pl.col("TargetDomainName")).alias("user.domain"),
            dash_null(pl.col("TargetUserSid")).alias("user.uid"),
            dash_null(pl.col("SubjectUserName")).alias("actor.user.name"),
            dash_null(pl.col("SubjectDomainName")).alias("actor.user.domain"),
            dash_null(pl.col("IpAddress")).alias("src_endpoint.ip"),
            pl.when(~pl.col("IpPort").is_in(["-", "0", ""]))
            .then(pl.col("IpPort").cast(pl.Int64, strict=False))
            .alias("src_endpoint.port"),
            dash_null(pl.col("WorkstationName")).alias("src_endpoint.hostname"),
            pl.col("_computer").alias("dst_endpoint.hostname"),
            dash_null(pl.col("TargetLogonId")).alias("session.uid"),
            logon_type.replace_strict(
                {number: number for number in LOGON_TYPES}, default=99, return_dtype=pl.Int64
            ).alias("logon_type_id"),
            logon_type.replace_strict(LOGON_TYPES, default=None, return_dtype=pl.String).alias(
                "logon_type"
            ),
            logon_type.is_in([3, 8, 10, 12]).alias("is_remote"),
            pl.when(protocol.is_not_null())
            .then(protocol.replace_strict(AUTH_PROTOCOLS, default=99, return_dtype=pl.Int64))
            .alias("auth_protocol_id"),
            protocol.alias("auth_protocol"),
            json_object(
                event_id.alias("event_id"),
                dash_null(pl.col("LogonProcessName").str.strip_chars()).alias("logon_process"),
            ).alias("unmapped"),
        ]

    def process(self) -> list[pl.Expr]:
        event_id = pl.col("_id")
        user = pl.col("User").str.split_exact("\\", 1)
        domain_user = pl.col("User").str.contains("\\", literal=True)
        return [
            *self.common("Sysmon"),
            *self.device(),
            pl.when(event_id == 1)
            .then(pl.lit(LAUNCH))
            .otherwise(pl.lit(TERMINATE))
            .alias("activity_id"),
            pl.when(event_id == 1)
            .then(pl.lit("Launch"))
            .otherwise(pl.lit("Terminate"))
            .alias("activity_name"),
            pl.col("ProcessId").cast(pl.Int64, strict=False).alias("process.pid"),
            pl.col("ProcessGuid").alias("process.uid"),
            basename(pl.col("Image")).alias("process.name"),
            pl.col("Image").alias("process.path"),
            pl.col("CommandLine").alias("process.cmd_line"),
            pl.col("CurrentDirectory").alias("process.working_directory"),
            pl.when(event_id == 1)
            .then(windows_time(pl.col("UtcTime")))
            .alias("process.created_time"),
            pl.col("IntegrityLevel").alias("process.integrity"),
            pl.when(domain_user)
            .then(user.struct.field("field_1"))
            .otherwise(pl.col("User"))
            .alias("process.user.name"),
            pl.when(domain_user).then(user.struct.field("field_0")).alias("process.user.domain"),
            *prefixed("process.file", unix_file(pl.col("Image"))),
            *self.parent("process.parent_process"),
            *self.parent("actor.process"),
            pl.when(domain_user)
            .then(user.struct.field("field_1"))
            .otherwise(pl.col("User"))
            .alias("actor.user.name"),
            pl.when(domain_user).then(user.struct.field("field_0")).alias("actor.user.domain"),
            pl.when(pl.col("Hashes").is_not_null())
            .then(pl.struct(pl.col("Hashes").alias("hashes")).struct.json_encode())
            .alias("unmapped"),
        ]

    @staticmethod
    def parent(prefix: str) -> list[pl.Expr]:
        return [
            pl.col("ParentProcessId").cast(pl.Int64, strict=False).alias(f"{prefix}.pid"),
            pl.col("ParentProcessGuid").alias(f"{prefix}.uid"),
            basename(pl.col("ParentImage")).alias(f"{prefix}.name"),
            pl.col("ParentImage").alias(f"{prefix}.path"),
            pl.col("ParentCommandLine").alias(f"{prefix}.cmd_line"),
        ]

    def network(self) -> list[pl.Expr]:
        initiated = pl.col("Initiated").str.to_lowercase()
        protocol = pl.col("Protocol").str.to_lowercase()
        return [
            *self.common("Sysmon"),
            pl.lit(1).alias("activity_id"),
            pl.lit("Open").alias("activity_name"),
            pl.col("SourceIp").alias("src_endpoint.ip"),
            pl.col("SourcePort").cast(pl.Int64, strict=False).alias("src_endpoint.port"),
            dash_null(pl.col("SourceHostname")).alias("src_endpoint.hostname"),
            pl.col("DestinationIp").alias("dst_endpoint.ip"),
            pl.col("DestinationPort").cast(pl.Int64, strict=False).alias("dst_endpoint.port"),
            dash_null(pl.col("DestinationHostname")).alias("dst_endpoint.hostname"),
            protocol.alias("connection_info.protocol_name"),
            protocol.replace_strict(PROTOCOL_NUMBERS, default=None, return_dtype=pl.Int64).alias(
                "connection_info.protocol_num"
            ),
            pl.when(initiated == "true")
            .then(pl.lit(2))
            .when(initiated == "false")
            .then(pl.lit(1))
            .otherwise(pl.lit(0))
            .alias("connection_info.direction_id"),
            pl.when(initiated == "true")
            .then(pl.lit("Outbound"))
            .when(initiated == "false")
            .then(pl.lit("Inbound"))
            .alias("connection_info.direction"),
            basename(pl.col("Image")).alias("app_name"),
            pl.struct(
                pl.col("_computer").alias("computer"),
                pl.col("ProcessId").alias("process_id"),
                pl.col("ProcessGuid").alias("process_guid"),
                pl.col("Image").alias("image"),
                pl.col("User").alias("user"),
            )
            .struct.json_encode()
            .alias("unmapped"),
        ]
