"""Raw telemetry sources; importing this package registers them all."""

from vigil.sim.sources import (
    access,
    firewall,
    identity,
    netflow,
    network,
    pos,
    selfcheckout,
    web,
)

__all__ = [
    "access",
    "firewall",
    "identity",
    "netflow",
    "network",
    "pos",
    "selfcheckout",
    "web",
]
