"""Physical security as JSON lines: door controller events and alarm panel events.

Door: `{"ts", "controller", "door", "event": granted|denied|forced|held|opened|closed,
"badge", "user", "store"?}`. Alarm: `{"ts", "panel", "event": armed|disarmed|triggered
(or alarm), "user", "partition", "store"?}`. Both become `DoorAccess`; an alarm
partition is the event's `door` (uid `panel:partition`). `user` is the badge
holder's login name. The records name no store unless `store` is given; the
estate's asset list maps the controller or panel to its store downstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import polars as pl

from vigil.events import DoorAccess
from vigil.ingest.parsers.base import (
    INDEX,
    LOG_FORMAT,
    PRODUCT_NAME,
    REASON,
    Parser,
    decode_json,
    indexed,
    parse_with,
    parsers,
    reject_where,
)
from vigil.ingest.parsers.pos import TIME_REASON, device, iso_time, sniff_marker
from vigil.ingest.types import ParseResult, RawRecords


class AccessLog(Parser):
    """A JSON-lines log of one physical-security device kind."""

    event_classes = (DoorAccess,)
    log_name: ClassVar[str] = ""
    events: ClassVar[dict[str, int]] = {}
    """`event` value -> DoorAccess activity_id."""
    source: ClassVar[str] = ""
    """The field naming the device (controller or panel)."""
    device_type: ClassVar[str] = ""
    severities: ClassVar[dict[str, int]] = {}
    """`event` value -> OCSF severity_id where it is not Informational (1)."""
    fields: ClassVar[dict[str, pl.DataType]] = {}

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        frame = decode_json(frame, "record", pl.Struct(self.fields)).drop("record")
        frame = frame.with_columns(iso_time("ts"))
        known = ", ".join(self.events)
        frame = reject_where(
            frame,
            (pl.col("ts").is_null(), f"ts {TIME_REASON}"),
            (
                ~pl.col("event").is_in(list(self.events)).fill_null(value=False),
                f"event is missing or not one of {known}",
            ),
            (pl.col(self.source).is_null(), f"{self.source} is missing"),
        )
        out = frame.select(INDEX, *((REASON,) if REASON in frame.columns else ()), *self.mapping())
        return parse_with(out, DoorAccess)

    def mapping(self) -> list[pl.Expr]:
        """DoorAccess columns every access log shares."""
        return [
            pl.col("ts").alias("time"),
            pl.col("event")
            .replace_strict(self.events, default=None, return_dtype=pl.Int64)
            .alias("activity_id"),
            pl.col("event").alias("status_code"),
            pl.col("event")
            .replace_strict(self.severities, default=1, return_dtype=pl.Int64)
            .alias("severity_id"),
            pl.lit(self.device_type).alias(PRODUCT_NAME),
            pl.lit(self.log_name).alias("metadata.log_name"),
            pl.lit("json").alias(LOG_FORMAT),
            pl.col("store").alias("store.uid"),
            pl.col("user").alias("user.name"),
            *device(pl.col(self.source), self.device_type),
        ]


@parsers.register("vigil_door")
class VigilDoor(AccessLog):
    """Door controller events: badge reads and door states."""

    description = "Door controller events, JSON lines (granted, denied, forced, held, ...)"
    log_name = "door"
    source = "controller"
    device_type = "Door Controller"
    events: ClassVar[dict[str, int]] = {
        "granted": 1,
        "denied": 2,
        "forced": 3,
        "held": 4,
        "opened": 5,
        "closed": 6,
    }
    severities: ClassVar[dict[str, int]] = {"denied": 2, "held": 2, "forced": 3}
    fields: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.String(),
        "controller": pl.String(),
        "door": pl.String(),
        "event": pl.String(),
        "badge": pl.String(),
        "user": pl.String(),
        "store": pl.String(),
    }

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        return sniff_marker(sample, '"controller":', '"door":', '"event":')

    def mapping(self) -> list[pl.Expr]:
        return [
            *super().mapping(),
            pl.col("door").alias("door.uid"),
            pl.col("badge").alias("badge_uid"),
        ]


@parsers.register("vigil_alarm")
class VigilAlarm(AccessLog):
    """Alarm panel events: arming, disarming and alarms, per partition."""

    description = "Alarm panel events, JSON lines (armed, disarmed, triggered)"
    log_name = "alarm"
    source = "panel"
    device_type = "Alarm Panel"
    events: ClassVar[dict[str, int]] = {"armed": 7, "disarmed": 8, "triggered": 9, "alarm": 9}
    severities: ClassVar[dict[str, int]] = {"triggered": 4, "alarm": 4}
    fields: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.String(),
        "panel": pl.String(),
        "event": pl.String(),
        "user": pl.String(),
        "partition": pl.String(),
        "store": pl.String(),
    }

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        return sniff_marker(sample, '"panel":', '"event":')

    def mapping(self) -> list[pl.Expr]:
        partition = pl.col("partition").fill_null("store")
        return [
            *super().mapping(),
            (pl.col("panel") + pl.lit(":") + partition).alias("door.uid"),
            partition.alias("door.name"),
        ]
