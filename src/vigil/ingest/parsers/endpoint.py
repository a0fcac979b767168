"""Endpoint telemetry: osquery result logs (Linux tills and back office) and Windows events.

`osquery`: the differential results log osqueryd's filesystem logger writes, one
JSON object per line (`name`, `hostIdentifier`, `unixTime`, `decorations`,
`columns` as strings, `action` added/removed). Queries are told apart by the end
of their name, or by their columns when the name says nothing:

- `process_events` -> Process Activity, Launch (parent as the actor);
- `logged_in_users` -> Authentication, Logon when added, Logoff when removed;
- `file_events` -> File System Activity (Create, Update, Delete, Rename, ...).

The time is the row's own `time` (when it happened), else `unixTime` (when the
query ran, kept as `metadata.logged_time`). A `store` decoration goes to `store.uid`.

`windows_event`: Windows and Sysmon events as JSON, flat (`EventID`, `Channel`,
`Computer`, `TimeCreated`, `EventData`: NXLog, `Get-WinEvent` exports) or as
winlogbeat writes them (`@timestamp`, `winlog.event_id`, `winlog.channel`,
`winlog.computer_name`, `winlog.event_data`). Security 4624 / 4625 / 4634 ->
Authentication (Logon success / failure, Logoff); Sysmon 1 / 5 -> Process Activity
(Launch / Terminate); Sysmon 3 -> Network Activity. Other event ids are rejected
with their id and channel, so a collector that forwards too much shows up.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import Authentication, NetworkActivity, OcsfEvent
from vigil.events.system import FileActivity, ProcessActivity
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    PRODUCT_VENDOR,
    Parser,
    decode_json,
    indexed,
    parse_with,
    parsers,
    reject_where,
    split_rejected,
    utc_time,
)
from vigil.ingest.types import ParseResult, RawRecords

REGULAR_FILE = 1
UNSET_AUID = "4294967295"
LAUNCH, TERMINATE, OTHER = 1, 2, 99
LOGON, LOGOFF = 1, 2


def _struct(*names: str) -> pl.Struct:
    return pl.Struct({name: pl.String() for name in names})


def seconds(text: pl.Expr) -> pl.Expr:
    """Epoch seconds (text or number) as a UTC millisecond time; null when not a number."""
    number = text.cast(pl.Float64, strict=False)
    return (number * 1000).round(0).cast(pl.Int64).cast(pl.Datetime("ms", "UTC"))


def basename(path: pl.Expr) -> pl.Expr:
    """The last part of a POSIX or Windows path."""
    return path.str.extract(r"([^\\/]+)[\\/]*$", 1)


def unix_file(path: pl.Expr) -> dict[str, pl.Expr]:
    """OCSF `file` columns (prefix-less) of a path; null when there is no path."""
    present = path.is_not_null() & (path != "")
    return {
        "name": pl.when(present).then(basename(path)),
        "path": pl.when(present).then(path),
        "type_id": pl.when(present).then(pl.lit(REGULAR_FILE)),
    }


def json_object(*fields: pl.Expr) -> pl.Expr:
    """A JSON object of the named expressions, leaving out the null ones."""
    encoded = pl.struct(*fields).struct.json_encode()
    compact = encoded.str.replace_all(r'"[A-Za-z_]+":null,?', "").str.replace(r",\}$", "}")
    return pl.when(compact != "{}").then(compact)


def prefixed(prefix: str, columns: dict[str, pl.Expr]) -> list[pl.Expr]:
    return [expr.alias(f"{prefix}.{name}") for name, expr in columns.items()]


def finish(frame: pl.DataFrame, batches: dict[type[OcsfEvent], list[pl.Expr]]) -> ParseResult:
    """Reject the bad rows once, then batch each class from the rows of its `_class`."""
    good, rejected = split_rejected(frame)
    result = ParseResult(rejected=rejected)
    for event_class, mapping in batches.items():
        rows = good.filter(pl.col("_class") == event_class.CLASS_NAME)
        if rows.height:
            result.extend(parse_with(rows.select(INDEX, *mapping), event_class))
    return result


# --- osquery ----------------------------------------------------------------------

QUERY_KINDS = ("process_events", "logged_in_users", "file_events")
OSQUERY = pl.Struct(
    {
        "name": pl.String(),
        "hostIdentifier": pl.String(),
        "unixTime": pl.String(),
        "action": pl.String(),
        "decorations": _struct("host_uuid", "hostname", "store"),
        "columns": _struct(
            "pid",
            "parent",
            "path",
            "name",
            "cmdline",
            "cwd",
            "uid",
            "auid",
            "time",
            "type",
            "user",
            "tty",
            "host",
            "target_path",
            "category",
            "action",
            "transaction_id",
            "inode",
            "size",
        ),
    }
)
FILE_ACTIVITY = {
    "CREATED": 1,
    "ACCESSED": 2,
    "UPDATED": 3,
    "DELETED": 4,
    "MOVED_FROM": 5,
    "MOVED_TO": 5,
    "ATTRIBUTES_MODIFIED": 6,
    "OPENED": 14,
}
"""osquery file_events action -> OCSF File System Activity activity_id."""
FILE_CAPTIONS = {
    action: FileActivity.activity_caption(activity) or action
    for action, activity in FILE_ACTIVITY.items()
}


@parsers.register("osquery")
class Osquery(Parser):
    """osquery differential results: process starts, logins and file changes."""

    description = "osquery differential results log (process_events, logged_in_users, file_events)"
    event_classes = (ProcessActivity, Authentication, FileActivity)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = [line for line in sample[:20] if line.strip()]
        if not lines:
            return 0.0
        marked = sum('"hostIdentifier"' in line and '"columns"' in line for line in lines)
        return 0.95 * marked / len(lines)

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = decode_json(frame, "record", OSQUERY)
        row = pl.col("columns").struct
        by_name = pl.col("name").str.extract(rf"({'|'.join(QUERY_KINDS)})$", 1)
        by_columns = (
            pl.when(row.field("cmdline").is_not_null() & row.field("pid").is_not_null())
            .then(pl.lit("process_events"))
            .when(row.field("target_path").is_not_null())
            .then(pl.lit("file_events"))
            .when(row.field("tty").is_not_null() & row.field("user").is_not_null())
            .then(pl.lit("logged_in_users"))
        )
        kind = pl.coalesce(by_name, by_columns)
        frame = frame.with_columns(
            kind.alias("_query"),
            kind.replace_strict(
                {
                    "process_events": ProcessActivity.CLASS_NAME,
                    "logged_in_users": Authentication.CLASS_NAME,
                    "file_events": FileActivity.CLASS_NAME,
                },
                default=None,
                return_dtype=pl.String,
            ).alias("_class"),
            pl.coalesce(seconds(row.field("time")), seconds(pl.col("unixTime"))).alias("_time"),
            seconds(pl.col("unixTime")).alias("_logged"),
        )
        frame = reject_where(
            frame,
            (pl.col("name").is_null(), "no query name"),
            (pl.col("hostIdentifier").is_null(), "no hostIdentifier"),
            (pl.col("action") == "snapshot", "snapshot results are not supported"),
            (pl.col("columns").is_null(), "no columns"),
            (
                pl.col("_class").is_null(),
                "not a process_events, logged_in_users or file_events row",
            ),
            (pl.col("_time").is_null(), "no time or unixTime in epoch seconds"),
            (
                (pl.col("_query") == "file_events")
                & (row.field("target_path").fill_null("") == ""),
                "file_events row without target_path",
            ),
            (
                (pl.col("_query") != "logged_in_users")
                & row.field("uid").is_null()
                & row.field("parent").is_null(),
                "process or file row names no uid or parent process",
            ),
        )
        return finish(
            frame,
            {
                ProcessActivity: self.process(),
                Authentication: self.login(),
                FileActivity: self.file(),
            },
        )

    @staticmethod
    def common() -> list[pl.Expr]:
        decorations = pl.col("decorations").struct
        return [
            pl.lit("osquery").alias(PRODUCT_NAME),
            pl.lit("osquery").alias(PRODUCT_VENDOR),
            pl.col("name").alias("metadata.log_name"),
            pl.lit("osquery_json").alias(LOG_FORMAT),
            pl.col("_logged").alias("metadata.logged_time"),
            decorations.field("store").alias("store.uid"),
        ]

    @staticmethod
    def device() -> list[pl.Expr]:
        decorations = pl.col("decorations").struct
        return [
            pl.col("hostIdentifier").alias("device.hostname"),
            pl.coalesce(decorations.field("hostname"), pl.col("hostIdentifier")).alias(
                "device.name"
            ),
            decorations.field("host_uuid").alias("device.uid"),
        ]

    def process(self) -> list[pl.Expr]:
        row = pl.col("columns").struct
        auid = row.field("auid")
        return [
            *self.common(),
            *self.device(),
            pl.col("_time").alias("time"),
            pl.when(pl.col("action") == "added")
            .then(pl.lit(LAUNCH))
            .otherwise(pl.lit(OTHER))
            .alias("activity_id"),
            pl.when(pl.col("action") == "added")
            .then(pl.lit("Launch"))
            .otherwise(pl.col("action"))
            .alias("activity_name"),
            row.field("pid").cast(pl.Int64, strict=False).alias("process.pid"),
            row.field("name").alias("process.name"),
            row.field("path").alias("process.path"),
            row.field("cmdline").alias("process.cmd_line"),
            row.field("cwd").alias("process.working_directory"),
            seconds(row.field("time")).alias("process.created_time"),
            row.field("uid").alias("process.user.uid"),
            row.field("uid").alias("actor.user.uid"),
            *prefixed("process.file", unix_file(row.field("path"))),
            row.field("parent").cast(pl.Int64, strict=False).alias("process.parent_process.pid"),
            row.field("parent").cast(pl.Int64, strict=False).alias("actor.process.pid"),
            # auid is an attribute of OCSF's linux_users profile, which Vigil does not declare.
            pl.when(auid.is_not_null() & (auid != UNSET_AUID))
            .then(pl.struct(auid.cast(pl.Int64, strict=False).alias("auid")).struct.json_encode())
            .alias("unmapped"),
        ]

    def login(self) -> list[pl.Expr]:
        row = pl.col("columns").struct
        host = pl.when(row.field("host") != "").then(row.field("host"))
        is_ip = host.str.contains(r"^[0-9.]+$|:")
        added = pl.col("action") == "added"
        return [
            *self.common(),
            pl.when(added).then(pl.col("_time")).otherwise(pl.col("_logged")).alias("time"),
            pl.when(added).then(pl.lit(LOGON)).otherwise(pl.lit(LOGOFF)).alias("activity_id"),
            pl.when(added).then(pl.lit("Logon")).otherwise(pl.lit("Logoff")).alias("activity_name"),
            pl.lit(1).alias("status_id"),
            pl.lit("Success").alias("status"),
            row.field("user").alias("user.name"),
            pl.col("hostIdentifier").alias("dst_endpoint.hostname"),
            pl.col("decorations").struct.field("host_uuid").alias("dst_endpoint.uid"),
            pl.when(is_ip).then(host).alias("src_endpoint.ip"),
            pl.when(~is_ip).then(host).alias("src_endpoint.hostname"),
            host.is_not_null().alias("is_remote"),
            pl.when(host.is_not_null())
            .then(pl.lit(10))
            .when(row.field("tty").str.starts_with("tty"))
            .then(pl.lit(2))
            .otherwise(pl.lit(0))
            .alias("logon_type_id"),
            pl.when(host.is_not_null())
            .then(pl.lit("Remote Interactive"))
            .when(row.field("tty").str.starts_with("tty"))
            .then(pl.lit("Interactive"))
            .alias("logon_type"),
            pl.struct(row.field("tty"), row.field("type"), row.field("pid"))
            .struct.json_encode()
            .alias("unmapped"),
        ]

    def file(self) -> list[pl.Expr]:
        row = pl.col("columns").struct
        action = row.field("action")
        return [
            *self.common(),
            *self.device(),
            pl.col("_time").alias("time"),
            action.replace_strict(FILE_ACTIVITY, default=OTHER, return_dtype=pl.Int64).alias(
                "activity_id"
            ),
            action.replace_strict(FILE_CAPTIONS, default=action, return_dtype=pl.String).alias(
                "activity_name"
            ),
            *prefixed("file", unix_file(row.field("target_path"))),
            row.field("size").cast(pl.Int64, strict=False).alias("file.size"),
            row.field("inode").alias("file.uid"),
            row.field("uid").alias("actor.user.uid"),
            pl.struct(row.field("category"), row.field("action"), row.field("transaction_id"))
            .struct.json_encode()
            .alias("unmapped"),
        ]


# --- Windows ----------------------------------------------------------------------

EVENT_DATA = _struct(
    # Security 4624 / 4625 / 4634
    "SubjectUserName",
    "SubjectDomainName",
    "TargetUserSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetLogonId",
    "LogonType",
    "LogonProcessName",
    "AuthenticationPackageName",
    "WorkstationName",
    "IpAddress",
    "IpPort",
    "Status",
    "SubStatus",
    "FailureReason",
    # Sysmon 1 / 3 / 5
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "CommandLine",
    "CurrentDirectory",
    "User",
    "IntegrityLevel",
    "Hashes",
    "ParentProcessGuid",
    "ParentProcessId",
    "ParentImage",
    "ParentCommandLine",
    "Protocol",
    "Initiated",
    "SourceIp",
    "SourceHostname",
    "SourcePort",
    "DestinationIp",
    "DestinationHostname",
    "DestinationPort",
)
WINDOWS = pl.Struct(
    {
        "EventID": pl.String(),
        "Id": pl.String(),
        "Channel": pl.String(),
        "LogName": pl.String(),
        "Computer": pl.String(),
        "MachineName": pl.String(),
        "TimeCreated": pl.String(),
        "EventRecordID": pl.String(),
        "RecordId": pl.String(),
        "EventData": EVENT_DATA,
        "@timestamp": pl.String(),
        "winlog": pl.Struct(
            {
                "event_id": pl.String(),
                "channel": pl.String(),
                "computer_name": pl.String(),
                "record_id": pl.String(),
                "event_data": EVENT_DATA,
            }
        ),
    }
)
SYSMON = "Microsoft-Windows-Sysmon/Operational"
LOGON_TYPES = {
    2: "Interactive",
    3: "Network",
    4: "Batch",
    5: "OS Service",
    7: "Unlock",
    8: "Network Cleartext",
    9: "New Credentials",
    10: "Remote Interactive",
    11: "Cached Interactive",
    12: "Cached Remote Interactive",
    13: "Cached Unlock",
}
AUTH_PROTOCOLS = {"NTLM": 1, "Kerberos": 2}
FAILURES = {
    "0xc0000064": "user name does not exist",
    "0xc000006a": "wrong password",
    "0xc000006d": "bad user name or password",
    "0xc000006f": "logon outside allowed hours",
    "0xc0000070": "workstation restriction",
    "0xc0000071": "password expired",
    "0xc0000072": "account disabled",
    "0xc000015b": "logon type not granted",
    "0xc0000193": "account expired",
    "0xc0000224": "password must change at next logon",
    "0xc0000234": "account locked out",
}
"""NTSTATUS codes of failed logons (4625 Status / SubStatus) -> what they mean."""
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}
WINDOWS_OS = 100  # OCSF os type_id "Windows"


def windows_time(text: pl.Expr) -> pl.Expr:
    """ISO 8601 (up to 100 ns), `/Date(ms)/` from PowerShell, or `2026-11-23 08:00:00.123`."""
    ms = text.str.extract(r"^/Date\((-?\d+)", 1).cast(pl.Int64, strict=False)
    return pl.coalesce(
        utc_time(text),
        ms.cast(pl.Datetime("ms", "UTC")),
        text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="ms", time_zone="UTC", strict=False),
    )


def dash_null(value: pl.Expr) -> pl.Expr:
    """Windows writes `-` for an empty field."""
    return pl.when(~value.is_in(["-", ""])).then(value)


@parsers.register("windows_event")
class WindowsEvent(Parser):
    """Windows Security logons and Sysmon process and network events, as JSON."""

    description = "Windows / Sysmon events as JSON (flat EventData or winlogbeat)"
    event_classes = (Authentication, ProcessActivity, NetworkActivity)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = [line for line in sample[:20] if line.strip()]
        if not lines:
            return 0.0
        marked = sum(
            ('"EventID"' in line and ('"Channel"' in line or '"Computer"' in line))
            or ('"winlog"' in line and '"event_id"' in line)
            for line in lines
        )
        return 0.9 * marked / len(lines)

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
            "Windows event {} of channel {} has no mapping", event_id, pl.col("_channel")
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
