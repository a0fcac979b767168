"""What the simulator produces: source frames, scenario injections, ground truth."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from vigil.estate import Store, UnknownStoreError
from vigil.plugins import Registry
from vigil.sim.world import World

CLOSED_MARGIN = 2 * 3600.0
"""Closed-store scenarios start this far from opening hours, clear of the staff's shifts."""


class SimError(Exception):
    """Base class for every error of `vigil.sim`."""


@dataclass(frozen=True)
class TruthRecord:
    """One injected scenario instance: what happened, where, when, to whom."""

    scenario: str
    uid: str
    label: Literal["attack", "fraud", "benign"]
    start: float
    end: float
    stores: tuple[str, ...]
    entities: dict[str, list[str]]
    sources: tuple[str, ...]
    description: str
    onset: float | None = None
    """Time of the first malicious event, when it comes after `start` (a guest joins the
    Wi-Fi, then scans): time to detect counts from here."""

    @property
    def first_malicious(self) -> float:
        return self.start if self.onset is None else self.onset

    def as_dict(self) -> dict[str, object]:
        onset = {} if self.onset is None else {"onset": _iso(self.onset)}
        return {
            **onset,
            "scenario": self.scenario,
            "uid": self.uid,
            "label": self.label,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "stores": list(self.stores),
            "entities": self.entities,
            "sources": list(self.sources),
            "description": self.description,
        }


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass(frozen=True)
class Amendment:
    """Benign rows of a source that a scenario changes: `where` selects, `columns` rewrite.

    With no columns the rows are removed (a device that went quiet, a store not yet open).
    """

    where: pl.Expr
    columns: dict[str, pl.Expr] = field(default_factory=dict)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        if not self.columns:
            return frame.filter(~self.where.fill_null(value=False))
        return frame.with_columns(
            pl.when(self.where).then(expr).otherwise(pl.col(name)).alias(name)
            for name, expr in self.columns.items()
        )


@dataclass
class Injection:
    """Rows a scenario adds to sources, changes it makes to benign rows, its ground truth."""

    rows: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    truth: list[TruthRecord] = field(default_factory=list)
    amendments: dict[str, list[Amendment]] = field(default_factory=dict)

    def add(self, source: str, frame: pl.DataFrame) -> None:
        self.rows.setdefault(source, []).append(frame)

    def suppress(self, source: str, where: pl.Expr) -> None:
        """Drop the benign rows of `source` that match `where`."""
        self.amendments.setdefault(source, []).append(Amendment(where))

    def amend(self, source: str, where: pl.Expr, **columns: pl.Expr) -> None:
        """Rewrite `columns` of the benign rows of `source` that match `where`."""
        self.amendments.setdefault(source, []).append(Amendment(where, columns))


