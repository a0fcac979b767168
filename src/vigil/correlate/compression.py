"""Alerts-to-incidents compression: how many alerts an analyst reads as one incident.

Runs a fresh correlator over a set of alerts (a stored run's `alerts` table)
and counts alerts, incidents and alerts per incident, overall and per group
when the caller labels alerts (the simulator's scenario each alert matched, or
`false` for one that matched none). An incident holding alerts of two
different labelled groups is counted as *mixed*: the folding glued what the
ground truth says are separate things.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from vigil.correlate.config import CorrelateConfig
from vigil.correlate.fold import Correlator
from vigil.detect.types import Alert
from vigil.estate import Estate

FALSE = "false"
"""The label of alerts that matched no attack or fraud instance."""


@dataclass(frozen=True)
class CompressionRow:
    group: str
    alerts: int
    incidents: int

    @property
    def ratio(self) -> float:
        return self.alerts / self.incidents if self.incidents else 0.0


@dataclass(frozen=True)
class Compression:
    alerts: int
    incidents: int
    duplicates: int
    """Alerts folded in as repeats of a finding already in their incident."""
    merges: int
    mixed: int
    """Incidents holding alerts of more than one labelled group (false alerts aside)."""
    rows: tuple[CompressionRow, ...]

    @property
    def ratio(self) -> float:
        return self.alerts / self.incidents if self.incidents else 0.0

    def table(self, width: int = 120) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
        table = Table("group", "alerts", "incidents", "alerts / incident", title="Compression")
        for row in self.rows:
            table.add_row(row.group, str(row.alerts), str(row.incidents), f"{row.ratio:.2f}")
        table.add_section()
        table.add_row("all", str(self.alerts), str(self.incidents), f"{self.ratio:.2f}")
        console.print(table)
        console.print(
            f"{self.alerts:,} alerts -> {self.incidents:,} incidents "
            f"({self.ratio:.2f} alerts per incident); {self.duplicates:,} duplicates, "
            f"{self.merges:,} merges, {self.mixed:,} incident(s) mixing labelled groups."
        )
        return buffer.getvalue()


def compress(
    alerts: Sequence[Alert],
    config: CorrelateConfig | None = None,
    estate: Estate | None = None,
    labels: Mapping[str, str] | None = None,
    batch: int = 1000,
) -> Compression:
    """Fold `alerts` (in event-time order, `batch` at a time) and count; `labels`: alert uid -> group."""
    correlator = Correlator(config, estate)
    placed: dict[str, str] = {}
    into: dict[str, str] = {}
    duplicates = 0
    ordered = sorted(alerts, key=lambda a: (a.time, a.uid))
    for start in range(0, len(ordered), batch):
        changes = correlator.update(ordered[start : start + batch])
        placed.update(changes.alert_incident)
        into.update({merge.absorbed: merge.into for merge in changes.merges})
        duplicates += changes.duplicates
    final = {alert: _final(uid, into) for alert, uid in placed.items()}
    rows = []
    members: dict[str, set[str]] = defaultdict(set)
    if labels is not None:
        by_group: dict[str, list[str]] = defaultdict(list)
        for alert, uid in final.items():
            group = labels.get(alert, FALSE)
            by_group[group].append(uid)
            if group != FALSE:
                members[uid].add(group)
        rows = [
            CompressionRow(group, len(uids), len(set(uids)))
            for group, uids in sorted(
                by_group.items(), key=lambda item: (item[0] == FALSE, item[0])
            )
        ]
    return Compression(
        alerts=len(final),
        incidents=len(set(final.values())),
        duplicates=duplicates,
        merges=len(into),
        mixed=sum(len(groups) > 1 for groups in members.values()),
        rows=tuple(rows),
    )


def _final(uid: str, into: Mapping[str, str]) -> str:
    while uid in into:
        uid = into[uid]
    return uid
