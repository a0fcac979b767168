"""Response metrics: per incident, and aggregated overall and per use case, computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from vigil.correlate.types import Incident, IncidentAlert, IncidentStatus
from vigil.respond.metrics import Metric, incident_metrics, percentile, report, summarise

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def _incident(
    uid: str,
    use_case: str,
    first_seen: float,
    opened: float,
    last_seen: float,
    acknowledged: float | None = None,
    contained: float | None = None,
    status: IncidentStatus = IncidentStatus.NEW,
) -> Incident:
    alert = IncidentAlert(
        uid=f"{uid}-a",
        rule_uid=f"vigil.{use_case}",
        title=use_case,
        use_case=use_case,
        severity=4,
        score=0.9,
        time=_at(opened),
        first_seen=_at(first_seen),
        entities={"store": "031"},
    )
    return Incident(
        uid=uid,
        title=use_case,
        status=status,
        opened_at=_at(opened),
        updated_at=_at(last_seen),
        first_seen=_at(first_seen),
        last_seen=_at(last_seen),
        alerts=(alert,),
        entities=(),
        stores=("031",),
        tactics=(),
        acknowledged_at=None if acknowledged is None else _at(acknowledged),
        contained_at=None if contained is None else _at(contained),
    )


INCIDENTS = [
    # uid, use case, first seen, opened, last seen, acknowledged, contained (minutes after START)
    _incident("a", "pos_malware", 0, 4, 30, 6, 10, IncidentStatus.CONTAINED),
    _incident("b", "pos_malware", 10, 12, 40, 20, 32, IncidentStatus.CONTAINED),
    _incident("c", "card_testing", 0, 1, 50, 31, None, IncidentStatus.ACKNOWLEDGED),
    _incident("d", "card_testing", 5, 15, 25),
]


def test_per_incident_figures() -> None:
    a, _, c, d = (incident_metrics(i) for i in INCIDENTS)
    assert (
        a.time_to_detect,
        a.time_to_acknowledge,
        a.time_to_contain,
        a.dwell_time,
        a.ongoing,
    ) == (
        timedelta(minutes=4),
        timedelta(minutes=2),
        timedelta(minutes=6),
        timedelta(minutes=10),
        False,
    )
    assert (c.time_to_acknowledge, c.time_to_contain, c.dwell_time, c.ongoing) == (
        timedelta(minutes=30),
        None,
        timedelta(minutes=50),
        True,
    )
    assert (d.time_to_detect, d.time_to_acknowledge, d.dwell_time) == (
        timedelta(minutes=10),
        None,
        timedelta(minutes=20),
    )
    assert a.use_case == "pos_malware"


def test_aggregates_overall_and_per_use_case() -> None:
    result = report(INCIDENTS)
    overall = result.overall
    assert overall.incidents == 4
    detect = overall.summary(Metric.TIME_TO_DETECT)  # 4, 2, 1, 10 minutes
    assert (detect.count, detect.mean, detect.median, detect.max) == (
        4,
        timedelta(minutes=4.25),
        timedelta(minutes=3),
        timedelta(minutes=10),
    )
    assert detect.p90 == timedelta(minutes=8.2)  # 4 + (10 - 4) * 0.7
    acknowledge = overall.summary(Metric.TIME_TO_ACKNOWLEDGE)  # 2, 8, 30; d not yet
    assert (acknowledge.count, acknowledge.median, acknowledge.mean) == (
        3,
        timedelta(minutes=8),
        timedelta(minutes=40 / 3),
    )
    contain = overall.summary(Metric.TIME_TO_CONTAIN)  # 6, 20
    assert (contain.count, contain.median, contain.p90) == (
        2,
        timedelta(minutes=13),
        timedelta(minutes=18.6),
    )
    assert [group.group for group in result.by_use_case] == ["card_testing", "pos_malware"]
    cards = result.by_use_case[0]
    assert cards.summary(Metric.TIME_TO_CONTAIN).count == 0
    assert cards.summary(Metric.TIME_TO_CONTAIN).median is None
    assert cards.summary(Metric.DWELL_TIME).mean == timedelta(minutes=35)  # 50 and 20


def test_merged_incidents_are_left_out_and_times_never_go_negative() -> None:
    merged = replace(INCIDENTS[0], uid="m", status=IncidentStatus.MERGED)
    early = replace(INCIDENTS[1], acknowledged_at=_at(11))  # before the alert (clock skew)
    result = report([merged, early])
    assert [m.uid for m in result.incidents] == ["b"]
    assert result.incidents[0].time_to_acknowledge == timedelta(0)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.9, 5.0),
        ([1.0, 2.0], 0.5, 1.5),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9, 9.1),
        ([10.0, 20.0, 30.0, 40.0], 0.0, 10.0),
        ([10.0, 20.0, 30.0, 40.0], 1.0, 40.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile(values, fraction) == pytest.approx(expected)


def test_nothing_to_summarise() -> None:
    assert summarise(Metric.DWELL_TIME, [None, None]).count == 0
    with pytest.raises(ValueError, match="percentile of nothing"):
        percentile([], 0.5)
    assert report([]).overall.summary(Metric.TIME_TO_DETECT).count == 0
