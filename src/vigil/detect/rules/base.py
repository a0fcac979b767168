"""What every native rule kind shares: the YAML fields, the `Rule` interface, alerts from hits.

A rule kind is a plugin: one module with its pydantic spec (`kind: Literal[...]`)
and its implementation, registered with `@kinds.register("threshold")`. A rule
reads whole frames of one or more event classes (flattened OCSF columns plus the
engine's `ctx.*` context columns), keeps keyed state, and returns alerts.

A rule declares the columns it reads (`Rule.columns`): the engine then hands it
a frame of just those columns (plus `EVIDENCE_COLUMNS`), and computes a context
column only when some rule reads it. So evidence rows hold the columns the rule
reads and the fixed evidence set, not all of the class's ~130 mostly null ones.
`None` (the default) means every column, so a kind that does not declare still
works, at the cost of full-width frames.

Kinds produce *hits*: one row per finding, with the rule's key columns,
`_first`/`_last` (event times), and the aggregate values the explanation quotes.
`Rule.alerts` suppresses repeats per entity key and turns hits into `Alert`s
with their evidence rows; that is the only Python loop, one turn per alert.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from vigil.detect.context import (
    CLOSED_MINUTES,
    CONTEXT_COLUMNS,
    LOCAL_HOUR,
    OPEN,
    PEAK,
    POS_COLUMNS,
    Context,
)
from vigil.detect.explain import PLACEHOLDER, render
from vigil.detect.types import Alert, RuleError, RuleMeta, Severity
from vigil.events.columns import polars_schema
from vigil.events.registry import event_class
from vigil.plugins import Registry

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EVIDENCE_ROWS = 20
"""Evidence rows kept per alert: enough to show the pattern, small enough to store."""

EVIDENCE_COLUMNS = (
    "time",
    "store.uid",
    "activity_name",
    "message",
    "device.uid",
    "device.hostname",
    "src_endpoint.ip",
    "src_endpoint.port",
    "src_endpoint.uid",
    "dst_endpoint.ip",
    "dst_endpoint.port",
    "dst_endpoint.uid",
    "user.name",
    "actor.user.name",
    "cashier.uid",
)
"""Columns every rule's evidence rows keep (where the class has them), whatever it reads."""


def expr_columns(expr: pl.Expr) -> set[str] | None:
    """Columns an expression reads; None when it cannot tell (a regex or `pl.all()`)."""
    if "cs." in str(expr):  # a selector (pl.all(), a regex, several names): not named
        return None
    return set(expr.meta.root_names())


