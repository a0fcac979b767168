"""`device_profile`: each IoT device's normal behaviour, and drift from it.

Input: network flows (one row per flow) with the device's column (default
`src_endpoint.ip`), the destination columns (ip, port, protocol), a byte count,
`time` and, optionally, a firmware column (`device.os.version` in inventory
events, or any configured column).

The profile per device: the set of destinations it talks to, with each
destination's beacon period (median interval between flows to it, folded across
batches as a count-weighted mean of batch medians); the mean and variance of
`log1p(bytes)` per flow; its last firmware.

The score is the strongest of four parts, in z-like units:

- `new_destination`: a destination the device never used (`new_destination_score`);
- `firmware`: a firmware other than the profile's (`firmware_score`);
- `bytes`: the upward z of `log1p(bytes)` against the device's profile;
- `beacon`: an interval to a known destination `beacon_factor` times shorter than its
  period or more, `beacon_weight` per further halving.

A device with fewer than `min_flows` learned flows scores 0 but for a firmware change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.ml.base import (
    NULL_KEY,
    ROW,
    DetectorConfig,
    as_scores,
    batch_moments,
    detector_configs,
    detectors,
    empty_moments,
    empty_scores,
    key_expr,
    merge_moments,
    require_columns,
)
from vigil.detect.types import Detector

DEVICE = "__device"
DESTINATION = "__destination"
LOG_BYTES = "__log_bytes"
FIRMWARE = "__firmware"
TIME = "__time"
INTERVAL = "__interval"
PARTS = ("new_destination", "firmware", "bytes", "beacon")
DESTINATION_COLUMNS = ("dst_endpoint.ip", "dst_endpoint.port", "connection_info.protocol_name")


@detector_configs.register("device_profile")
class DeviceProfileConfig(DetectorConfig):
    type: Literal["device_profile"] = "device_profile"
    device: str = Field(default="src_endpoint.ip", description="Column naming the device.")
    destination: list[str] = Field(
        default_factory=lambda: list(DESTINATION_COLUMNS),
        description="Columns that together name a destination (ip, port, protocol).",
    )
    bytes: str = Field(default="traffic.bytes_out", description="Bytes the device sent per flow.")
    time: str = Field(default="time", description="Event time column.")
    firmware: str | None = Field(
        default=None, description="Column with the device's firmware version, if any."
    )
    min_flows: int = Field(default=20, ge=1, description="Flows learned before a device is scored.")
    alpha: float = Field(
        default=0.01, ge=0.0, le=1.0, description="Weight of new flows in the byte profile."
    )
    min_log_scale: float = Field(
        default=0.5, gt=0.0, description="Smallest scale of log1p(bytes) a z divides by."
    )
    new_destination_score: float = Field(
        default=10.0, ge=0.0, description="Score of a flow to a destination never seen."
    )
    firmware_score: float = Field(
        default=10.0, ge=0.0, description="Score of a row whose firmware differs from the profile."
    )
    beacon_factor: float = Field(
        default=4.0, gt=1.0, description="Interval this many times shorter than the period counts."
    )
    beacon_weight: float = Field(
        default=3.0, ge=0.0, description="Score per halving of the interval beyond that."
    )
    min_intervals: int = Field(
        default=3, ge=1, description="Intervals seen before a destination's period is trusted."
    )


@detectors.register("device_profile")
class DeviceProfile(Detector):
    """Drift of a device from its destinations, byte sizes, beacon periods and firmware."""

    name: ClassVar[str] = "device_profile"

    def __init__(
        self,
        device: str = "src_endpoint.ip",
        destination: Sequence[str] = DESTINATION_COLUMNS,
        bytes: str = "traffic.bytes_out",
        time: str = "time",
        firmware: str | None = None,
        min_flows: int = 20,
        alpha: float = 0.01,
        min_log_scale: float = 0.5,
        new_destination_score: float = 10.0,
        firmware_score: float = 10.0,
        beacon_factor: float = 4.0,
        beacon_weight: float = 3.0,
        min_intervals: int = 3,
    ) -> None:
        self.device = device
        self.destination = tuple(destination)
        self.bytes = bytes
        self.time = time
        self.firmware = firmware
        self.min_flows = min_flows
        self.alpha = alpha
        self.min_log_scale = min_log_scale
        self.new_destination_score = new_destination_score
        self.firmware_score = firmware_score
        self.beacon_factor = beacon_factor
        self.beacon_weight = beacon_weight
        self.min_intervals = min_intervals
        self.bytes_ = empty_moments([DEVICE])
        self.destinations_ = pl.DataFrame(
            schema={
                DEVICE: pl.String,
                DESTINATION: pl.String,
                "flows": pl.Int64,
                "last_time": pl.Datetime("ms", "UTC"),
                "period": pl.Float64,
                "intervals": pl.Int64,
            }
        )
        self.firmware_ = pl.DataFrame(schema={DEVICE: pl.String, "firmware": pl.String})

    def learn(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        keyed = self._intervals(self._keyed(frame))
        batch = batch_moments(keyed, [DEVICE], LOG_BYTES)
        self.bytes_ = merge_moments(self.bytes_, batch, [DEVICE], self.alpha)

        pairs = keyed.group_by(DEVICE, DESTINATION).agg(
            pl.len().cast(pl.Int64).alias("flows_batch"),
            pl.col(TIME).max().alias("last_batch"),
            pl.col(INTERVAL).median().alias("period_batch"),
            pl.col(INTERVAL).count().cast(pl.Int64).alias("intervals_batch"),
        )
        joined = self.destinations_.join(pairs, on=[DEVICE, DESTINATION], how="full", coalesce=True)
        old = pl.col("intervals").fill_null(0).cast(pl.Float64)
        new = pl.col("intervals_batch").fill_null(0).cast(pl.Float64)
        period = (
            pl.col("period").fill_null(0.0) * old + pl.col("period_batch").fill_null(0.0) * new
        ) / (old + new)
        self.destinations_ = joined.select(
            DEVICE,
            DESTINATION,
            (pl.col("flows").fill_null(0) + pl.col("flows_batch").fill_null(0)).alias("flows"),
            pl.max_horizontal("last_time", "last_batch").alias("last_time"),
            pl.when(old + new > 0).then(period).otherwise(None).alias("period"),
            (old + new).cast(pl.Int64).alias("intervals"),
        )

        latest = (
            keyed.filter(pl.col(FIRMWARE).is_not_null())
            .sort(TIME, ROW)
            .group_by(DEVICE)
            .agg(pl.col(FIRMWARE).last().alias("firmware_batch"))
        )
        self.firmware_ = self.firmware_.join(latest, on=DEVICE, how="full", coalesce=True).select(
            DEVICE, pl.coalesce("firmware_batch", "firmware").alias("firmware")
        )

    def score(self, frame: pl.DataFrame) -> pl.Series:
        if frame.height == 0:
            return empty_scores()
        return as_scores(self._parts(frame).get_column("score"))

    def explain(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`drift` (the part that drove the score, "" when none) and each part's evidence."""
        columns = {
            "drift": pl.String,
            "new_destination": pl.Boolean,
            "bytes_expected": pl.Float64,
            "bytes_z": pl.Float64,
            "beacon_period_s": pl.Float64,
            "interval_s": pl.Float64,
            "firmware_expected": pl.String,
        }
        if frame.height == 0:
            return pl.DataFrame(schema=columns)
        return self._parts(frame).select(list(columns))

    # ------------------------------------------------------------------------

    def _keyed(self, frame: pl.DataFrame) -> pl.DataFrame:
        needed = [self.device, *self.destination, self.bytes, self.time]
        require_columns(frame, needed, self.name)
        firmware = (
            pl.col(self.firmware).cast(pl.String)
            if self.firmware is not None and self.firmware in frame.columns
            else pl.lit(None, dtype=pl.String)
        )
        destination = pl.concat_str(
            [pl.col(column).cast(pl.String).fill_null(NULL_KEY) for column in self.destination],
            separator="|",
        )
        return frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW),
            key_expr(self.device, DEVICE),
            destination.alias(DESTINATION),
            pl.col(self.time).dt.convert_time_zone("UTC").dt.cast_time_unit("ms").alias(TIME),
            pl.col(self.bytes).cast(pl.Float64).clip(lower_bound=0.0).log1p().alias(LOG_BYTES),
            firmware.alias(FIRMWARE),
        )

    def _intervals(self, keyed: pl.DataFrame) -> pl.DataFrame:
        """Seconds since the device's previous flow to the same destination (this batch or learned)."""
        pair = [DEVICE, DESTINATION]
        ordered = keyed.sort(TIME, ROW).join(
            self.destinations_.select(*pair, "last_time"), on=pair, how="left"
        )
        previous = pl.col(TIME).shift(1).over(pair, order_by=[TIME, ROW])
        first = pl.int_range(pl.len()).over(pair, order_by=[TIME, ROW]) == 0
        before = pl.when(first).then(pl.col("last_time")).otherwise(previous)
        seconds = (pl.col(TIME) - before).dt.total_milliseconds().cast(pl.Float64) / 1000.0
        return ordered.with_columns(seconds.alias(INTERVAL)).drop("last_time").sort(ROW)

    def _parts(self, frame: pl.DataFrame) -> pl.DataFrame:
        keyed = self._intervals(self._keyed(frame))
        joined = (
            keyed.join(self.bytes_, on=DEVICE, how="left")
            .join(
                self.destinations_.select(DEVICE, DESTINATION, "period", "intervals"),
                on=[DEVICE, DESTINATION],
                how="left",
            )
            .join(self.firmware_.rename({"firmware": "firmware_expected"}), on=DEVICE, how="left")
            .sort(ROW)
        )
        warm = pl.col("n").fill_null(0) >= self.min_flows
        known = pl.col("intervals").is_not_null()
        scale = pl.max_horizontal(pl.col("var").sqrt(), pl.lit(self.min_log_scale))
        bytes_z = (pl.col(LOG_BYTES) - pl.col("mean")) / scale
        interval = pl.col(INTERVAL).clip(lower_bound=0.001)
        trusted = known & (pl.col("intervals") >= self.min_intervals) & (pl.col("period") > 0)
        halvings = (pl.col("period") / (interval * self.beacon_factor)).log(2.0)
        parts = joined.with_columns(
            pl.when(warm & ~known)
            .then(self.new_destination_score)
            .otherwise(0.0)
            .alias("part_new_destination"),
            pl.when(
                pl.col(FIRMWARE).is_not_null()
                & pl.col("firmware_expected").is_not_null()
                & (pl.col(FIRMWARE) != pl.col("firmware_expected"))
            )
            .then(self.firmware_score)
            .otherwise(0.0)
            .alias("part_firmware"),
            pl.when(warm).then(bytes_z.clip(lower_bound=0.0)).otherwise(0.0).alias("part_bytes"),
            pl.when(warm & trusted & pl.col(INTERVAL).is_not_null())
            .then(halvings.clip(lower_bound=0.0) * self.beacon_weight)
            .otherwise(0.0)
            .alias("part_beacon"),
            (warm & ~known).alias("new_destination"),
            (pl.col("mean").exp() - 1.0).alias("bytes_expected"),
            pl.when(warm).then(bytes_z).otherwise(None).alias("bytes_z"),
            pl.col("period").alias("beacon_period_s"),
            pl.col(INTERVAL).alias("interval_s"),
        )
        strengths = [pl.col(f"part_{part}").fill_null(0.0).fill_nan(0.0) for part in PARTS]
        top = pl.max_horizontal(strengths)
        drift = pl.coalesce(
            pl.when(top <= 0.0).then(pl.lit("")),
            *[
                pl.when(strength == top).then(pl.lit(part))
                for part, strength in zip(PARTS, strengths, strict=True)
            ],
        )
        return parts.with_columns(top.alias("score"), drift.fill_null("").alias("drift"))