class Source(ABC):
    """A kind of raw telemetry: how the benign world produces it and how it is written.

    Benign frames may run past the simulated time; the runner clips and sorts them.
    """

    name: ClassVar[str]
    path: ClassVar[str]
    """File the source is written to, relative to the output folder."""
    schema: ClassVar[dict[str, pl.DataType]]
    """Columns of the source's frame; `ts` (epoch seconds) and `store` always included."""

    per_store: ClassVar[bool] = True
    """Store sources (`generate`) run once per store; estate sources (`generate_estate`) once."""

    derives_from: ClassVar[tuple[str, ...]] = ()
    """Sources this one also sees (a firewall logs the flows Zeek saw), passed to `derive`."""

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        """The benign telemetry of one store over the simulated time (store sources)."""
        raise TypeError(f"{self.name} is an estate-wide source: call generate_estate")

    def generate_estate(self, world: World) -> pl.DataFrame:
        """The benign telemetry of an estate-wide system (web shop, identity provider)."""
        raise TypeError(f"{self.name} is a per-store source: call generate")

    def derive(self, world: World, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        """Rows seen again by this source in its parents' final frames (injections included)."""
        return self.frame({name: [] for name in self.schema})

    @abstractmethod
    def render(self, frame: pl.DataFrame) -> pl.Series:
        """One text line per row, in the source's real format."""

    def header(self, world: World) -> str:
        """Text before the first line (e.g. Zeek's #fields header); empty by default."""
        return ""

    def footer(self, world: World) -> str:
        return ""

    @classmethod
    def frame(cls, rows: Mapping[str, Sequence[object]]) -> pl.DataFrame:
        """A frame with this source's schema from column lists; absent columns are null."""
        length = len(next(iter(rows.values())))
        return pl.DataFrame(
            {name: rows.get(name, [None] * length) for name in cls.schema}, schema=cls.schema
        )


class JsonLinesSource(Source):
    """A source whose records are already text lines (JSON), one per row."""

    schema: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.Float64(),
        "store": pl.String(),
        "line": pl.String(),
    }

    def render(self, frame: pl.DataFrame) -> pl.Series:
        return frame["line"]

    @classmethod
    def lines(cls, rows: Sequence[tuple[float, str | None, str]]) -> pl.DataFrame:
        """A frame from (epoch seconds, store uid, line) rows."""
        return cls.frame(
            {
                "ts": [row[0] for row in rows],
                "store": [row[1] for row in rows],
                "line": [row[2] for row in rows],
            }
        )


sources: Registry[Source] = Registry("source")


class ScenarioParams(BaseModel):
    """Where, when and how hard a scenario strikes; unset values are drawn from the seed."""

    model_config = ConfigDict(extra="forbid")

    store: str | None = Field(default=None, description="Store uid; drawn if empty.")
    at_hours: float | None = Field(
        default=None,
        ge=0,
        description="Start, in hours after the simulation starts; drawn if empty.",
    )
    intensity: float = Field(default=1.0, gt=0, le=10, description="Scales the scenario's volume.")
    instance: int = Field(
        default=0,
        ge=0,
        description="Which repetition in one run: each draws its own store, time and actors.",
    )

    def __str__(self) -> str:
        """Keys the scenario's random stream; `instance` shows only when set, so the first
        instance draws what a run without repetitions draws."""
        fields = self.model_dump(exclude=set() if self.instance else {"instance"})
        return " ".join(f"{name}={value!r}" for name, value in fields.items())


class Scenario(ABC):
    """An attack, a fraud or a benign look-alike, injected with its ground truth."""

    name: ClassVar[str]
    label: ClassVar[Literal["attack", "fraud", "benign"]]
    description: ClassVar[str]

    def __init__(self, params: ScenarioParams | None = None) -> None:
        self.params = params or ScenarioParams()

    @abstractmethod
    def inject(self, world: World) -> Injection:
        """The scenario's rows and ground truth in this world."""

    def pick_store(self, world: World, rng: np.random.Generator) -> Store:
        if self.params.store is not None:
            try:
                return world.estate.store(self.params.store)
            except UnknownStoreError:
                raise SimError(f"scenario {self.name}: no store {self.params.store!r}") from None
        stores = world.estate.stores
        return stores[int(rng.integers(len(stores)))]

    def pick_start(
        self, world: World, rng: np.random.Generator, store: Store, trading: bool
    ) -> float:
        """A start time: inside trading hours if `trading`, else while the store is closed."""
        if self.params.at_hours is not None:
            return world.span.start + self.params.at_hours * 3600
        spans = world.trading(store)
        if trading and spans:
            span = spans[int(rng.integers(len(spans)))]
            return span.start + rng.random() * max(span.seconds - 3600, 60)
        for _ in range(1000):
            moment = world.span.start + rng.random() * max(world.span.seconds - 3 * 3600, 60)
            if not any(s.start - CLOSED_MARGIN <= moment <= s.end + CLOSED_MARGIN for s in spans):
                return moment
        raise SimError(
            f"scenario {self.name}: store {store.uid} is never closed in the simulated time"
        )


scenarios: Registry[Scenario] = Registry("scenario")
