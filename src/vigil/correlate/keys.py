"""Which entities of an alert link it to others, and how; which only describe it.

Link keys are the specific entities (a till, a cashier, a card, a vendor
account), scoped to their store or estate-wide as the configuration says;
the store itself, values that name nobody in particular (`admin`, `unknown`)
and the addresses of the estate's network infrastructure only describe. An
address of a known asset also keys as that asset (a DNS alert by address and a
scan alert by device uid are about the same camera). An alert that names
nothing specific keys by its use case in its store, or estate-wide.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from vigil.correlate.config import CorrelateConfig, LinkSpec
from vigil.correlate.state import EntityKey
from vigil.correlate.types import EntityRole, IncidentAlert
from vigil.estate import AssetKind, Estate

INFRASTRUCTURE = frozenset(
    {
        AssetKind.FIREWALL,
        AssetKind.ROUTER,
        AssetKind.SWITCH,
        AssetKind.ACCESS_POINT,
        AssetKind.IOT_GATEWAY,
    }
)
"""Assets every flow of a store passes: their addresses describe, never link."""


FINDING = "finding"
"""Key kind of alerts that name nothing specific: their use case, in their store (or estate-wide)."""


@dataclass(frozen=True)
class Key:
    """An entity key of an alert, its role, and how it links (None: it only describes)."""

    key: EntityKey
    role: EntityRole
    spec: LinkSpec | None


class Keys:
    """Derives an alert's keys from its entities, the configuration and the estate."""

    def __init__(self, config: CorrelateConfig, estate: Estate | None = None) -> None:
        self.config = config
        assets = [
            (store.uid, asset)
            for store in (estate.stores if estate else [])
            for asset in store.assets
            if asset.ip
        ]
        self._infrastructure = {(s, a.ip) for s, a in assets if a.kind in INFRASTRUCTURE}
        self._devices = {(s, a.ip): a.uid for s, a in assets if a.kind not in INFRASTRUCTURE}

    def of(self, alert: IncidentAlert) -> list[Key]:
        """The alert's entities as keys: which link (and how), which only describe."""
        store = (alert.store or "").strip()
        keys: list[Key] = []
        for name, raw in sorted(alert.entities.items()):
            kind, value = self.config.key_kind(name), raw.strip()
            if kind != "store" and value:
                keys += self._entity_keys(kind, value, store, alert.entities.get("device"))
        if store:
            keys.append(Key(EntityKey("store", store, store), EntityRole.CONTEXT, None))
        spec = self.config.use_case_only
        if spec is not None and not any(item.role is EntityRole.LINK for item in keys):
            key = EntityKey(FINDING, store, alert.use_case or alert.rule_uid)
            keys.append(Key(key, EntityRole.LINK, spec))
        return keys

    def _entity_keys(self, kind: str, value: str, store: str, named: str | None) -> list[Key]:
        """One entity's key; an address of a known asset keys as that device too."""
        spec = self.config.spec(kind, kind == "ip" and _is_public(value))
        common = value.casefold() in self.config.common_values
        if spec is None or common or (kind == "ip" and (store, value) in self._infrastructure):
            return [Key(EntityKey(kind, store, value), EntityRole.CONTEXT, None)]
        keys = [Key(EntityKey(kind, _scope(spec, store), value), EntityRole.LINK, spec)]
        device = self._devices.get((store, value)) if kind == "ip" else None
        device_spec = self.config.spec("device")
        if device is not None and device != named and device_spec is not None:
            key = EntityKey("device", _scope(device_spec, store), device)
            keys.append(Key(key, EntityRole.LINK, device_spec))
        return keys


INTERNAL = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)
"""Private, carrier-grade NAT, loopback and link-local ranges: the same address is another
host in another store. Anything else (documentation ranges too) is an outside address."""


def _scope(spec: LinkSpec, store: str) -> str:
    return store if spec.scope == "store" else ""


def _is_public(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not any(address.version == net.version and address in net for net in INTERNAL)
