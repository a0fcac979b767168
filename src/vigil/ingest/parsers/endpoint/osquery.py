"""osquery result logs from Linux tills and back-office PCs, as OCSF events.

The differential results log osqueryd's filesystem logger writes, one JSON object
per line (`name`, `hostIdentifier`, `unixTime`, `decorations`, `columns` as
strings, `action` added/removed). Queries are told apart by the end of their
name, or by their columns when the name says nothing:

- `process_events` -> Process Activity, Launch (parent as the actor);
- `logged_in_users` -> Authentication, Logon when added, Logoff when removed;
- `file_events` -> File System Activity (Create, Update, Delete, Rename, ...).

The time is the row's own `time` (when it happened), else `unixTime` (when the
query ran, kept as `metadata.logged_time`). A `store` decoration goes to `store.uid`.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import Authentication
from vigil.events.system import FileActivity, ProcessActivity
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
    OTHER,
    finish,
    prefixed,
    seconds,
    struct_of,
    unix_file,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords

UNSET_AUID = "4294967295"

QUERY_KINDS = ("process_events", "logged_in_users", "file_events")
OSQUERY = pl.Struct(
    {
        "name": pl.String(),
        "hostIdentifier": pl.String(),
        "unixTime": pl.String(),
        "action": pl.String(),
        "decorations": struct_of("host_uuid", "hostname", "store"),
        "columns": struct_of(
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
        lines = sample_lines(sample)
        marked = lines.str.contains('"hostIdentifier"', literal=True) & lines.str.contains(
            '"columns"', literal=True
        )
        return 0.95 * share(marked)

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
            pl.when(added)
            .then(pl.col("_time"))
            .otherwise(pl.coalesce(pl.col("_logged"), pl.col("_time")))
            .alias("time"),
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
