"""Raw telemetry sources; importing this package registers them all."""

from vigil.sim.sources import access, network, pos

__all__ = ["access", "network", "pos"]