def parse_duration(value: object) -> timedelta:
    """`30s`, `10m`, `2h`, `1d`, `1w` (or seconds as a number) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 10m, 2h, 1d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Condition(BaseModel):
    """A comparison of an aggregate: `{gte: 20}`; several bounds all hold."""

    model_config = ConfigDict(extra="forbid")

    gt: float | None = Field(default=None, description="Greater than.")
    gte: float | None = Field(default=None, description="Greater than or equal.")
    lt: float | None = Field(default=None, description="Less than.")
    lte: float | None = Field(default=None, description="Less than or equal.")
    eq: float | None = Field(default=None, description="Equal.")

    def expr(self, column: str) -> pl.Expr:
        value = pl.col(column)
        bounds = [
            value > self.gt if self.gt is not None else None,
            value >= self.gte if self.gte is not None else None,
            value < self.lt if self.lt is not None else None,
            value <= self.lte if self.lte is not None else None,
            value == self.eq if self.eq is not None else None,
        ]
        chosen = [bound for bound in bounds if bound is not None]
        if not chosen:
            raise ValueError("a condition needs at least one of gt, gte, lt, lte, eq")
        result = chosen[0]
        for bound in chosen[1:]:
            result = result & bound
        return result.fill_null(value=False)


class RuleSpec(BaseModel):
    """Fields every rule has, whatever its kind."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(description="Stable identifier, e.g. vigil.pos.card_testing.")
    title: str = Field(description="One line, shown in the alert list.")
    kind: str = Field(description="Rule kind: threshold, velocity, distinct, sequence, ...")
    use_case: str = Field(description="Retail use case served, e.g. card_testing.")
    severity: Literal["informational", "low", "medium", "high", "critical"] = Field(
        description="Severity of a finding."
    )
    confidence: int = Field(default=70, ge=0, le=100, description="Expected precision, 0-100.")
    attack: list[str] = Field(default_factory=list, description="MITRE ATT&CK technique ids.")
    pci: list[str] = Field(default_factory=list, description="PCI DSS v4.0 requirements.")
    explanation: str = Field(description="Template filled from the alert's values.")
    description: str = Field(default="", description="What it detects and why it matters.")
    tags: list[str] = Field(default_factory=list, description="Free tags.")
    enabled: bool = Field(default=True, description="Disabled rules are loaded but not run.")
    entities: dict[str, str] = Field(
        default_factory=dict,
        description="Entity kind -> column, added to those derived from the key columns.",
    )
    suppress: Duration | None = Field(
        default=None,
        description="After an alert, the same entity key raises no other for this long "
        "(default: the rule's window, or 1 h).",
    )

    def meta(self, origin: str) -> RuleMeta:
        return RuleMeta(
            uid=self.id,
            title=self.title,
            severity=Severity[self.severity.upper()],
            confidence=self.confidence,
            explanation=self.explanation,
            use_case=self.use_case,
            attack=tuple(self.attack),
            pci=tuple(self.pci),
            description=self.description,
            tags=tuple(self.tags),
            enabled=self.enabled,
            origin=origin,
        )


class EventFilter(BaseModel):
    """One event class and a `where` filter, Sigma detection syntax on column names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    event_class: str = Field(alias="class", description="Event class short name.")
    where: dict[str, Any] | None = Field(
        default=None, description="Sigma-style selection on column names; empty = every event."
    )


DEFAULT_ENTITIES: dict[str, str] = {
    "store.uid": "store",
    "device.uid": "device",
    "src_endpoint.uid": "device",
    "src_endpoint.ip": "ip",
    "cashier.uid": "cashier",
    "user.name": "user",
    "user.uid": "user",
    "actor.user.name": "user",
    "actor.user.uid": "user",
    "card": "card",
    "dst_endpoint.domain": "domain",
    "query.hostname": "domain",
}
"""Entity kind of the usual key columns."""


def class_schema(name: str) -> pl.Schema:
    """The polars schema of a class's frames in the engine (its columns plus `ctx.*`)."""
    schema = pl.Schema(polars_schema(event_class(name)))
    schema[OPEN] = pl.Boolean()
    schema[LOCAL_HOUR] = pl.Int8()
    schema[PEAK] = pl.Int8()
    schema[CLOSED_MINUTES] = pl.Float64()
    if "tenders" in schema and "line_items" in schema:
        schema.update(POS_COLUMNS)
    return schema


WhereCompiler = Callable[[Mapping[str, object], pl.Schema, str], pl.Expr]


def compile_where(where: Mapping[str, object] | None, schema: pl.Schema, origin: str) -> pl.Expr:
    """The `where` filter as one boolean expression (Sigma semantics, no field mapping)."""
    if not where:
        return pl.lit(value=True)
    from vigil.detect.sigma.compile import where_expr

    return where_expr(where, schema, origin)


