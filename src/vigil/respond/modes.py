"""Response modes per store and region, for phased roll-outs.

    detect_only   playbooks run on paper: every step is recorded as what would happen
    assisted      every action waits for an approver
    autonomous    actions run within policy; only the policy's risky ones wait

A store's mode is the first found of: its own, its region's, the default; a
setting made at run time (`vigil respond mode set`, kept in the database) wins
over the same scope in `respond.yaml`. An incident in several stores gets the
most careful of their modes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field

from vigil.estate.errors import UnknownStoreError
from vigil.estate.types import Estate
from vigil.respond.playbooks.errors import ModeError
from vigil.respond.playbooks.vocab import Model

DEFAULT_SCOPE = "default"


class ResponseMode(StrEnum):
    DETECT_ONLY = "detect_only"
    ASSISTED = "assisted"
    AUTONOMOUS = "autonomous"

    @property
    def care(self) -> int:
        """Lower is more careful."""
        return list(ResponseMode).index(self)


class ModeConfig(Model):
    """The `modes` section of `respond.yaml`."""

    default: ResponseMode = Field(
        default=ResponseMode.ASSISTED, description="Mode of stores and regions not listed."
    )
    regions: dict[str, ResponseMode] = Field(
        default_factory=dict, description="Mode per region uid."
    )
    stores: dict[str, ResponseMode] = Field(default_factory=dict, description="Mode per store uid.")


def store_scope(uid: str) -> str:
    return f"store:{uid}"


def region_scope(uid: str) -> str:
    return f"region:{uid}"


def scope_of(name: str, estate: Estate | None) -> str:
    """The scope key of a store uid, a region uid or `default`; `ModeError` for anything else."""
    if name == DEFAULT_SCOPE:
        return DEFAULT_SCOPE
    if estate is None:
        raise ModeError("modes are set per store or region of the estate; no estate is loaded")
    if any(store.uid == name for store in estate.stores):
        return store_scope(name)
    if any(region.uid == name for region in estate.regions):
        return region_scope(name)
    stores = ", ".join(store.uid for store in estate.stores)
    regions = ", ".join(region.uid for region in estate.regions)
    raise ModeError(f"{name!r} is no store ({stores}) or region ({regions}) of the estate")


@dataclass(frozen=True)
class ModeDecision:
    mode: ResponseMode
    why: str


def _configured(config: ModeConfig) -> dict[str, ResponseMode]:
    found = {DEFAULT_SCOPE: config.default}
    found.update({region_scope(uid): mode for uid, mode in config.regions.items()})
    found.update({store_scope(uid): mode for uid, mode in config.stores.items()})
    return found


def store_mode(
    store_uid: str,
    estate: Estate | None,
    config: ModeConfig,
    overrides: Mapping[str, ResponseMode],
) -> ModeDecision:
    """One store's mode and the scope it came from."""
    settings = {**_configured(config), **overrides}
    scopes = [store_scope(store_uid)]
    if estate is not None:
        with contextlib.suppress(UnknownStoreError):
            scopes.append(region_scope(estate.region_of(store_uid).uid))
    scopes.append(DEFAULT_SCOPE)
    for scope in scopes:
        if scope in settings:
            source = "set at run time" if scope in overrides else "respond.yaml"
            return ModeDecision(settings[scope], f"{scope} is {settings[scope]} ({source})")
    return ModeDecision(ResponseMode.ASSISTED, "no mode configured")


def incident_mode(
    stores: Sequence[str],
    estate: Estate | None,
    config: ModeConfig,
    overrides: Mapping[str, ResponseMode],
) -> ModeDecision:
    """The most careful mode of the incident's stores (the default mode without a store)."""
    if not stores:
        mode = {**_configured(config), **overrides}[DEFAULT_SCOPE]
        return ModeDecision(mode, f"no store: default is {mode}")
    decisions = [store_mode(uid, estate, config, overrides) for uid in stores]
    return min(decisions, key=lambda decision: decision.mode.care)
