"""Score alerts against the simulator's ground truth: recall, time to detect, false alerts.

An alert *matches* a truth instance when all of these hold:

- its store is one of the instance's stores, or the instance names no store
  (estate-wide scenarios: the web shop), or the alert names none (an event of
  the identity provider has no store) and shares an entity with the instance;
- its event time is within [start - 5 min, end + 30 min] of the instance;
- it shares an entity value with the instance (device, IP, user, cashier, card,
  ...; compared case-insensitively; the store is left out, the first rule
  already checks it), or its rule's `use_case` is the instance's scenario.

Attack and fraud instances are what detection should find: an instance is
detected when at least one alert matches it, and its time to detect is the
first matching alert's time less the instance's first malicious event (its
`onset`, else its start; floored at zero). An
alert that matches no attack or fraud instance is a false alert; the ones that
fall on a benign look-alike (a flash sale, a late stocktake) are counted apart,
per look-alike scenario.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.detect.types import Alert
from vigil.sim import TruthRecord

EARLY = timedelta(minutes=5)
"""An alert this long before an instance's start still counts for it (clock skew, set-up)."""
LATE = timedelta(minutes=30)
"""An alert this long after an instance's end still counts for it (windows, lateness)."""
DETECTABLE = ("attack", "fraud")
"""Labels of the instances detection should find; `benign` instances are look-alikes."""


@dataclass(frozen=True)
class ScenarioScore:
    """How well one attack or fraud scenario was detected."""

    scenario: str
    label: str
    instances: int
    detected: int
    median_ttd_s: float | None
    max_ttd_s: float | None
    rules: tuple[str, ...]
    """Rules with at least one alert matching an instance of the scenario."""
    ttd_s: tuple[float, ...] = ()
    """Time to detect of each detected instance, shortest first."""

    @property
    def recall(self) -> float:
        return self.detected / self.instances if self.instances else 0.0


@dataclass(frozen=True)
class RuleNoise:
    """One rule's alerts, and how many of them matched no attack or fraud."""

    rule: str
    alerts: int
    false_alerts: int
    per_store_day: float
    """False alerts per store per day."""


@dataclass(frozen=True)
class LookalikeScore:
    """False alerts that fell on the instances of one benign look-alike scenario."""

    scenario: str
    instances: int
    alerted: int
    """Instances with at least one false alert on them."""
    false_alerts: int


@dataclass(frozen=True)
class Scorecard:
    """The whole score of a set of alerts against a ground truth."""

    scenarios: tuple[ScenarioScore, ...]
    rules: tuple[RuleNoise, ...]
    lookalikes: tuple[LookalikeScore, ...]
    alerts: int
    false_alerts: int
    store_days: float

    @property
    def false_per_store_day(self) -> float:
        return self.false_alerts / self.store_days if self.store_days else 0.0

    @property
    def median_ttd_s(self) -> float | None:
        """Median time to detect over every detected instance of every scenario."""
        times = [t for row in self.scenarios for t in row.ttd_s]
        return statistics.median(times) if times else None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["false_per_store_day"] = self.false_per_store_day
        data["median_ttd_s"] = self.median_ttd_s
        data["scenarios"] = [{**asdict(score), "recall": score.recall} for score in self.scenarios]
        return data


def read_truth(path: Path) -> list[TruthRecord]:
    """The ground truth a simulation wrote (`truth.jsonl`)."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(truth_from_dict(json.loads(line)))
    return records


def truth_from_dict(data: Mapping[str, object]) -> TruthRecord:
    """The inverse of `TruthRecord.as_dict`."""
    entities = data.get("entities") or {}
    if not isinstance(entities, Mapping):
        raise ValueError(f"truth record {data.get('uid')!r}: entities is not a mapping")
    label = str(data["label"])
    if label not in ("attack", "fraud", "benign"):
        raise ValueError(f"truth record {data.get('uid')!r}: unknown label {label!r}")
    return TruthRecord(
        scenario=str(data["scenario"]),
        uid=str(data["uid"]),
        label=label,  # type: ignore[arg-type]  # checked just above
        start=_epoch(data["start"]),
        end=_epoch(data["end"]),
        stores=tuple(str(store) for store in _list(data.get("stores"))),
        entities={str(kind): [str(v) for v in _list(values)] for kind, values in entities.items()},
        sources=tuple(str(source) for source in _list(data.get("sources"))),
        description=str(data.get("description", "")),
        onset=_epoch(data["onset"]) if data.get("onset") is not None else None,
    )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _epoch(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def normalise(value: str) -> str:
    """Entity values compare case-insensitively, surrounding blanks ignored."""
    return value.strip().casefold()


def alert_values(alert: Alert) -> frozenset[str]:
    """The alert's entity values, the store left out."""
    return frozenset(
        normalise(value) for kind, value in alert.entities.items() if kind != "store" and value
    )


def truth_values(record: TruthRecord) -> frozenset[str]:
    """Every value of the instance's entity lists, the store left out."""
    return frozenset(
        normalise(value)
        for kind, values in record.entities.items()
        if kind != "store"
        for value in values
        if value
    )


def matches(alert: Alert, record: TruthRecord) -> bool:
    """Whether `alert` is about `record` (see the module's docstring)."""
    return _matches(alert, alert_values(alert), record, truth_values(record))


