"""Risk of an incident, 0-100, as a sum of parts that each say why.

Parts (value 0-1 times its weight; the weights add up to 100):

- severity: the most severe alert;
- confidence: the alerts' scores combined as independent witnesses (noisy-OR
  over distinct rules: two rules agreeing is surer than either);
- asset criticality and segment: the estate's record of the devices and
  addresses involved (cardholder data environment first);
- business context: the store closed (nobody should be there) or a trading
  peak (an outage costs most) when any of the alerts' activity began;
- ATT&CK progression: distinct tactics reached, in kill-chain order;
- spread: how many stores.

>>> RiskModel(estate).score(incident).explanation  # doctest: +SKIP
'Critical: POS terminal in the POS segment, store closed, 2 tactics from command and control to exfiltration'
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from vigil.correlate.attack import describe
from vigil.correlate.types import Incident, Risk, RiskLevel, RiskPart
from vigil.detect.types import Severity
from vigil.estate import Asset, Criticality, Estate, SegmentKind, Store

WEIGHTS = {
    "severity": 25.0,
    "confidence": 15.0,
    "asset": 15.0,
    "segment": 15.0,
    "context": 15.0,
    "attack": 10.0,
    "spread": 5.0,
}
LEVELS = ((75.0, RiskLevel.CRITICAL), (55.0, RiskLevel.HIGH), (35.0, RiskLevel.MEDIUM))
CRITICALITY = {
    Criticality.LOW: 0.25,
    Criticality.MEDIUM: 0.5,
    Criticality.HIGH: 0.75,
    Criticality.CRITICAL: 1.0,
}
SEGMENT = {
    SegmentKind.CARDHOLDER_DATA: 1.0,
    SegmentKind.POS: 0.9,
    SegmentKind.MANAGEMENT: 0.8,
    SegmentKind.CORPORATE: 0.6,
    SegmentKind.VENDOR: 0.6,
    SegmentKind.IOT: 0.5,
    SegmentKind.STAFF_WIFI: 0.4,
    SegmentKind.GUEST_WIFI: 0.2,
}
SEGMENT_LABEL = {
    SegmentKind.CARDHOLDER_DATA: "the cardholder data environment",
    SegmentKind.POS: "the POS segment",
    SegmentKind.MANAGEMENT: "the management network",
    SegmentKind.CORPORATE: "the corporate network",
    SegmentKind.VENDOR: "the vendor segment",
    SegmentKind.IOT: "the IoT network",
    SegmentKind.STAFF_WIFI: "staff Wi-Fi",
    SegmentKind.GUEST_WIFI: "guest Wi-Fi",
}
KIND_LABEL = {"pos_terminal": "POS terminal", "nvr": "NVR", "iot_gateway": "IoT gateway"}
UNKNOWN = 0.5
"""Value of a part the estate cannot inform (no asset, no segment, no store): medium."""


@dataclass(frozen=True)
class _Place:
    """An asset or address of the incident located in the estate."""

    store: Store
    asset: Asset | None
    segment: SegmentKind | None


class RiskModel:
    """Scores incidents with the estate's context; without an estate, context parts count as medium."""

    def __init__(self, estate: Estate | None = None) -> None:
        self.estate = estate
        self._stores = {store.uid: store for store in estate.stores} if estate else {}
        self._assets: dict[str, tuple[Store, Asset]] = {}
        self._by_ip: dict[tuple[str, str], Asset] = {}
        for store in self._stores.values():
            for asset in store.assets:
                self._assets[asset.uid] = (store, asset)
                if asset.ip:
                    self._by_ip[(store.uid, asset.ip)] = asset

    def score(self, incident: Incident) -> Risk:
        places = self._places(incident)
        top = max(incident.alerts, key=lambda a: (a.severity, -a.time.timestamp()), default=None)
        parts = (
            self._severity(incident, top.title if top else ""),
            self._confidence(incident),
            self._asset(places),
            self._segment(places),
            self._context(incident),
            self._attack(incident),
            self._spread(incident),
        )
        total = round(min(100.0, sum(part.points for part in parts)), 1)
        level = next((name for floor, name in LEVELS if total >= floor), RiskLevel.LOW)
        return Risk(total, level, parts, _explain(level, incident, places, parts))

    # -- parts ----------------------------------------------------------------------------

    def _severity(self, incident: Incident, title: str) -> RiskPart:
        level = max(incident.severity, 1)
        name = Severity(level).name.lower()
        return RiskPart("severity", (level - 1) / 4, WEIGHTS["severity"], f"{name}: {title}")

    def _confidence(self, incident: Incident) -> RiskPart:
        best: dict[str, float] = {}
        for alert in incident.alerts:
            best[alert.rule_uid] = max(best.get(alert.rule_uid, 0.0), alert.score)
        doubt = 1.0
        for score in best.values():
            doubt *= 1.0 - min(max(score, 0.0), 1.0)
        value = 1.0 - doubt
        rules = len(best)
        reason = (
            f"{rules} rules agree (scores {', '.join(f'{s:.2f}' for s in sorted(best.values()))})"
            if rules > 1
            else f"one rule, score {value:.2f}"
        )
        return RiskPart("confidence", value, WEIGHTS["confidence"], reason)

    def _asset(self, places: list[_Place]) -> RiskPart:
        assets = [place.asset for place in places if place.asset is not None]
        if not assets:
            return RiskPart(
                "asset", UNKNOWN, WEIGHTS["asset"], "no known asset (counted as medium)"
            )
        asset = max(assets, key=lambda a: (CRITICALITY[a.criticality], a.uid))
        reason = f"{asset.name} ({asset.uid}) is {asset.criticality.value}"
        return RiskPart("asset", CRITICALITY[asset.criticality], WEIGHTS["asset"], reason)

    def _segment(self, places: list[_Place]) -> RiskPart:
        kinds = [place.segment for place in places if place.segment is not None]
        if not kinds:
            return RiskPart(
                "segment", UNKNOWN, WEIGHTS["segment"], "segment unknown (counted as medium)"
            )
        kind = max(kinds, key=lambda k: (SEGMENT[k], k.value))
        return RiskPart("segment", SEGMENT[kind], WEIGHTS["segment"], SEGMENT_LABEL[kind])

    def _context(self, incident: Incident) -> RiskPart:
        if not self.estate:
            return RiskPart("context", UNKNOWN, WEIGHTS["context"], "no estate (counted as medium)")
        found: list[tuple[float, str]] = []
        for alert in incident.alerts:
            store = self._stores.get(alert.store or "")
            if store is not None:
                found.append(_store_context(self.estate, store, alert.first_seen))
        if not found:
            return RiskPart("context", UNKNOWN, WEIGHTS["context"], "no store in the estate")
        value, reason = max(found)
        return RiskPart("context", value, WEIGHTS["context"], reason)

    def _attack(self, incident: Incident) -> RiskPart:
        count = len(incident.tactics)
        reason = describe(incident.tactics) or "no ATT&CK technique"
        return RiskPart("attack", min(1.0, count / 4), WEIGHTS["attack"], reason)

    def _spread(self, incident: Incident) -> RiskPart:
        count = len(incident.stores)
        value = 0.0 if count <= 1 else 0.5 if count == 2 else 1.0
        reason = "one store" if count == 1 else f"{count} stores" if count else "no store"
        return RiskPart("spread", value, WEIGHTS["spread"], reason)

    # -- estate lookups ------------------------------------------------------------------

    def _places(self, incident: Incident) -> list[_Place]:
        places: list[_Place] = []
        for entity in incident.entities:
            if entity.kind == "device" and entity.value in self._assets:
                store, asset = self._assets[entity.value]
                places.append(_Place(store, asset, _segment_of(store, asset.segment)))
            elif entity.kind == "ip":
                places.extend(self._ip_places(incident, entity.value))
        return places

    def _ip_places(self, incident: Incident, value: str) -> list[_Place]:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return []
        places = []
        for uid in incident.stores:
            store = self._stores.get(uid)
            if store is None:
                continue
            asset = self._by_ip.get((uid, value))
            if asset is not None:
                places.append(_Place(store, asset, _segment_of(store, asset.segment)))
                continue
            for segment in store.segments:
                if address in segment.network:
                    places.append(_Place(store, None, segment.kind))
        return places