class Rule(ABC):
    """A loaded rule with its state. `run` takes new rows of one class, returns alerts."""

    spec_type: ClassVar[type[RuleSpec]] = RuleSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        self.spec = spec
        self.meta = spec.meta(origin)
        self.origin = origin
        self.context: Context | None = None
        self.stream_start: datetime | None = None
        """Oldest event time of the stream the engine has offered this rule, matching or not:
        learning periods count from it, so a rule whose first match is an attack does not
        learn the attack as normal."""
        self._until = pl.DataFrame()
        """Per entity key: no new alert before this event time (suppression)."""
        self._idle: datetime | None = None
        """Watermark of the newest batch skipped as idle (see `idle`), not yet pruned to."""
        self._until_min: datetime | None = None
        """Earliest `_until` in the suppression state: pruning before it drops nothing."""
        self.filtered = False
        """Set by the engine while `run` gets only rows that pass `prefilter` (no need to
        filter again); a kind whose `run` filters by its prefilter may skip that then."""

    @property
    @abstractmethod
    def classes(self) -> tuple[str, ...]:
        """Event classes the rule reads."""

    @abstractmethod
    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        """New rows of `event_class`; `watermark` is the event time state can be pruned to."""

    def columns(self, event_class: str) -> frozenset[str] | None:
        """Columns of `event_class` the rule reads (and keeps as evidence); None = all.

        The engine hands `run` only these (those the frame has) plus `EVIDENCE_COLUMNS`.
        A kind overrides `reads` (or this); the default reads everything.
        """
        reads = self.reads(event_class)
        if reads is None:
            return None
        named = {field for field, _ in PLACEHOLDER.findall(self.meta.explanation)}
        named |= set(self.spec.entities.values())
        return frozenset({*reads, *named, *EVIDENCE_COLUMNS})

    def prefilter(self, event_class: str) -> pl.Expr | None:
        """A row-wise filter no row the rule uses fails (its `where`); None: every row counts.

        The engine evaluates the prefilters of a class's rules together (shared
        sub-expressions once), hands each rule only the rows that pass, and calls
        `idle` instead of `run` when none does. So a kind that has one must use
        nothing but the rows that pass it, and must call `catch_up` first in `run`.
        """
        del event_class
        return None

    def bind(self, context: Context) -> None:
        """Called once by the engine with its context (the estate); kept for kinds that need it."""
        self.context = context

    def begin(self, oldest: datetime) -> None:
        """The engine offers a batch whose oldest event is `oldest` (called for every batch)."""
        if self.stream_start is None or oldest < self.stream_start:
            self.stream_start = oldest

    def idle(self, watermark: datetime) -> None:
        """No row of a batch passed the prefilter: prune to `watermark` later, in `catch_up`.

        Pruning is monotone in the watermark, so pruning once to the newest
        skipped watermark leaves the state a run over no rows would have left.
        """
        if self._idle is None or watermark > self._idle:
            self._idle = watermark

    def catch_up(self) -> None:
        """Apply the pruning of the batches skipped as idle (call first in `run`)."""
        if self._idle is not None:
            watermark, self._idle = self._idle, None
            self.prune(watermark)

    def prune(self, watermark: datetime) -> None:
        """Drop state older than the watermark allows (kinds with more state extend it)."""
        self.prune_suppression(watermark)

    def reads(self, event_class: str) -> set[str] | None:
        """Columns `run` needs for `event_class` (filters, keys, fields); None = all."""
        del event_class
        return None

    @property
    def suppress(self) -> timedelta:
        return self.spec.suppress or timedelta(hours=1)

    def alerts(
        self,
        hits: pl.DataFrame,
        keys: Sequence[str],
        evidence: Callable[[pl.DataFrame], pl.DataFrame],
        event_class: str,
        suppress: bool = True,
    ) -> list[Alert]:
        """Alerts of the hits that suppression lets through, with their evidence rows.

        `evidence(fired)` returns evidence rows with a `_hit` column (the fired row's index).
        `suppress=False`: the kind has chosen the hits that alert already (every one does).
        """
        fired = self._suppressed(hits, keys) if suppress else hits
        if fired.is_empty():
            return []
        fired = fired.with_row_index("_hit")
        rows = evidence(fired)
        by_hit = rows.partition_by("_hit", as_dict=True, include_key=False) if len(rows) else {}
        found = []
        for hit in fired.iter_rows(named=True):
            shown = by_hit.get((hit["_hit"],), pl.DataFrame())
            found.append(self._alert(hit, keys, shown, event_class))
        return found

    def _suppressed(self, hits: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
        """The hits that raise alerts: per key the first one, then none for `suppress`.

        One round per alert a key raises within this batch (rarely more than one).
        """
        if hits.is_empty():
            return hits
        keys = list(keys) or ["_all"]
        pending = hits.with_columns(pl.lit(0).alias("_all")) if keys == ["_all"] else hits
        pending = pending.sort([*keys, "_last"])
        until = self._until if not self._until.is_empty() else None
        fired: list[pl.DataFrame] = []
        while not pending.is_empty():
            if until is not None:
                pending = (
                    pending.join(until, on=keys, how="left", nulls_equal=True)
                    .filter(pl.col("_until").is_null() | (pl.col("_last") >= pl.col("_until")))
                    .drop("_until")
                )
            first = pending.group_by(keys, maintain_order=True).head(1)
            if first.is_empty():
                break
            fired.append(first)
            later = first.select(*keys, (pl.col("_last") + self.suppress).alias("_until"))
            until = (
                later
                if until is None
                else pl.concat([until, later], how="vertical_relaxed")
                .group_by(keys)
                .agg(pl.col("_until").max())
            )
            pending = pending.join(
                first.select(*keys, "_last"), on=[*keys, "_last"], how="anti", nulls_equal=True
            )
        if until is not None:
            self._until = until
            earliest = until.get_column("_until").min()
            self._until_min = earliest if isinstance(earliest, datetime) else None
        result = pl.concat(fired, how="vertical_relaxed") if fired else hits.clear()
        return result.drop("_all") if "_all" in result.columns else result

    def prune_suppression(self, watermark: datetime) -> None:
        if self._until_min is None or self._until_min > watermark:
            return  # nothing to drop (a frame operation saved on most batches)
        self._until = self._until.filter(pl.col("_until") > watermark)
        earliest = self._until.get_column("_until").min() if len(self._until) else None
        self._until_min = earliest if isinstance(earliest, datetime) else None

    def _alert(
        self, hit: dict[str, Any], keys: Sequence[str], evidence: pl.DataFrame, event_class: str
    ) -> Alert:
        entities: dict[str, str] = {}
        first_row = evidence.row(0, named=True) if len(evidence) else {}
        columns = {**{key: DEFAULT_ENTITIES.get(key) for key in keys}}
        for column, kind in columns.items():
            if kind is not None and hit.get(column) is not None:
                entities.setdefault(kind, str(hit[column]))
        for kind, column in self.spec.entities.items():
            value = hit.get(column, first_row.get(column))
            if value is not None:
                entities[kind] = str(value)
        if "store" not in entities and first_row.get("store.uid") is not None:
            entities["store"] = str(first_row["store.uid"])
        values: dict[str, object] = {
            key: value for key, value in first_row.items() if _scalar(value) and value is not None
        }
        values.update({k: v for k, v in hit.items() if not k.startswith("_") and v is not None})
        values.update(entities)
        values["first_seen"] = hit["_first"]
        values["last_seen"] = hit["_last"]
        score = (
            float(hit["_score"]) if hit.get("_score") is not None else self.meta.confidence / 100
        )
        return Alert(
            rule=self.meta,
            time=hit["_last"],
            first_seen=hit["_first"],
            entities=entities,
            values=values,
            evidence=evidence.drop([c for c in CONTEXT_COLUMNS if c in evidence.columns]),
            score=min(max(score, 0.0), 1.0),
            explanation=render(self.meta.explanation, values),
            event_class=event_class,
        )


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool | datetime)


def reads_of(where: pl.Expr, *names: Sequence[str] | str | None) -> set[str] | None:
    """The columns a filter reads and the named key/value columns; None if the filter cannot tell."""
    found = expr_columns(where)
    if found is None:
        return None
    for item in names:
        if isinstance(item, str):
            found.add(item)
        elif item is not None:
            found.update(item)
    return found


def check_columns(schema: pl.Schema, columns: Sequence[str], origin: str) -> None:
    """Key and value columns must exist in the class (a typo would never match silently)."""
    missing = [column for column in columns if column not in schema]
    if missing:
        raise RuleError(f"no column {', '.join(map(repr, missing))} in this event class", origin)


kinds: Registry[Rule] = Registry("rule kind")
