"""IoT telemetry bridged from the stores' MQTT brokers, one JSON message per record.

The record shape, which the MQTT connector produces too (receive time, topic, and
the message body decoded as JSON):

    {"ts": "2026-11-23T08:00:00.642Z",
     "topic": "stores/031/iot/s031-cam-01/telemetry",
     "payload": {"msg": "heartbeat", "device": "s031-cam-01", "kind": "camera",
                 "vendor": "Axis", "model": "P3265-LVE", "firmware": "11.8.64",
                 "ip": "10.0.12.14", "mac": "02:00:00:00:0c:0e", "uptime_s": 2946472,
                 "cpu_pct": 23.1, "mem_pct": 51.3, "connections": 3,
                 "readings": {"recording": true, "fps": 15}}}

`ts` is ISO 8601 (UTC `Z` or an offset). Topics are `stores/<store>/iot/<device>/...`:
the store goes to `store.uid`, the device id to `device.uid` when the payload does
not name it. Device events (`"msg": "event"`, `"event": "firmware_changed"`, free-form
details) use the same shape.

Every message becomes one Device Inventory Info event: a heartbeat is activity
Collect; a device event is activity Other named after the event (`boot`,
`firmware_changed`, ...). The running firmware is `device.os.version` (OS name
`firmware`). What OCSF has no attribute for is kept in `unmapped` as JSON:
`vendor`, the load figures and `readings` of a heartbeat; the whole payload of a
device event, whose details are free-form.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from vigil.events import DeviceInventoryInfo
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
    utc_time,
)
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords

TOPIC = r"^stores/([^/]+)/iot/([^/]+)(?:/|$)"
COLLECT, OTHER = 2, 99
IOT_DEVICE = 7  # OCSF device type_id "IOT"

PAYLOAD = pl.Struct(
    {
        "msg": pl.String(),
        "event": pl.String(),
        "device": pl.String(),
        "kind": pl.String(),
        "vendor": pl.String(),
        "model": pl.String(),
        "firmware": pl.String(),
        "ip": pl.String(),
        "mac": pl.String(),
        "uptime_s": pl.Int64(),
        "cpu_pct": pl.Float64(),
        "mem_pct": pl.Float64(),
        "connections": pl.Int64(),
    }
)
MESSAGE = pl.Struct({"ts": pl.String(), "topic": pl.String(), "payload": PAYLOAD})
LOAD = ("uptime_s", "cpu_pct", "mem_pct", "connections")


@parsers.register("iot_mqtt")
class IotMqtt(Parser):
    """MQTT telemetry of store IoT devices: heartbeats and device events."""

    description = "IoT MQTT telemetry (heartbeats and device events) bridged as JSON lines"
    event_classes = (DeviceInventoryInfo,)

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = sample_lines(sample)
        shaped = (
            lines.str.strip_chars_start().str.starts_with("{")
            & lines.str.contains('"topic"', literal=True)
            & lines.str.contains('"payload"', literal=True)
        )
        on_iot = lines.str.contains("/iot/", literal=True)
        return min(1.0, 0.8 * share(shaped) + 0.2 * share(on_iot))

    def parse(self, records: RawRecords) -> ParseResult:
        frame = indexed(records.text)
        if frame.height == 0:
            return ParseResult()
        decoded = decode_json(frame, "record", MESSAGE)
        frame = decoded.with_columns(
            pl.col("payload").is_null().alias("_no_payload"),
            pl.col("topic").str.extract_groups(TOPIC).alias("_topic"),
        ).unnest("payload")
        frame = frame.with_columns(
            utc_time(pl.col("ts")).alias("_time"),
            pl.col("_topic").struct.field("1").alias("_store"),
            pl.coalesce(pl.col("device"), pl.col("_topic").struct.field("2")).alias("_device"),
        )
        frame = reject_where(
            frame,
            (pl.col("ts").is_null(), "no ts (receive time)"),
            (pl.col("_time").is_null(), "ts is not an ISO 8601 time"),
            (pl.col("_no_payload"), "no payload object"),
            (pl.col("_device").is_null(), "no device id in the payload or the topic"),
        )
        frame = _unmapped(frame)
        return parse_with(frame.select(INDEX, REASON, *self.mapping()), DeviceInventoryInfo)

    @staticmethod
    def mapping() -> list[pl.Expr]:
        heartbeat = pl.col("msg") == "heartbeat"
        firmware = pl.col("firmware")
        return [
            pl.col("_time").alias("time"),
            pl.when(heartbeat).then(pl.lit(COLLECT)).otherwise(pl.lit(OTHER)).alias("activity_id"),
            pl.when(heartbeat)
            .then(pl.lit(DeviceInventoryInfo.activity_caption(COLLECT)))
            .otherwise(pl.coalesce(pl.col("event"), pl.col("msg"), pl.lit("Other")))
            .alias("activity_name"),
            pl.when(~heartbeat).then(pl.col("event")).alias("message"),
            pl.lit("IoT MQTT bridge").alias(PRODUCT_NAME),
            pl.lit("Vigil").alias(PRODUCT_VENDOR),
            pl.col("topic").alias("metadata.log_name"),
            pl.lit("mqtt_json").alias(LOG_FORMAT),
            pl.col("_store").alias("store.uid"),
            pl.lit(IOT_DEVICE).alias("device.type_id"),
            pl.coalesce(pl.col("kind"), pl.lit("IOT")).alias("device.type"),
            pl.col("_device").alias("device.uid"),
            pl.col("_device").alias("device.name"),
            pl.col("ip").alias("device.ip"),
            pl.col("mac").alias("device.mac"),
            pl.col("model").alias("device.model"),
            pl.when(firmware.is_not_null()).then(pl.lit("firmware")).alias("device.os.name"),
            pl.when(firmware.is_not_null()).then(pl.lit(0)).alias("device.os.type_id"),
            firmware.alias("device.os.version"),
            pl.when(heartbeat).then(pl.col("_time")).alias("device.last_seen_time"),
            pl.col("_unmapped").alias("unmapped"),
        ]


READINGS = r'"readings"\s*:\s*(\{[^{}]*\})'


def _unmapped(frame: pl.DataFrame) -> pl.DataFrame:
    """Heartbeats: vendor, load and raw readings; other messages: the whole raw payload.

    Flat readings are cut out of the text with a regular expression (a second JSON
    parse would halve the throughput); nested or escaped ones, which it cannot cut
    safely, are taken with a JSON path, on those rows only.
    """
    heartbeat = (pl.col("msg") == "heartbeat").fill_null(value=False)
    record = pl.col("record")
    frame = frame.with_columns(record.str.extract(READINGS, 1).alias("_cut"))
    cut = pl.col("_cut")
    safe = ~cut.str.contains("\\", literal=True) & (
        cut.str.count_matches('"', literal=True) % 2 == 0
    )
    frame = frame.with_columns(safe.fill_null(value=False).alias("_safe")).with_columns(
        pl.when("_safe").then(cut).alias("_readings"),
        (heartbeat & record.str.contains('"readings"', literal=True) & ~pl.col("_safe")).alias(
            "_nested"
        ),
        (~heartbeat).alias("_other"),
    )
    frame = frame.with_columns(
        _on_rows(frame, "_nested", "$.payload.readings", frame.get_column("_readings")),
        _on_rows(frame, "_other", "$.payload", pl.Series("_payload", [None] * frame.height)),
    )
    fields = pl.struct(pl.col("vendor"), *(pl.col(name) for name in LOAD)).struct.json_encode()
    frame = frame.with_columns(fields.alias("_fields"))
    readings, fields = pl.col("_readings"), pl.col("_fields")
    with_readings = (
        pl.when(readings.is_not_null())
        .then(pl.concat_str(fields.str.head(-1), pl.lit(',"readings":'), readings, pl.lit("}")))
        .otherwise(fields)
    )
    return frame.with_columns(
        pl.when(heartbeat).then(with_readings).otherwise(pl.col("_payload")).alias("_unmapped")
    )


def _on_rows(frame: pl.DataFrame, mask: str, path: str, into: pl.Series) -> pl.Series:
    """`into`, with the JSON at `path` of the records where `mask` holds written over it.

    The JSON path costs a second parse, so it runs on those rows only.
    """
    rows = frame.get_column(mask).arg_true()
    if rows.len() == 0:
        return into.cast(pl.String)
    values = frame.get_column("record").gather(rows).str.json_path_match(path)
    return into.cast(pl.String).scatter(rows, values)
