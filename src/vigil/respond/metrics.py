"""Response metrics: time to detect, acknowledge and contain, and dwell time.

Per incident, from the times correlation and response keep on it:

    time to detect       first malicious event -> first alert (`opened_at`)
    time to acknowledge  first alert -> a person first took it up
    time to contain      first alert -> the first containing action succeeded
    dwell time           first malicious event -> containment (or the newest
                         evidence while the incident is not contained)

Aggregated over incidents (all of them, and per use case) as count, mean,
median, 90th percentile (linear interpolation between ranks) and maximum; an
incident not yet acknowledged or contained is left out of that figure's count,
not counted as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vigil.correlate.types import CLOSED_STATUSES, Incident, IncidentStatus


class Metric(StrEnum):
    TIME_TO_DETECT = "time_to_detect"
    TIME_TO_ACKNOWLEDGE = "time_to_acknowledge"
    TIME_TO_CONTAIN = "time_to_contain"
    DWELL_TIME = "dwell_time"


@dataclass(frozen=True)
class IncidentMetrics:
    uid: str
    title: str
    use_case: str
    stores: tuple[str, ...]
    status: IncidentStatus
    time_to_detect: timedelta
    time_to_acknowledge: timedelta | None
    time_to_contain: timedelta | None
    dwell_time: timedelta
    ongoing: bool
    """Not contained and not closed: its dwell time is still growing."""

    def value(self, metric: Metric) -> timedelta | None:
        return {
            Metric.TIME_TO_DETECT: self.time_to_detect,
            Metric.TIME_TO_ACKNOWLEDGE: self.time_to_acknowledge,
            Metric.TIME_TO_CONTAIN: self.time_to_contain,
            Metric.DWELL_TIME: self.dwell_time,
        }[metric]


def _after_opening(incident: Incident, moment: datetime | None) -> timedelta | None:
    return None if moment is None else max(moment - incident.opened_at, timedelta(0))


def incident_metrics(incident: Incident) -> IncidentMetrics:
    leading = sorted(incident.alerts, key=lambda a: (-a.severity, a.time, a.uid))
    return IncidentMetrics(
        uid=incident.uid,
        title=incident.title,
        use_case=leading[0].use_case if leading else "",
        stores=incident.stores,
        status=incident.status,
        time_to_detect=incident.time_to_detect,
        time_to_acknowledge=_after_opening(incident, incident.acknowledged_at),
        time_to_contain=_after_opening(incident, incident.contained_at),
        dwell_time=incident.dwell_time,
        ongoing=incident.contained_at is None and incident.status not in CLOSED_STATUSES,
    )


@dataclass(frozen=True)
class Summary:
    metric: Metric
    count: int
    mean: timedelta | None = None
    median: timedelta | None = None
    p90: timedelta | None = None
    max: timedelta | None = None


@dataclass(frozen=True)
class GroupSummary:
    group: str
    incidents: int
    summaries: tuple[Summary, ...]

    def summary(self, metric: Metric) -> Summary:
        return next(s for s in self.summaries if s.metric is metric)


@dataclass(frozen=True)
class MetricsReport:
    incidents: tuple[IncidentMetrics, ...]
    overall: GroupSummary
    by_use_case: tuple[GroupSummary, ...]


def percentile(seconds: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) of sorted values."""
    if not seconds:
        raise ValueError("percentile of nothing")
    ordered = sorted(seconds)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(metric: Metric, values: Iterable[timedelta | None]) -> Summary:
    seconds = [value.total_seconds() for value in values if value is not None]
    if not seconds:
        return Summary(metric, 0)
    return Summary(
        metric,
        len(seconds),
        mean=timedelta(seconds=sum(seconds) / len(seconds)),
        median=timedelta(seconds=percentile(seconds, 0.5)),
        p90=timedelta(seconds=percentile(seconds, 0.9)),
        max=timedelta(seconds=max(seconds)),
    )


def _group(name: str, metrics: Sequence[IncidentMetrics]) -> GroupSummary:
    return GroupSummary(
        name,
        len(metrics),
        tuple(summarise(metric, (m.value(metric) for m in metrics)) for metric in Metric),
    )


def report(incidents: Iterable[Incident]) -> MetricsReport:
    """Per incident and aggregated; merged incidents (folded into others) are left out."""
    metrics = tuple(
        incident_metrics(incident)
        for incident in incidents
        if incident.status is not IncidentStatus.MERGED
    )
    by_use_case: dict[str, list[IncidentMetrics]] = defaultdict(list)
    for item in metrics:
        by_use_case[item.use_case or "unknown"].append(item)
    return MetricsReport(
        metrics,
        _group("all", metrics),
        tuple(_group(name, items) for name, items in sorted(by_use_case.items())),
    )


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def as_record(result: MetricsReport) -> dict[str, object]:
    """JSON-ready: every figure in seconds (null where there is none yet)."""
    return {
        "incidents": [
            {
                "uid": m.uid,
                "use_case": m.use_case,
                "status": m.status.value,
                **{f"{metric.value}_s": _seconds(m.value(metric)) for metric in Metric},
                "ongoing": m.ongoing,
            }
            for m in result.incidents
        ],
        "groups": [
            {
                "group": group.group,
                "incidents": group.incidents,
                **{
                    s.metric.value: {
                        "count": s.count,
                        "mean_s": _seconds(s.mean),
                        "median_s": _seconds(s.median),
                        "p90_s": _seconds(s.p90),
                        "max_s": _seconds(s.max),
                    }
                    for s in group.summaries
                },
            }
            for group in (result.overall, *result.by_use_case)
        ],
    }
