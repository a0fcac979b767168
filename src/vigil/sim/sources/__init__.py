"""Raw telemetry sources; importing this package registers them all."""

from vigil.sim.sources import access, network, pos, web

__all__ = ["access", "network", "pos", "web"]
