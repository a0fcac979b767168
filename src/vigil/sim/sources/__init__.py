"""Raw telemetry sources; importing this package registers them all."""

from vigil.sim.sources import access, identity, network, pos, selfcheckout, web

__all__ = ["access", "identity", "network", "pos", "selfcheckout", "web"]
