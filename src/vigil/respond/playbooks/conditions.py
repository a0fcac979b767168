"""Conditions: when a playbook applies, a step runs, a branch is taken or an approval is needed.

A condition is a YAML mapping; every field given must hold (an empty one always
holds). `any` holds when one of its conditions does, `not` when its condition
does not:

    when: {store_open: true, asset_kind: [pos_terminal, self_checkout]}
    when: {any: [{min_peak_level: 2}, {min_severity: critical}]}

`check` returns the verdict with the reasons, in words, that decided it: the
dry run prints them and the approval request shows them to the approver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field

from vigil.estate.types import AssetKind, Criticality, SegmentKind
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.vocab import Model, SeverityName

CRITICALITY_ORDER = tuple(Criticality)


class Condition(Model):
    """Facts about the incident, its stores and its devices that must all hold."""

    store_open: bool | None = Field(
        default=None,
        description="The incident's store is trading now (opening hours and closures); "
        "any of them for several stores; true when the estate does not know the store.",
    )
    min_peak_level: int | None = Field(
        default=None, ge=0, le=3, description="Policy level (peaks, forecast surges) at least this."
    )
    max_peak_level: int | None = Field(
        default=None, ge=0, le=3, description="Policy level at most this."
    )
    asset_segment: list[SegmentKind] | None = Field(
        default=None,
        min_length=1,
        description="One of the incident's devices sits in a segment of one of these kinds.",
    )
    asset_kind: list[AssetKind] | None = Field(
        default=None, min_length=1, description="One of the incident's devices is of these kinds."
    )
    min_asset_criticality: Criticality | None = Field(
        default=None, description="One of the incident's devices is at least this critical."
    )
    min_severity: SeverityName | None = Field(
        default=None, description="The incident's severity is at least this."
    )
    min_risk: float | None = Field(
        default=None, ge=0, le=100, description="The incident's risk score is at least this."
    )
    has_entity: list[str] | None = Field(
        default=None,
        min_length=1,
        description="The incident has entities of all these kinds (ip, user, device, ...).",
    )
    has_public_ip: bool | None = Field(
        default=None, description="The incident has (or has no) globally routable IP entity."
    )
    use_case: list[str] | None = Field(
        default=None, min_length=1, description="One of the incident's use cases is in the list."
    )
    store: list[str] | None = Field(
        default=None, min_length=1, description="One of the incident's stores is in the list."
    )
    region: list[str] | None = Field(
        default=None, min_length=1, description="One of the incident's regions is in the list."
    )
    any_of: list[Condition] | None = Field(
        default=None, alias="any", min_length=1, description="At least one of these holds."
    )
    none_of: Condition | None = Field(
        default=None, alias="not", description="This condition does not hold."
    )


@dataclass(frozen=True)
class Verdict:
    """Whether a condition holds, and the facts that decided it."""

    holds: bool
    reasons: tuple[str, ...] = ()

    def because(self) -> str:
        return "; ".join(self.reasons) or "no condition"


Check = Callable[[Condition, Situation], Verdict | None]


def _store_open(condition: Condition, situation: Situation) -> Verdict | None:
    if condition.store_open is None:
        return None
    is_open = situation.store_open
    stores = ", ".join(situation.facts.stores) or "no store"
    words = f"store {stores} is {'open' if is_open else 'closed'}"
    return Verdict(is_open == condition.store_open, (words,))


def _peak(condition: Condition, situation: Situation) -> Verdict | None:
    if condition.min_peak_level is None and condition.max_peak_level is None:
        return None
    level, reason = situation.peak_level
    low = condition.min_peak_level if condition.min_peak_level is not None else 0
    high = condition.max_peak_level if condition.max_peak_level is not None else 3
    return Verdict(low <= level <= high, (f"peak level {level} ({reason})",))


def _assets(condition: Condition, situation: Situation) -> Verdict | None:
    if (
        condition.asset_segment is None
        and condition.asset_kind is None
        and condition.min_asset_criticality is None
    ):
        return None
    for store, asset in situation.assets:
        segment = situation.segment_kind(store, asset)
        if condition.asset_segment is not None and segment not in condition.asset_segment:
            continue
        if condition.asset_kind is not None and asset.kind not in condition.asset_kind:
            continue
        wanted = condition.min_asset_criticality
        if wanted is not None and CRITICALITY_ORDER.index(
            asset.criticality
        ) < CRITICALITY_ORDER.index(wanted):
            continue
        words = f"{asset.name} ({asset.uid}) is a {asset.criticality} {asset.kind} in {segment}"
        return Verdict(True, (words,))
    devices = ", ".join(asset.uid for _, asset in situation.assets) or "none known"
    return Verdict(False, (f"no device of the incident fits (devices: {devices})",))


def _severity(condition: Condition, situation: Situation) -> Verdict | None:
    if condition.min_severity is None:
        return None
    name = SeverityName.of(situation.facts.severity)
    return Verdict(situation.facts.severity >= condition.min_severity.level, (f"severity {name}",))


def _risk(condition: Condition, situation: Situation) -> Verdict | None:
    if condition.min_risk is None:
        return None
    risk = situation.facts.risk
    return Verdict(risk >= condition.min_risk, (f"risk {risk:.0f}",))


def _entities(condition: Condition, situation: Situation) -> Verdict | None:
    verdicts = []
    if condition.has_entity is not None:
        missing = [kind for kind in condition.has_entity if not situation.facts.values(kind)]
        words = f"no {', '.join(missing)} entity" if missing else "entities present"
        verdicts.append(Verdict(not missing, (words,)))
    if condition.has_public_ip is not None:
        public = situation.facts.public_ips()
        words = f"public IP {public[0]}" if public else "no public IP"
        verdicts.append(Verdict(bool(public) == condition.has_public_ip, (words,)))
    return _all(verdicts) if verdicts else None


def _membership(condition: Condition, situation: Situation) -> Verdict | None:
    verdicts = []
    checks: tuple[tuple[list[str] | None, tuple[str, ...] | frozenset[str], str], ...] = (
        (condition.use_case, situation.facts.use_cases, "use case"),
        (condition.store, situation.facts.stores, "store"),
        (condition.region, situation.regions, "region"),
    )
    for wanted, have, what in checks:
        if wanted is None:
            continue
        found = sorted(set(wanted) & set(have))
        words = f"{what} {found[0]}" if found else f"{what} not in {', '.join(wanted)}"
        verdicts.append(Verdict(bool(found), (words,)))
    return _all(verdicts) if verdicts else None


def _any(condition: Condition, situation: Situation) -> Verdict | None:
    if condition.any_of is None:
        return None
    verdicts = [check(part, situation) for part in condition.any_of]
    holding = [verdict for verdict in verdicts if verdict.holds]
    if holding:
        return Verdict(True, holding[0].reasons)
    return Verdict(False, tuple(reason for v in verdicts for reason in v.reasons))


def _not(condition: Condition, situation: Situation) -> Verdict | None:
    if condition.none_of is None:
        return None
    inner = check(condition.none_of, situation)
    return Verdict(not inner.holds, tuple(f"not: {reason}" for reason in inner.reasons))


CHECKS: tuple[Check, ...] = (
    _store_open,
    _peak,
    _assets,
    _severity,
    _risk,
    _entities,
    _membership,
    _any,
    _not,
)


def _all(verdicts: list[Verdict]) -> Verdict:
    failed = [verdict for verdict in verdicts if not verdict.holds]
    chosen = failed or verdicts
    return Verdict(not failed, tuple(reason for v in chosen for reason in v.reasons))


def check(condition: Condition | None, situation: Situation) -> Verdict:
    """Whether every part of `condition` holds; the reasons are the failing parts, if any."""
    if condition is None:
        return Verdict(True)
    verdicts = [v for part in CHECKS if (v := part(condition, situation)) is not None]
    return _all(verdicts) if verdicts else Verdict(True)
