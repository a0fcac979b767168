"""`peer_group`: cashiers against their peers, and the POS aggregation it reads.

`cashier_periods` turns POS transactions into one row per (store, period,
cashier) with `transactions` and the count of each exception: transaction
voids and post-voids (`voids`), voided lines (`line_voids`), `refunds`,
`no_sales`, transactions with a discount (`discounts`) and keyed card tenders
(`manual_entries`). The period is the business day, or a shift within it.

`PeerGroup` scores each row's rate of every metric against the rows of its peer
group (default: same store and period) with a robust z: `(rate - median) /
max(1.4826 * MAD, floor)`. The rate is shrunk towards the peer median by
`prior_transactions` pseudo-transactions, so three transactions with one void
are not a 33 % void rate; the floor is `min_scale` or half the estate-wide
scale learned from history, whichever is larger, so a group where everyone has
zero voids does not turn one void into infinity. A group smaller than
`min_peers` is compared with the learned estate-wide median instead (score 0
before anything is learned). Score = the largest upward z across metrics.
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
    detector_configs,
    detectors,
    empty_scores,
    key_expr,
    require_columns,
)
from vigil.detect.types import Detector

METRICS = ("voids", "line_voids", "refunds", "no_sales", "discounts", "manual_entries")
MAD_TO_SIGMA = 1.4826
REFUND, VOID, POST_VOID, NO_SALE = 2, 3, 4, 5


def cashier_periods(
    frame: pl.DataFrame, period: Literal["day", "shift"] = "day", shift_hours: int = 8
) -> pl.DataFrame:
    """One row per (`store.uid`, `period`, `cashier.uid`) with `transactions` and metric counts.

    The day is `transaction.business_day`, or the local date (`time` shifted by
    `timezone_offset` minutes) where that is empty; a shift is the local hour
    divided by `shift_hours` (`2026-11-27/1` is 08:00-15:59 with 8-hour shifts).
    Training-mode transactions are left out. Columns the frame lacks count as empty.
    """
    require_columns(frame, ["store.uid", "cashier.uid", "activity_id", "time"], "cashier_periods")

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)

    offset = column("timezone_offset", pl.Int64()).fill_null(0)
    local = pl.col("time").dt.replace_time_zone(None) + pl.duration(minutes=offset)
    day = pl.coalesce(
        column("transaction.business_day", pl.String()), local.dt.strftime("%Y-%m-%d")
    )
    key = day
    if period == "shift":
        key = pl.concat_str(day, pl.lit("/"), (local.dt.hour() // shift_hours).cast(pl.String))
    entry_mode = pl.element().struct.field("card").struct.field("entry_mode")
    manual = (
        column("tenders", pl.List(pl.Struct({"card": pl.Struct({"entry_mode": pl.String})})))
        .list.eval(entry_mode == "manual")
        .list.sum()
        .fill_null(0)
    )
    discounted = (column("transaction.discount_total", pl.Float64()).fill_null(0.0) > 0) | (
        column("discounts", pl.List(pl.Struct({"amount": pl.Float64}))).list.len().fill_null(0) > 0
    )
    activity = pl.col("activity_id")
    return (
        frame.filter(~column("transaction.is_training", pl.Boolean()).fill_null(False))
        .with_columns(key.alias("period"))
        .group_by("store.uid", "period", "cashier.uid")
        .agg(
            pl.len().cast(pl.Int64).alias("transactions"),
            activity.is_in([VOID, POST_VOID]).sum().cast(pl.Int64).alias("voids"),
            column("transaction.void_count", pl.Int64())
            .fill_null(0)
            .sum()
            .cast(pl.Int64)
            .alias("line_voids"),
            (activity == REFUND).sum().cast(pl.Int64).alias("refunds"),
            (activity == NO_SALE).sum().cast(pl.Int64).alias("no_sales"),
            discounted.sum().cast(pl.Int64).alias("discounts"),
            manual.sum().cast(pl.Int64).alias("manual_entries"),
        )
        .sort("store.uid", "period", "cashier.uid")
    )


@detector_configs.register("peer_group")
class PeerGroupConfig(DetectorConfig):
    type: Literal["peer_group"] = "peer_group"
    metrics: list[str] = Field(
        default_factory=lambda: list(METRICS), description="Count columns compared as rates."
    )
    transactions: str = Field(
        default="transactions", description="Column with the row's transactions."
    )
    group: list[str] = Field(
        default_factory=lambda: ["store.uid", "period"],
        description="Columns whose values form a peer group.",
    )
    min_peers: int = Field(
        default=4, ge=2, description="Smaller groups use the learned estate-wide baseline."
    )
    min_scale: float = Field(
        default=0.01, gt=0.0, description="Smallest scale of a rate (0.01 = 1 per 100)."
    )
    prior_transactions: float = Field(
        default=10.0, ge=0.0, description="Pseudo-transactions at the peer median added to a rate."
    )
    history: int = Field(
        default=10_000, ge=1, description="Latest learned rows kept for the estate-wide baseline."
    )


@detectors.register("peer_group")
class PeerGroup(Detector):
    """Robust z of each cashier's exception rates against their peers'; the max across metrics."""

    name: ClassVar[str] = "peer_group"

    def __init__(
        self,
        metrics: Sequence[str] = METRICS,
        transactions: str = "transactions",
        group: Sequence[str] = ("store.uid", "period"),
        min_peers: int = 4,
        min_scale: float = 0.01,
        prior_transactions: float = 10.0,
        history: int = 10_000,
    ) -> None:
        self.metrics = tuple(metrics)
        self.transactions = transactions
        self.group = tuple(group)
        self.min_peers = min_peers
        self.min_scale = min_scale
        self.prior_transactions = prior_transactions
        self.history = history
        self.history_ = pl.DataFrame(schema=dict.fromkeys(self.metrics, pl.Float64))

    def learn(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        rates = self._rates(frame).select(self.metrics)
        self.history_ = pl.concat([self.history_, rates]).tail(self.history)

    def score(self, frame: pl.DataFrame) -> pl.Series:
        if frame.height == 0:
            return empty_scores()
        return as_scores(self._z(frame).get_column("score"))

    def explain(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`metric` with the largest z, its `rate`, `peer_median`, `z` and `peers` (group size)."""
        columns = {
            "metric": pl.String,
            "rate": pl.Float64,
            "peer_median": pl.Float64,
            "z": pl.Float64,
            "peers": pl.Int64,
        }
        if frame.height == 0:
            return pl.DataFrame(schema=columns)
        scored = self._z(frame)
        zs = [pl.col(f"__z_{metric}") for metric in self.metrics]
        top = pl.col("score")
        hits = [
            (metric, z.fill_null(0.0) == top) for metric, z in zip(self.metrics, zs, strict=True)
        ]
        chosen = pl.coalesce([pl.when(hit).then(pl.lit(metric)) for metric, hit in hits])
        rate = pl.coalesce([pl.when(hit).then(pl.col(f"__rate_{m}")) for m, hit in hits])
        median = pl.coalesce([pl.when(hit).then(pl.col(f"__center_{m}")) for m, hit in hits])
        return scored.select(
            chosen.alias("metric"),
            rate.alias("rate"),
            median.alias("peer_median"),
            top.alias("z"),
            pl.col("__peers").cast(pl.Int64).alias("peers"),
        )

    # ------------------------------------------------------------------------

    def _rates(self, frame: pl.DataFrame) -> pl.DataFrame:
        require_columns(frame, [self.transactions, *self.metrics, *self.group], self.name)
        total = pl.col(self.transactions).cast(pl.Float64)
        return frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW),
            *[key_expr(column, f"__group{i}") for i, column in enumerate(self.group)],
            total.alias("__transactions"),
            *[
                pl.when(total > 0)
                .then(pl.col(metric).cast(pl.Float64).fill_null(0.0) / total)
                .otherwise(None)
                .alias(metric)
                for metric in self.metrics
            ],
        )

    def _z(self, frame: pl.DataFrame) -> pl.DataFrame:
        rates = self._rates(frame)
        keys = [f"__group{i}" for i in range(len(self.group))]
        peers = pl.len().over(keys)
        learned = self.history_.height > 0
        columns: list[pl.Expr] = []
        for metric in self.metrics:
            past = self.history_.get_column(metric).drop_nulls()
            estate_median = float(past.median() or 0.0) if learned else None  # type: ignore[arg-type]
            estate_scale = (
                MAD_TO_SIGMA * float((past - (estate_median or 0.0)).abs().median() or 0.0)  # type: ignore[arg-type]
                if learned
                else 0.0
            )
            floor = max(self.min_scale, 0.5 * estate_scale)
            rate = pl.col(metric)
            median = rate.median().over(keys)
            mad = (rate - median).abs().median().over(keys)
            small = peers < self.min_peers
            center = pl.when(small).then(pl.lit(estate_median, dtype=pl.Float64)).otherwise(median)
            scale = pl.max_horizontal(
                pl.when(small).then(pl.lit(estate_scale)).otherwise(MAD_TO_SIGMA * mad),
                pl.lit(floor),
            )
            counts = rate * pl.col("__transactions")
            shrunk = (counts + self.prior_transactions * center) / (
                pl.col("__transactions") + self.prior_transactions
            )
            columns += [
                center.alias(f"__center_{metric}"),
                rate.alias(f"__rate_{metric}"),
                ((shrunk - center) / scale).clip(lower_bound=0.0).alias(f"__z_{metric}"),
            ]
        scored = rates.with_columns(*columns, peers.alias("__peers"))
        zs = [pl.col(f"__z_{metric}").fill_null(0.0) for metric in self.metrics]
        return scored.with_columns(pl.max_horizontal(zs).alias("score"))
