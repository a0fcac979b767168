"""Multivariate, unsupervised flow detectors: `isolation_forest` and `half_space_trees`.

Both read configurable numeric columns (nulls as 0) and take `log1p` of the
heavy-tailed ones (bytes, packets, durations), so a 10x jump counts the same at
1 kB as at 1 GB. Scores lie in 0-1, higher = more anomalous; 0 until the model
has seen enough rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field
from sklearn.ensemble import IsolationForest

from vigil.detect.ml.base import (
    DetectorConfig,
    as_scores,
    detector_configs,
    detectors,
    empty_scores,
    require_columns,
)
from vigil.detect.types import Detector

FLOW_FEATURES = (
    "traffic.bytes_out",
    "traffic.bytes_in",
    "traffic.packets_out",
    "traffic.packets_in",
    "duration",
)


def _features_field() -> list[str]:
    return list(FLOW_FEATURES)


def feature_matrix(
    frame: pl.DataFrame, features: Sequence[str], log_features: Sequence[str], detector: str
) -> np.ndarray:
    """(rows, features) Float64: nulls and NaN as 0, `log1p` of the clipped-at-0 log features."""
    require_columns(frame, features, detector)
    logged = set(log_features)
    columns = []
    for column in features:
        expr = pl.col(column).cast(pl.Float64).fill_null(0.0).fill_nan(0.0)
        if column in logged:
            expr = expr.clip(lower_bound=0.0).log1p()
        columns.append(expr.alias(column))
    return frame.select(columns).to_numpy().astype(np.float64, copy=False)


class Reservoir:
    """A bounded uniform sample of every row learned (Vitter's algorithm R, vectorised)."""

    def __init__(self, size: int, width: int, rng: np.random.Generator) -> None:
        self.rows = np.empty((0, width), dtype=np.float64)
        self.size = size
        self.seen = 0
        self._rng = rng

    def add(self, batch: np.ndarray) -> None:
        free = max(0, min(self.size - self.rows.shape[0], batch.shape[0]))
        if free:
            self.rows = np.vstack([self.rows, batch[:free]])
        rest = batch[free:]
        if rest.shape[0]:
            positions = self.seen + free + np.arange(rest.shape[0])
            slots = np.floor(self._rng.random(rest.shape[0]) * (positions + 1)).astype(np.int64)
            kept = slots < self.size
            self.rows[slots[kept]] = rest[kept]  # a later row wins a shared slot, as in sequence
        self.seen += batch.shape[0]


@detector_configs.register("isolation_forest")
class IsolationForestConfig(DetectorConfig):
    type: Literal["isolation_forest"] = "isolation_forest"
    features: list[str] = Field(
        default_factory=_features_field, description="Numeric columns the forest reads."
    )
    log_features: list[str] = Field(
        default_factory=_features_field,
        description="Features taken as log1p (byte, packet and duration counts).",
    )
    n_estimators: int = Field(default=100, ge=1, description="Trees in the forest.")
    max_samples: int = Field(default=256, ge=2, description="Rows drawn to grow each tree.")
    reservoir_size: int = Field(
        default=10_000, ge=2, description="Learned rows kept (uniform sample) to refit from."
    )
    min_rows: int = Field(default=256, ge=2, description="Rows learned before the first fit.")
    refit_every: int = Field(
        default=5_000, ge=1, description="New rows learned that trigger a refit."
    )
    beyond_range: bool = Field(
        default=True,
        description="Push rows outside the learned range of a feature towards 1 "
        "(a forest scores them like the edge rows it was fitted on).",
    )
    random_state: int = Field(default=0, description="Seed of the forest and the reservoir.")


@detectors.register("isolation_forest")
class IsolationForestDetector(Detector):
    """scikit-learn's IsolationForest refitted on a bounded reservoir of learned rows.

    The score is the forest's anomaly score `2 ** (-E[h(x)] / c(n))` of Liu et
    al., in (0, 1]: about 0.5 for ordinary rows, near 1 for rows isolated at once.
    A forest's splits lie inside the range it was fitted on, so a row far beyond
    that range scores like the edge rows; with `beyond_range`, the score moves
    towards 1 by `1 - exp(-excess)`, the excess being the farthest overshoot in
    units of the feature's learned range.
    """

    name: ClassVar[str] = "isolation_forest"

    def __init__(
        self,
        features: Sequence[str] = FLOW_FEATURES,
        log_features: Sequence[str] = FLOW_FEATURES,
        n_estimators: int = 100,
        max_samples: int = 256,
        reservoir_size: int = 10_000,
        min_rows: int = 256,
        refit_every: int = 5_000,
        beyond_range: bool = True,
        random_state: int = 0,
    ) -> None:
        self.features = tuple(features)
        self.log_features = tuple(log_features)
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.reservoir_size = reservoir_size
        self.min_rows = min_rows
        self.refit_every = refit_every
        self.beyond_range = beyond_range
        self.random_state = random_state
        self.low_ = np.zeros(len(self.features))
        self.span_ = np.ones(len(self.features))
        self.reservoir_ = Reservoir(
            reservoir_size, len(self.features), np.random.default_rng(random_state)
        )
        self.forest_: IsolationForest | None = None
        self.since_fit_ = 0

    def learn(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.reservoir_.add(feature_matrix(frame, self.features, self.log_features, self.name))
        self.since_fit_ += frame.height
        due = self.forest_ is None or self.since_fit_ >= self.refit_every
        if due and self.reservoir_.seen >= self.min_rows:
            rows = self.reservoir_.rows
            forest = IsolationForest(
                n_estimators=self.n_estimators,
                max_samples=min(self.max_samples, rows.shape[0]),
                random_state=self.random_state,
            )
            forest.fit(rows)
            self.forest_ = forest
            self.low_ = rows.min(axis=0)
            self.span_ = np.maximum(rows.max(axis=0) - self.low_, 1e-9)
            self.since_fit_ = 0

    def score(self, frame: pl.DataFrame) -> pl.Series:
        if frame.height == 0:
            return empty_scores()
        matrix = feature_matrix(frame, self.features, self.log_features, self.name)
        if self.forest_ is None:
            return as_scores(np.zeros(frame.height))
        scores = -np.asarray(self.forest_.score_samples(matrix), dtype=np.float64)
        if self.beyond_range:
            below = (self.low_ - matrix) / self.span_
            above = (matrix - (self.low_ + self.span_)) / self.span_
            excess = np.maximum(np.maximum(below, above), 0.0).max(axis=1)
            scores = scores + (1.0 - scores) * (1.0 - np.exp(-excess))
        return as_scores(scores)


@detector_configs.register("half_space_trees")
class HalfSpaceTreesConfig(DetectorConfig):
    type: Literal["half_space_trees"] = "half_space_trees"
    features: list[str] = Field(
        default_factory=_features_field, description="Numeric columns the trees read."
    )
    log_features: list[str] = Field(
        default_factory=_features_field,
        description="Features taken as log1p (byte, packet and duration counts).",
    )
    n_trees: int = Field(default=25, ge=1, description="Trees in the ensemble.")
    height: int = Field(default=8, ge=1, le=12, description="Depth of every tree.")
    window_size: int = Field(
        default=250, ge=1, description="Rows per window; mass profiles swap after each."
    )
    size_limit: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="A path ends at the first node holding less than this share of a window.",
    )
    random_state: int = Field(default=0, description="Seed of the random splits.")


@detectors.register("half_space_trees")
class HalfSpaceTrees(Detector):
    """Streaming half-space trees (Tan, Ting and Liu, 2011), vectorised over rows and trees.

    The feature box is fixed from the first window learned (log features with a
    margin), values outside are clipped to its edge. Every tree splits a random
    feature at the middle of its node's range. The reference mass profile of the
    last complete window scores rows: per tree `m(node) * 2 ** depth` at the leaf
    or the first node lighter than `size_limit` of a window, summed over trees
    as `mass`; the score `1 / (1 + mass / (trees * window))` is near 1 in empty
    regions and about 0.5 for typical rows. 0 until the first window is complete.
    """

    name: ClassVar[str] = "half_space_trees"

    def __init__(
        self,
        features: Sequence[str] = FLOW_FEATURES,
        log_features: Sequence[str] = FLOW_FEATURES,
        n_trees: int = 25,
        height: int = 8,
        window_size: int = 250,
        size_limit: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.features = tuple(features)
        self.log_features = tuple(log_features)
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.size_limit = size_limit
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state)
        nodes = 2 ** (height + 1) - 1
        self.low_: np.ndarray | None = None
        self.span_: np.ndarray | None = None
        self.split_feature_ = np.zeros((n_trees, nodes), dtype=np.int64)
        self.split_value_ = np.zeros((n_trees, nodes), dtype=np.float64)
        self.reference_ = np.zeros((n_trees, nodes), dtype=np.float64)
        self.latest_ = np.zeros((n_trees, nodes), dtype=np.float64)
        self.in_window_ = 0
        self.windows_ = 0

    def learn(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        matrix = feature_matrix(frame, self.features, self.log_features, self.name)
        if self.low_ is None:
            self._grow(matrix[: self.window_size])
        start = 0
        while start < matrix.shape[0]:  # one step per window boundary, not per row
            take = min(self.window_size - self.in_window_, matrix.shape[0] - start)
            self.latest_ += self._mass(matrix[start : start + take])
            self.in_window_ += take
            start += take
            if self.in_window_ == self.window_size:
                self.reference_ = self.latest_
                self.latest_ = np.zeros_like(self.reference_)
                self.in_window_ = 0
                self.windows_ += 1

    def score(self, frame: pl.DataFrame) -> pl.Series:
        if frame.height == 0:
            return empty_scores()
        matrix = feature_matrix(frame, self.features, self.log_features, self.name)
        if self.windows_ == 0 or self.low_ is None or self.span_ is None:
            return as_scores(np.zeros(frame.height))
        paths = self._paths(matrix, self.low_, self.span_)
        trees = np.arange(self.n_trees)
        limit = self.size_limit * self.window_size
        mass = np.zeros((frame.height, self.n_trees), dtype=np.float64)
        done = np.zeros((frame.height, self.n_trees), dtype=bool)
        for depth, node in enumerate(paths):  # stop at the first node too light to split
            here = self.reference_[trees, node]
            ends = ~done & ((here < limit) | (depth == self.height))
            mass[ends] = here[ends] * 2.0**depth
            done |= ends
        return as_scores(1.0 / (1.0 + mass.sum(axis=1) / (self.n_trees * self.window_size)))

    def _grow(self, sample: np.ndarray) -> None:
        """Fix the feature box from a sample and draw every tree's splits."""
        low = sample.min(axis=0)
        high = sample.max(axis=0)
        margin = np.maximum((high - low) * 0.5, 1.0)
        self.low_ = low - margin
        self.span_ = (high + margin) - self.low_
        width = len(self.features)
        nodes = self.split_feature_.shape[1]
        lower = np.zeros((self.n_trees, nodes, width))
        upper = np.ones((self.n_trees, nodes, width))
        trees = np.arange(self.n_trees)
        for node in range(2**self.height - 1):  # internal nodes, parents before children
            feature = self._rng.integers(0, width, size=self.n_trees)
            middle = (lower[trees, node, feature] + upper[trees, node, feature]) / 2.0
            self.split_feature_[:, node] = feature
            self.split_value_[:, node] = middle
            for child, bound in ((2 * node + 1, upper), (2 * node + 2, lower)):
                lower[:, child] = lower[:, node]
                upper[:, child] = upper[:, node]
                bound[trees, child, feature] = middle

    def _mass(self, matrix: np.ndarray) -> np.ndarray:
        """(trees, nodes): rows of the matrix that pass through each node."""
        if self.low_ is None or self.span_ is None:
            raise RuntimeError("half_space_trees: the feature box is not set")
        nodes = self.split_feature_.shape[1]
        offsets = np.arange(self.n_trees) * nodes
        flat = np.concatenate(
            [(path + offsets).ravel() for path in self._paths(matrix, self.low_, self.span_)]
        )
        counts = np.bincount(flat, minlength=self.n_trees * nodes)
        return counts.reshape(self.n_trees, nodes).astype(np.float64)

    def _paths(self, matrix: np.ndarray, low: np.ndarray, span: np.ndarray) -> list[np.ndarray]:
        """Node index per (row, tree) at every depth 0..height."""
        unit = np.clip((matrix - low) / span, 0.0, 1.0)
        trees = np.arange(self.n_trees)
        node = np.zeros((matrix.shape[0], self.n_trees), dtype=np.int64)
        paths = [node]
        for _ in range(self.height):
            feature = self.split_feature_[trees, node]
            value = np.take_along_axis(unit, feature, axis=1)
            right = value >= self.split_value_[trees, node]
            node = 2 * node + 1 + right
            paths.append(node)
        return paths
