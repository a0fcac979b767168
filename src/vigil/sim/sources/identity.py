"""Identity provider sign-ins (Okta System Log style JSON lines): staff SSO and vendor VPN.

`{"uuid", "published", "eventType": "user.session.start", "actor": {"alternateId"},
"client": {"ipAddress", "geographicalContext": {"country"}}, "outcome": {"result",
"reason"}, "authenticationContext": {"factor"}, "target": [{"displayName"}]}`.
"""

from __future__ import annotations

import json
from typing import ClassVar

import polars as pl

from vigil.estate.types import IdentityKind
from vigil.sim.shifts import roster
from vigil.sim.sources.pos import iso
from vigil.sim.types import JsonLinesSource, sources
from vigil.sim.world import World

VENDOR_HOME = {
    "Coldchain Services": ("US", "64.62.190.14"),
    "RetailTech Solutions": ("US", "66.220.7.41"),
}


def signin(
    uuid: str,
    ts: float,
    username: str,
    ip: str,
    country: str,
    app: str,
    success: bool,
    factor: str | None,
) -> str:
    return json.dumps(
        {
            "uuid": uuid,
            "published": iso(ts),
            "eventType": "user.session.start",
            "actor": {"alternateId": username, "type": "User"},
            "client": {"ipAddress": ip, "geographicalContext": {"country": country}},
            "outcome": {
                "result": "SUCCESS" if success else "FAILURE",
                "reason": None if success else "INVALID_CREDENTIALS",
            },
            "authenticationContext": {"factor": factor},
            "target": [{"type": "AppInstance", "displayName": app}],
        },
        separators=(",", ":"),
    )


@sources.register("sso")
class SignInSource(JsonLinesSource):
    name: ClassVar[str] = "sso"
    path: ClassVar[str] = "identity/signin.jsonl"
    per_store: ClassVar[bool] = False

    def generate_estate(self, world: World) -> pl.DataFrame:
        rng = world.rng("sso")
        rows: list[tuple[float, str | None, str]] = []
        serial = 0
        for store in world.estate.stores:
            corp = store.segment("corp")
            for shift in roster(world, store):
                person = shift.person
                if person.kind == IdentityKind.CASHIER or rng.random() < 0.2:
                    continue  # tills sign on locally; managers and security use SSO
                ts = shift.start + rng.uniform(2 * 60, 20 * 60)
                ip = (
                    str(corp.network.network_address + int(rng.integers(10, 60)))
                    if corp
                    else "10.255.0.1"
                )
                ok = rng.random() > 0.04
                serial += 1
                rows.append(
                    (
                        ts,
                        store.uid,
                        signin(
                            f"s{serial:09d}",
                            ts,
                            person.username,
                            ip,
                            "US",
                            "Store Portal",
                            ok,
                            "push" if ok else None,
                        ),
                    )
                )
        for vendor in (i for i in world.estate.identities if i.vendor is not None):
            country, ip = VENDOR_HOME.get(
                vendor.vendor.company if vendor.vendor else "", ("US", "66.220.7.1")
            )
            opens = (
                int(vendor.vendor.allowed_hours.split("-")[0].split(":")[0]) if vendor.vendor else 0
            )
            day = world.span.start - world.span.start % 86400
            while day < world.span.end:
                if rng.random() < 0.4:
                    ts = (
                        day + (opens + 6 + rng.random() * 2) * 3600 % 86400
                    )  # inside the allowed window (UTC-6 stores)
                    if world.span.start <= ts < world.span.end:
                        serial += 1
                        rows.append(
                            (
                                ts,
                                None,
                                signin(
                                    f"s{serial:09d}",
                                    ts,
                                    vendor.username,
                                    ip,
                                    country,
                                    "Vendor VPN",
                                    True,
                                    "token",
                                ),
                            )
                        )
                day += 86400
        return self.lines(rows)


__all__ = ["SignInSource", "signin"]