def _store_context(estate: Estate, store: Store, moment: datetime) -> tuple[float, str]:
    """Closed (1.0) above a peak (0.6-1.0) above normal trading (0.3)."""
    if not estate.is_open(store, moment):
        return 1.0, f"store {store.uid} closed"
    peak = estate.peak_on(store, store.local(moment).date())
    if peak is not None and peak.level > 0:
        return 0.4 + 0.2 * peak.level, f"{peak.name} peak in store {store.uid}"
    return 0.3, f"store {store.uid} trading normally"


def _segment_of(store: Store, name: str) -> SegmentKind | None:
    segment = store.segment(name)
    return segment.kind if segment is not None else None


def _explain(
    level: RiskLevel, incident: Incident, places: list[_Place], parts: tuple[RiskPart, ...]
) -> str:
    """`High: POS terminal in the cardholder data environment, store closed, 3 tactics ...`."""
    by_name = {part.name: part for part in parts}
    phrases = []
    top = max(incident.alerts, key=lambda a: (a.severity, -a.time.timestamp()), default=None)
    if top is not None:
        phrases.append(
            f"{Severity(max(top.severity, 1)).name.lower()} {top.use_case.replace('_', ' ') or 'alert'}"
        )
    located = [p for p in places if p.segment is not None]
    if located:
        place = max(
            located,
            key=lambda p: (SEGMENT[p.segment] if p.segment else 0.0, p.asset is not None),
        )
        thing = _asset_label(place.asset) if place.asset else "address"
        if place.segment is not None:
            phrases.append(f"{thing} in {SEGMENT_LABEL[place.segment]}")
    context = by_name["context"]
    if context.value > UNKNOWN:  # closed or a peak; normal trading and unknown go unsaid
        phrases.append(context.reason)
    if incident.tactics:
        phrases.append(by_name["attack"].reason)
    if len(incident.stores) > 1:
        phrases.append(f"{len(incident.stores)} stores")
    return f"{level.value.capitalize()}: {', '.join(phrases)}"


def _asset_label(asset: Asset) -> str:
    return KIND_LABEL.get(asset.kind.value, asset.kind.value.replace("_", " "))
