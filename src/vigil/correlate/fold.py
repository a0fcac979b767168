"""The Correlator: alerts in, incidents out, streaming and incremental.

An alert joins every incident it shares a *link key* with inside that key's
gap (a till in one store for two hours, a vendor account anywhere for a day);
when it reaches several, they merge into the earliest one (a campaign across
stores). The same rule on the same entities again within the duplicate window
only counts. A resolved or closed incident reached within the reopen window
reopens, with a note saying why; past it, the alert opens a new incident.

Deterministic: alerts are taken in (event time, uid) order, an incident's uid
comes from the alert that opened it, and merges keep the earliest incident, so
replaying the same alerts gives the same incidents, whether in one batch or
split into others (of a stream in event-time order).

>>> correlator = Correlator(CorrelateConfig(), estate)   # doctest: +SKIP
>>> changes = correlator.update(alerts)                   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from vigil.correlate.config import CorrelateConfig
from vigil.correlate.errors import IncidentStateError, UnknownIncidentError
from vigil.correlate.keys import Key, Keys
from vigil.correlate.risk import RiskModel
from vigil.correlate.state import EntityKey, IncidentState, incident_alert, incident_uid
from vigil.correlate.types import (
    Change,
    ChangeKind,
    Changes,
    EntityRole,
    Incident,
    IncidentAlert,
    IncidentNote,
    IncidentStatus,
    Merge,
    NoteKind,
)
from vigil.detect.types import Alert
from vigil.estate import Estate

logger = logging.getLogger(__name__)


class Correlator:
    """Folds alerts into incidents; holds the incidents of the recent past in memory."""

    def __init__(
        self,
        config: CorrelateConfig | None = None,
        estate: Estate | None = None,
        risk: RiskModel | None = None,
    ) -> None:
        self.config = config or CorrelateConfig()
        self.risk = risk or RiskModel(estate)
        self.keys = Keys(self.config, estate)
        self._incidents: dict[str, IncidentState] = {}
        self._index: dict[EntityKey, set[str]] = {}
        self._signatures: dict[str, str] = {}
        self._seen: dict[str, str] = {}
        self._merged: dict[str, str] = {}
        self.watermark: datetime | None = None

    # -- public ---------------------------------------------------------------------------

    def update(self, alerts: Sequence[Alert]) -> Changes:
        """Fold a batch of alerts; return the incidents it touched and what happened to them."""
        touched: dict[str, None] = {}
        log: list[Change] = []
        merges: list[Merge] = []
        placed: dict[str, str] = {}
        repeated = 0
        for alert in sorted(alerts, key=lambda a: (a.time, a.uid)):
            known = self._seen.get(alert.uid)
            if known is not None:
                repeated += 1
                placed[alert.uid] = self._resolve(known)
                continue
            uid = self._fold(incident_alert(alert), log, merges)
            placed[alert.uid] = uid
            touched[uid] = None
            if self.watermark is None or alert.time > self.watermark:
                self.watermark = alert.time
        live = [self._resolve(uid) for uid in touched]
        snapshots = tuple(self._incidents[uid].snapshot(self.risk) for uid in dict.fromkeys(live))
        self._expire()
        return Changes(
            incidents=snapshots,
            merges=tuple(merges),
            log=tuple(log),
            repeated=repeated,
            alert_incident={alert: self._resolve(uid) for alert, uid in placed.items()},
        )

    def incidents(self) -> list[Incident]:
        """Every incident in memory, oldest first."""
        states = sorted(self._incidents.values(), key=lambda s: (s.opened_at, s.uid))
        return [state.snapshot(self.risk) for state in states]

    def get(self, uid: str) -> Incident:
        state = self._incidents.get(self._resolve(uid))
        if state is None:
            raise UnknownIncidentError(f"no incident {uid!r} in the correlator's memory")
        return state.snapshot(self.risk)

    def set_status(self, uid: str, status: IncidentStatus, at: datetime, by: str = "") -> Incident:
        """Record a status the response stage or an analyst set (closing starts the reopen window)."""
        state = self._incidents.get(self._resolve(uid))
        if state is None:
            raise UnknownIncidentError(f"no incident {uid!r} in the correlator's memory")
        if status is IncidentStatus.MERGED:
            raise IncidentStateError("incidents are merged by the correlator, not by a status")
        state.status = status
        if status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            state.closed_at = at
        elif status is IncidentStatus.ACKNOWLEDGED:
            state.acknowledged_at = state.acknowledged_at or at
        elif status is IncidentStatus.CONTAINED:
            state.contained_at = state.contained_at or at
        who = f" by {by}" if by else ""
        state.notes.append(IncidentNote(at, NoteKind.STATUS, f"Status set to {status}{who}."))
        return state.snapshot(self.risk)

    def restore(
        self, incidents: Iterable[Incident], alerts: Mapping[str, str] | None = None
    ) -> None:
        """Take up incidents stored earlier (and alert uid -> incident of their duplicates)."""
        for incident in incidents:
            if incident.status is IncidentStatus.MERGED:
                continue
            state = IncidentState.restore(incident, self.config.duplicate_window)
            self._incidents[state.uid] = state
            for key, entity in state.entities.items():
                if entity.role is EntityRole.LINK:
                    self._index.setdefault(key, set()).add(state.uid)
            for alert in incident.alerts:
                self._signatures[alert.signature] = state.uid
                self._seen[alert.uid] = state.uid
            if self.watermark is None or incident.last_seen > self.watermark:
                self.watermark = incident.last_seen
        for alert_uid, uid in (alerts or {}).items():
            if uid in self._incidents:
                self._seen[alert_uid] = uid
                self._incidents[uid].alert_uids.add(alert_uid)

    # -- folding --------------------------------------------------------------------------

    def _fold(self, alert: IncidentAlert, log: list[Change], merges: list[Merge]) -> str:
        keys = self.keys.of(alert)
        reached: dict[str, str] = {}
        for item in keys:
            if item.role is EntityRole.LINK and item.spec is not None:
                for uid in sorted(self._index.get(item.key, ())):
                    if uid not in reached and self._reaches(uid, item, alert):
                        reached[uid] = f"shares {item.key.kind} {item.key.value}"
        twin = self._twin(alert)
        if twin is not None and twin not in reached:
            reached[twin] = f"repeats {alert.rule_uid} on the same entities"
        if not reached:
            state = self._open(alert)
            log.append(Change(ChangeKind.OPENED, state.uid, alert.uid, alert.title))
        else:
            state = self._join(reached, alert, log, merges)
        duplicate = state.add(alert)
        if duplicate:
            log.append(Change(ChangeKind.DUPLICATE, state.uid, alert.uid, alert.rule_uid))
        elif reached:
            log.append(Change(ChangeKind.GREW, state.uid, alert.uid, alert.title))
        for item in keys:
            state.touch(item.key, item.role, alert.first_seen, alert.latest)
            if item.role is EntityRole.LINK:
                self._index.setdefault(item.key, set()).add(state.uid)
        self._signatures[alert.signature] = state.uid
        self._seen[alert.uid] = state.uid
        return state.uid

    def _open(self, alert: IncidentAlert) -> IncidentState:
        uid = incident_uid(alert.uid)
        state = IncidentState(
            uid, IncidentStatus.NEW, alert.time, alert.time, self.config.duplicate_window
        )
        state.notes.append(IncidentNote(alert.time, NoteKind.OPENED, f"Opened by {alert.title}."))
        self._incidents[uid] = state
        return state

    def _join(
        self, reached: dict[str, str], alert: IncidentAlert, log: list[Change], merges: list[Merge]
    ) -> IncidentState:
        """The earliest reached incident takes the others in; a closed one reopens."""
        order = sorted(reached, key=lambda uid: (self._first(uid), uid))
        state = self._incidents[order[0]]
        for uid in order[1:]:
            other = self._incidents.pop(uid)
            reason = f"alert {alert.title!r} {reached[uid]}"
            state.absorb(other)
            self._repoint(other, state.uid)
            note = f"Merged {uid} ({len(other.alerts)} finding(s)): {reason}."
            state.notes.append(IncidentNote(alert.time, NoteKind.MERGED, note))
            merges.append(Merge(uid, state.uid, reason))
            log.append(Change(ChangeKind.MERGED, state.uid, alert.uid, uid))
        if state.is_closed:
            closed = state.closed_at
            after = f" {_span(alert.time - closed)} after it was {state.status}" if closed else ""
            why = f"Reopened: new alert {alert.title!r} ({reached[order[0]]}){after}."
            state.status = IncidentStatus.REOPENED
            state.notes.append(IncidentNote(alert.time, NoteKind.REOPENED, why))
            log.append(Change(ChangeKind.REOPENED, state.uid, alert.uid, why))
        return state

    def _repoint(self, absorbed: IncidentState, into: str) -> None:
        self._merged[absorbed.uid] = into
        for key in absorbed.entities:
            uids = self._index.get(key)
            if uids is not None and absorbed.uid in uids:
                uids.discard(absorbed.uid)
                uids.add(into)
        for alert in absorbed.alerts.values():
            if self._signatures.get(alert.signature) == absorbed.uid:
                self._signatures[alert.signature] = into
        for alert_uid in absorbed.alert_uids:
            self._seen[alert_uid] = into

    def _reaches(self, uid: str, item: Key, alert: IncidentAlert) -> bool:
        """Whether the alert falls within the key's gap of the incident (or its reopen window)."""
        state = self._incidents[uid]
        entity = state.entities.get(item.key)
        if entity is None or item.spec is None:
            return False
        gap = item.spec.gap
        if alert.latest < entity.first_seen - gap:
            return False
        if state.is_closed and state.closed_at is not None:
            return alert.first_seen <= state.closed_at + self.config.reopen_window
        return alert.first_seen <= entity.last_seen + gap

    def _twin(self, alert: IncidentAlert) -> str | None:
        """The incident holding the same rule on the same entities, within the duplicate window."""
        uid = self._signatures.get(alert.signature)
        if uid is None:
            return None
        state = self._incidents.get(self._resolve(uid))
        if state is None:
            return None
        window = self.config.duplicate_window
        known = state.alerts.get(state.latest.get(alert.signature, ""))
        if known is not None and state.is_closed and state.closed_at is not None:
            window = max(window, state.closed_at + self.config.reopen_window - known.latest)
        return state.uid if state.repeated(alert, window) is not None else None

    # -- housekeeping ---------------------------------------------------------------------

    def _resolve(self, uid: str) -> str:
        seen = []
        while uid in self._merged:
            seen.append(uid)
            uid = self._merged[uid]
        for old in seen:  # path compression: merge chains stay one step long
            self._merged[old] = uid
        return uid

    def _first(self, uid: str) -> datetime:
        state = self._incidents[uid]
        return state.first_seen or state.opened_at

    def _expire(self) -> None:
        """Forget incidents no alert can reach any more (they stay in the database)."""
        if self.watermark is None:
            return
        horizon = self.watermark - self.config.keep_for
        reopen = self.config.reopen_window
        stale = [
            uid
            for uid, state in self._incidents.items()
            if (state.last_seen or state.opened_at) < horizon
            and (state.closed_at is None or state.closed_at + reopen < self.watermark)
        ]
        for uid in stale:
            state = self._incidents.pop(uid)
            for key in state.entities:
                uids = self._index.get(key)
                if uids is not None:
                    uids.discard(uid)
                    if not uids:
                        del self._index[key]
            for alert in state.alerts.values():
                if self._signatures.get(alert.signature) == uid:
                    del self._signatures[alert.signature]
            for alert_uid in state.alert_uids:
                if self._seen.get(alert_uid) == uid:
                    del self._seen[alert_uid]
        if stale:
            gone = set(stale)
            self._merged = {a: b for a, b in self._merged.items() if b not in gone}
            logger.debug("correlator forgot %d incident(s) older than %s", len(stale), horizon)


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    text = (
        f"{seconds // 3600} h {seconds % 3600 // 60} min"
        if seconds >= 3600
        else f"{seconds // 60} min"
    )
    return text if delta >= timedelta(0) else f"{text} before"
