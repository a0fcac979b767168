"""Injected scenarios; importing this package registers them all."""

from vigil.sim.scenarios import insider, pos_fraud, pos_malware, selfcheckout, vendor, web_abuse

__all__ = ["insider", "pos_fraud", "pos_malware", "selfcheckout", "vendor", "web_abuse"]
