"""Generate an estate of N stores, shaped like the sample estate's stores.

Each store gets a /20 of 10.0.0.0/8 (so up to 4,096 stores), one /24 per segment,
the sample store's layout and asset mix (lanes and cameras vary with store size),
and its own cashiers, managers and security staff.
"""

from __future__ import annotations

import ipaddress

import numpy as np

from vigil.estate import Estate, load_sample_estate
from vigil.estate.types import Asset, Identity, IdentityKind, Region, Segment, Store

REGIONS = (
    ("west", "West", ("America/Los_Angeles", "America/Phoenix", "America/Denver")),
    ("central", "Central", ("America/Chicago",)),
    ("east", "East", ("America/New_York", "America/Detroit")),
    ("south", "South", ("America/New_York", "America/Chicago")),
)
CITIES = (
    "Springfield",
    "Riverside",
    "Fairview",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Madison",
    "Georgetown",
    "Salem",
    "Arlington",
    "Ashland",
    "Burlington",
    "Dover",
    "Milton",
)
FIRST = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Marco",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
)
LAST = (
    "Reyes",
    "Okafor",
    "Nguyen",
    "Patel",
    "Schmidt",
    "Haddad",
    "Larsen",
    "Sato",
    "Petrov",
    "Moreau",
    "Mensah",
    "Fischer",
    "Rossi",
    "Adeyemi",
    "Farouk",
    "Iyer",
    "Kowalski",
    "Lindqvist",
)
SEGMENT_INDEX = {
    "cde": 10,
    "pos": 11,
    "iot": 12,
    "guest": 13,
    "staff": 14,
    "corp": 15,
    "vendor": 8,
    "mgmt": 9,
}


def store_network(index: int) -> ipaddress.IPv4Network:
    """The /20 of store number `index` (0-based) inside 10.0.0.0/8."""
    return ipaddress.IPv4Network((int(ipaddress.IPv4Address("10.0.0.0")) + index * 4096, 20))


def _segment_cidr(index: int, name: str) -> str:
    base = int(store_network(index).network_address)
    return str(ipaddress.IPv4Network((base + SEGMENT_INDEX[name] * 256, 24)))


def _readdress(ip: str, template_segments: dict[str, Segment], segment: str, index: int) -> str:
    host = int(ipaddress.IPv4Address(ip)) - int(template_segments[segment].network.network_address)
    return str(ipaddress.IPv4Network(_segment_cidr(index, segment)).network_address + host)


def _mac(index: int, ip: str) -> str:
    tail = int(ipaddress.IPv4Address(ip)) & 0xFFFFFF
    return f"02:{(index >> 8) & 0xFF:02x}:{index & 0xFF:02x}:{tail >> 16:02x}:{(tail >> 8) & 0xFF:02x}:{tail & 0xFF:02x}"


def _store(index: int, template: Store, rng: np.random.Generator, timezone: str) -> Store:
    uid = f"{index + 1:03d}" if index < 999 else f"{index + 1:04d}"
    lanes = int(rng.integers(2, 7))
    by_segment = {segment.name: segment for segment in template.segments}
    assets = []
    for asset in template.assets:
        if (
            asset.kind in {"pos_terminal", "payment_terminal"}
            and asset.lane
            and int(asset.lane) > lanes
        ):
            continue
        ip = _readdress(asset.ip, by_segment, asset.segment, index) if asset.ip else None
        suffix = asset.uid.split("-", 1)[1]
        assets.append(
            asset.model_copy(
                update={
                    "uid": f"s{uid}-{suffix}",
                    "ip": ip,
                    "mac": _mac(index, ip) if ip else None,
                }
            )
        )
    for lane in range(4, lanes + 1):  # larger stores get more lanes than the template
        for kind, segment, host, name, crit in (
            ("pos_terminal", "pos", 10, "POS lane", "high"),
            ("payment_terminal", "cde", 10, "PIN pad lane", "critical"),
        ):
            ip = str(
                ipaddress.IPv4Network(_segment_cidr(index, segment)).network_address + host + lane
            )
            prefix = "pos" if kind == "pos_terminal" else "ped"
            assets.append(
                Asset(
                    uid=f"s{uid}-{prefix}-{lane:02d}",
                    name=f"{name} {lane}",
                    kind=kind,
                    segment=segment,
                    ip=ip,
                    mac=_mac(index, ip),
                    criticality=crit,
                    lane=str(lane),
                    zone="checkout",
                )
            )
    segments = [
        segment.model_copy(update={"cidr": _segment_cidr(index, segment.name)})
        for segment in template.segments
    ]
    late = bool(rng.random() < 0.4)
    hours = dict.fromkeys(
        ("mon", "tue", "wed", "thu", "fri"), "08:00-22:00" if late else "08:00-21:00"
    )
    hours |= {"sat": "09:00-21:00", "sun": "10:00-18:00" if rng.random() < 0.8 else "closed"}
    city = CITIES[int(rng.integers(len(CITIES)))]
    return Store(
        uid=uid,
        name=f"{city} #{uid}",
        timezone=timezone,
        city=city,
        country="US",
        opening_hours=hours,
        zones=list(template.zones),
        segments=segments,
        assets=assets,
    )


def _staff(store: Store, rng: np.random.Generator, serial: int) -> list[Identity]:
    people = []
    roles = [IdentityKind.MANAGER, IdentityKind.SECURITY] + [IdentityKind.CASHIER] * int(
        rng.integers(4, 9)
    )
    for offset, role in enumerate(roles):
        number = serial + offset
        first, last = FIRST[int(rng.integers(len(FIRST)))], LAST[int(rng.integers(len(LAST)))]
        people.append(
            Identity(
                uid=f"e{number}",
                name=f"{first} {last}",
                username=f"{first[0]}{last}{number}".lower(),
                kind=role,
                stores=[store.uid],
                cashier_id=f"{store.uid}{offset:03d}" if role == IdentityKind.CASHIER else None,
            )
        )
    return people


def generate_estate(stores: int, seed: int = 7) -> Estate:
    """An estate of `stores` stores over four regions, the same for the same seed."""
    if not 1 <= stores <= 4096:
        raise ValueError("stores must be between 1 and 4096")
    sample = load_sample_estate()
    template = sample.store("031")
    rng = np.random.default_rng(seed)
    regions: dict[str, list[Store]] = {uid: [] for uid, _, _ in REGIONS}
    identities: list[Identity] = []
    for index in range(stores):
        region_uid, _, zones = REGIONS[index % len(REGIONS)]
        store = _store(index, template, rng, zones[int(rng.integers(len(zones)))])
        regions[region_uid].append(store)
        identities += _staff(store, rng, 10_000 + index * 20)
    identities += [
        identity
        for identity in sample.identities
        if identity.kind in {"vendor", "employee"} and not identity.stores
    ]
    return Estate(
        organisation=sample.organisation,
        peaks=sample.peaks,
        regions=[
            Region(uid=uid, name=name, stores=regions[uid])
            for uid, name, _ in REGIONS
            if regions[uid]
        ],
        identities=identities,
    )
