"""Append-only keyed state: a rule's state as a list of per-batch frames, pruned by time.

Windowed kinds used to fold each batch into one state frame (concatenate, then
group again), which costs in proportion to the whole state on every batch. Here
a batch's partial aggregate is appended as it is; a partition is dropped whole
once its newest time is older than the horizon; and only when the list grows
past `limit` are the partitions folded into one (`compact`), so the cost of a
batch follows the batch, not the state. Readers concatenate the partitions
(no copy) and aggregate what they need; rows older than the horizon that stay
in a partition must be harmless to them (filtered, or outside every window).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

import polars as pl

LIMIT = 16
"""Partitions kept before they are folded into one (0: fold on every batch, the old way)."""


class Partitions:
    """Frames of one schema, each with the newest time it holds; pruned and compacted."""

    def __init__(
        self,
        column: str,
        limit: int | None = None,
        how: Literal["vertical_relaxed", "diagonal_relaxed"] = "vertical_relaxed",
    ) -> None:
        self.column = column
        self.how: Literal["vertical_relaxed", "diagonal_relaxed"] = how
        """The time column a partition's age is read from."""
        self.limit = LIMIT if limit is None else limit
        self._parts: list[tuple[datetime, pl.DataFrame]] = []
        self._empty = pl.DataFrame()
        """No rows, the schema of the last frame appended (what `frame` gives without rows)."""

    def __len__(self) -> int:
        return sum(part.height for _, part in self._parts)

    def append(self, frame: pl.DataFrame, fold: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
        """Add a batch's rows; past `limit` partitions, fold them all into one with `fold`."""
        self._empty = frame.clear()
        if frame.is_empty():
            return
        newest = frame.get_column(self.column).max()
        if not isinstance(newest, datetime):  # pragma: no cover - a non-empty time column
            raise TypeError("expected event times")
        self._parts.append((newest, frame))
        if len(self._parts) > self.limit:
            folded = fold(self.frame())
            if folded.is_empty():
                self._parts = []
            else:
                latest = folded.get_column(self.column).max()
                self._parts = [(latest if isinstance(latest, datetime) else newest, folded)]

    def prune(self, horizon: datetime) -> None:
        """Drop the partitions whose every row is older than `horizon` (no frame operation)."""
        if any(newest < horizon for newest, _ in self._parts):
            self._parts = [(newest, part) for newest, part in self._parts if newest >= horizon]

    def frame(self) -> pl.DataFrame:
        """Every partition as one frame (no rows, the last schema, without partitions)."""
        if not self._parts:
            return self._empty
        if len(self._parts) == 1:
            return self._parts[0][1]
        return pl.concat([part for _, part in self._parts], how=self.how, rechunk=False)
