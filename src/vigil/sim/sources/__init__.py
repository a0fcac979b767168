"""Raw telemetry sources; importing this package registers them all."""

from vigil.sim.sources import (
    access,
    dns,
    endpoint,
    firewall,
    identity,
    iot,
    netflow,
    network,
    pos,
    selfcheckout,
    web,
    wifi,
)

__all__ = [
    "access",
    "dns",
    "endpoint",
    "firewall",
    "identity",
    "iot",
    "netflow",
    "network",
    "pos",
    "selfcheckout",
    "web",
    "wifi",
]