def match_alerts(alerts: Sequence[Alert], truth: Sequence[TruthRecord]) -> list[tuple[str, ...]]:
    """For each alert, the uids of the truth instances it matches (any label)."""
    values = {record.uid: truth_values(record) for record in truth}
    found = []
    for alert in alerts:
        mine = alert_values(alert)
        found.append(
            tuple(
                record.uid for record in truth if _matches(alert, mine, record, values[record.uid])
            )
        )
    return found


def _matches(
    alert: Alert, mine: frozenset[str], record: TruthRecord, theirs: frozenset[str]
) -> bool:
    """`matches` with both sides' values computed once."""
    if record.stores and alert.store is not None and alert.store not in record.stores:
        return False
    if record.stores and alert.store is None and not mine & theirs:
        return False
    moment = alert.time.timestamp()
    if not record.start - EARLY.total_seconds() <= moment <= record.end + LATE.total_seconds():
        return False
    return alert.rule.use_case == record.scenario or bool(mine & theirs)


def is_false(matched: Iterable[str], labels: Mapping[str, str]) -> bool:
    """An alert is false when none of the instances it matches is an attack or fraud."""
    return not any(labels[uid] in DETECTABLE for uid in matched)


def time_to_detect(
    alerts: Sequence[Alert], matched: Sequence[tuple[str, ...]], truth: Sequence[TruthRecord]
) -> dict[str, float]:
    """Seconds from each detected instance's first malicious event to its first matching alert
    (>= 0)."""
    first: dict[str, float] = {}
    for alert, uids in zip(alerts, matched, strict=True):
        moment = alert.time.timestamp()
        for uid in uids:
            if uid not in first or moment < first[uid]:
                first[uid] = moment
    starts = {record.uid: record.first_malicious for record in truth}
    return {uid: max(0.0, moment - starts[uid]) for uid, moment in first.items()}


def scenario_scores(
    alerts: Sequence[Alert], matched: Sequence[tuple[str, ...]], truth: Sequence[TruthRecord]
) -> tuple[ScenarioScore, ...]:
    """One row per attack or fraud scenario in the truth, by label then name."""
    ttd = time_to_detect(alerts, matched, truth)
    scenario_of = {record.uid: record.scenario for record in truth}
    rules: dict[str, set[str]] = defaultdict(set)
    for alert, uids in zip(alerts, matched, strict=True):
        for uid in uids:
            rules[scenario_of[uid]].add(alert.rule.uid)
    by_scenario: dict[tuple[str, str], list[TruthRecord]] = defaultdict(list)
    for record in truth:
        if record.label in DETECTABLE:
            by_scenario[(record.label, record.scenario)].append(record)
    scores = []
    for (label, scenario), records in sorted(by_scenario.items()):
        times = [ttd[record.uid] for record in records if record.uid in ttd]
        scores.append(
            ScenarioScore(
                scenario=scenario,
                label=label,
                instances=len(records),
                detected=len(times),
                median_ttd_s=statistics.median(times) if times else None,
                max_ttd_s=max(times) if times else None,
                rules=tuple(sorted(rules[scenario])),
                ttd_s=tuple(sorted(times)),
            )
        )
    return tuple(scores)


def rule_noise(
    alerts: Sequence[Alert], false: Sequence[bool], store_days: float
) -> tuple[RuleNoise, ...]:
    """Per rule: alerts, false alerts and false alerts per store-day; noisiest first."""
    totals: dict[str, int] = defaultdict(int)
    wrong: dict[str, int] = defaultdict(int)
    for alert, bad in zip(alerts, false, strict=True):
        totals[alert.rule.uid] += 1
        wrong[alert.rule.uid] += bad
    rows = [
        RuleNoise(rule, totals[rule], wrong[rule], wrong[rule] / store_days if store_days else 0.0)
        for rule in totals
    ]
    return tuple(sorted(rows, key=lambda row: (-row.false_alerts, row.rule)))


def lookalike_scores(
    matched: Sequence[tuple[str, ...]], false: Sequence[bool], truth: Sequence[TruthRecord]
) -> tuple[LookalikeScore, ...]:
    """Per benign look-alike scenario: its instances, and the false alerts that fell on them."""
    benign = {record.uid: record.scenario for record in truth if record.label == "benign"}
    instances: dict[str, int] = defaultdict(int)
    for scenario in benign.values():
        instances[scenario] += 1
    hits: dict[str, int] = defaultdict(int)
    alerted: dict[str, set[str]] = defaultdict(set)
    for uids, bad in zip(matched, false, strict=True):
        if not bad:
            continue
        for scenario in sorted({benign[uid] for uid in uids if uid in benign}):
            hits[scenario] += 1
        for uid in uids:
            if uid in benign:
                alerted[benign[uid]].add(uid)
    return tuple(
        LookalikeScore(scenario, instances[scenario], len(alerted[scenario]), hits[scenario])
        for scenario in sorted(instances)
    )


def score_alerts(
    alerts: Sequence[Alert], truth: Sequence[TruthRecord], store_days: float
) -> Scorecard:
    """Score `alerts` (of the evaluated span only) against its ground truth.

    `store_days` (stores x simulated days) scales the false alerts to a rate.
    """
    matched = match_alerts(alerts, truth)
    labels = {record.uid: record.label for record in truth}
    false = [is_false(uids, labels) for uids in matched]
    return Scorecard(
        scenarios=scenario_scores(alerts, matched, truth),
        rules=rule_noise(alerts, false, store_days),
        lookalikes=lookalike_scores(matched, false, truth),
        alerts=len(alerts),
        false_alerts=sum(false),
        store_days=store_days,
    )
