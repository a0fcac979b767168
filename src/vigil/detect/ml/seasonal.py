"""`seasonal_baseline`: a value per entity and bucket against its hour-of-week history.

Input: one row per entity and time bucket (events or bytes per 5 minutes per
store, say) with a numeric value column. The season slot is the hour of the week
in the entity's local time, taken from a `slot` column when the frame has one
(`context.add_season_columns` adds it from the estate, with `is_open` and
`peak_level`), otherwise derived from `time` in the IANA zone of a per-row
`timezone` column (or `default_timezone` when the frame has no such column).

The regime columns (default `is_open`, `peak_level`) are a further dimension of
the learned state, so closed-store traffic is compared with closed-store history
and Black Friday with peak history. A regime column the frame lacks counts as
one regime for every row.

State per (entity, regime, slot) and, as a fallback when a slot has too little
history, per (entity, regime): count, exponentially weighted mean and variance.
A slot's variance is shrunk towards its regime's (as if the regime added
`min_count` values), so a slot with a handful of similar values does not make
every small wobble a huge z. Learning winsorises values beyond `clip_z` scales of a warm state, so one burst
does not widen the baseline it is judged against. Score: the robust z of the
value against the expected one, one-sided upward by default; 0 until `min_count`
values were learned at either level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.ml.base import (
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
from vigil.detect.ml.context import local_time, slot_of
from vigil.detect.types import Detector
from vigil.estate.types import TimeZoneName

Direction = Literal["up", "down", "both"]
VALUE = "__value"
SLOT_KEY = "__slot"


@detector_configs.register("seasonal_baseline")
class SeasonalBaselineConfig(DetectorConfig):
    type: Literal["seasonal_baseline"] = "seasonal_baseline"
    value: str = Field(default="value", description="Numeric column to baseline.")
    entity: list[str] = Field(
        default_factory=lambda: ["store.uid"],
        description="Columns whose values name the entity (one baseline each).",
    )
    regimes: list[str] = Field(
        default_factory=lambda: ["is_open", "peak_level"],
        description="Columns splitting history into regimes (open/closed, peak level); "
        "absent columns count as one regime.",
    )
    slot: str = Field(default="slot", description="Hour-of-week column (0 = Monday 00h), if given.")
    time: str = Field(default="time", description="Event time column, used when there is no slot.")
    timezone: str = Field(
        default="timezone", description="Column with each row's IANA time zone, if any."
    )
    default_timezone: TimeZoneName = Field(
        default="UTC", description="Zone for the slot when the frame has no time zone column."
    )
    alpha: float = Field(
        default=0.05, gt=0.0, le=1.0, description="Weight of new values in the moving mean."
    )
    min_count: int = Field(default=8, ge=1, description="Values learned before a key is scored.")
    min_scale: float = Field(
        default=1.0, gt=0.0, description="Smallest scale, in value units, a z-score divides by."
    )
    clip_z: float = Field(
        default=6.0, ge=0.0, description="Learning caps values at this many scales; 0 = off."
    )
    direction: Direction = Field(
        default="up", description="Score rises above (up), below (down) or both ways."
    )


@detectors.register("seasonal_baseline")
class SeasonalBaseline(Detector):
    """Robust z of a value against its entity's hour-of-week, regime-aware baseline."""

    name: ClassVar[str] = "seasonal_baseline"

    def __init__(
        self,
        value: str = "value",
        entity: Sequence[str] = ("store.uid",),
        regimes: Sequence[str] = ("is_open", "peak_level"),
        slot: str = "slot",
        time: str = "time",
        timezone: str = "timezone",
        default_timezone: str = "UTC",
        alpha: float = 0.05,
        min_count: int = 8,
        min_scale: float = 1.0,
        clip_z: float = 6.0,
        direction: Direction = "up",
    ) -> None:
        self.value = value
        self.entity = tuple(entity)
        self.regimes = tuple(regimes)
        self.slot = slot
        self.time = time
        self.timezone = timezone
        self.default_timezone = default_timezone
        self.alpha = alpha
        self.min_count = min_count
        self.min_scale = min_scale
        self.clip_z = clip_z
        self.direction: Direction = direction
        self._group_keys = [f"__entity{i}" for i in range(len(self.entity))] + [
            f"__regime{i}" for i in range(len(self.regimes))
        ]
        self._slot_keys = [*self._group_keys, SLOT_KEY]
        self.by_slot_ = empty_moments(self._slot_keys)
        self.by_regime_ = empty_moments(self._group_keys)

    def learn(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        keyed = self._keyed(frame)
        for attribute, keys in (("by_slot_", self._slot_keys), ("by_regime_", self._group_keys)):
            state: pl.DataFrame = getattr(self, attribute)
            clipped = self._clip(keyed, state, keys)
            batch = batch_moments(clipped, keys, VALUE)
            setattr(self, attribute, merge_moments(state, batch, keys, self.alpha))

    def score(self, frame: pl.DataFrame) -> pl.Series:
        if frame.height == 0:
            return empty_scores()
        return as_scores(self._expected(frame).get_column("score"))

    def explain(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`expected`, `scale`, `deviation` (value - expected), `z`, `history`, `level`."""
        if frame.height == 0:
            return pl.DataFrame(
                schema={
                    "expected": pl.Float64,
                    "scale": pl.Float64,
                    "deviation": pl.Float64,
                    "z": pl.Float64,
                    "history": pl.Int64,
                    "level": pl.String,
                }
            )
        return self._expected(frame).select(
            "expected", "scale", "deviation", "z", "history", "level"
        )

    # ------------------------------------------------------------------------

    def _keyed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Row index, string keys, the slot and the value as Float64."""
        require_columns(frame, [self.value, *self.entity], self.name)
        if self.slot in frame.columns:
            slot = pl.col(self.slot).cast(pl.Int16)
        else:
            require_columns(frame, [self.time], self.name)
            if self.timezone in frame.columns:
                zones = frame.get_column(self.timezone).cast(pl.String)
            else:
                zones = pl.Series([self.default_timezone] * frame.height, dtype=pl.String)
            slot = slot_of(local_time(frame, self.time, zones))
        regimes = [
            key_expr(column, f"__regime{i}")
            if column in frame.columns
            else pl.lit("all").alias(f"__regime{i}")
            for i, column in enumerate(self.regimes)
        ]
        return frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW),
            *[key_expr(column, f"__entity{i}") for i, column in enumerate(self.entity)],
            *regimes,
            slot.fill_null(-1).cast(pl.String).alias(SLOT_KEY),
            pl.col(self.value).cast(pl.Float64).alias(VALUE),
        )

    def _clip(self, keyed: pl.DataFrame, state: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        if self.clip_z <= 0 or state.height == 0:
            return keyed
        joined = keyed.join(state, on=keys, how="left")
        scale = pl.max_horizontal(pl.col("var").sqrt(), pl.lit(self.min_scale))
        warm = pl.col("n") >= self.min_count
        low = pl.col("mean") - self.clip_z * scale
        high = pl.col("mean") + self.clip_z * scale
        return joined.with_columns(
            pl.when(warm).then(pl.col(VALUE).clip(low, high)).otherwise(pl.col(VALUE)).alias(VALUE)
        ).select(keyed.columns)

    def _expected(self, frame: pl.DataFrame) -> pl.DataFrame:
        keyed = self._keyed(frame)
        by_slot = self.by_slot_.rename({"n": "n_slot", "mean": "mean_slot", "var": "var_slot"})
        joined = (
            keyed.join(by_slot, on=self._slot_keys, how="left")
            .join(self.by_regime_, on=self._group_keys, how="left")
            .sort(ROW)
        )
        slot_warm = pl.col("n_slot").fill_null(0) >= self.min_count
        regime_warm = pl.col("n").fill_null(0) >= self.min_count
        expected = (
            pl.when(slot_warm)
            .then(pl.col("mean_slot"))
            .when(regime_warm)
            .then(pl.col("mean"))
            .otherwise(None)
        )
        # a slot's few values shrink towards its regime's variance, worth min_count values
        prior = pl.col("var").fill_null(pl.col("var_slot"))
        shrunk = (pl.col("n_slot") * pl.col("var_slot") + self.min_count * prior) / (
            pl.col("n_slot") + self.min_count
        )
        variance = pl.when(slot_warm).then(shrunk).otherwise(pl.col("var"))
        scale = pl.max_horizontal(variance.sqrt(), pl.lit(self.min_scale))
        deviation = pl.col(VALUE) - pl.col("expected")
        z = deviation / pl.col("scale")
        if self.direction == "up":
            score = z.clip(lower_bound=0.0)
        elif self.direction == "down":
            score = (-z).clip(lower_bound=0.0)
        else:
            score = z.abs()
        return (
            joined.with_columns(
                expected.alias("expected"),
                pl.when(slot_warm | regime_warm).then(scale).otherwise(None).alias("scale"),
                pl.when(slot_warm)
                .then(pl.col("n_slot"))
                .otherwise(pl.col("n"))
                .fill_null(0)
                .cast(pl.Int64)
                .alias("history"),
                pl.when(slot_warm)
                .then(pl.lit("slot"))
                .when(regime_warm)
                .then(pl.lit("regime"))
                .otherwise(pl.lit("warming_up"))
                .alias("level"),
            )
            .with_columns(deviation.alias("deviation"), z.alias("z"))
            .with_columns(score.fill_null(0.0).fill_nan(0.0).alias("score"))
        )
