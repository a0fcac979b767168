"""Injected scenarios; importing this package registers them all."""

from vigil.sim.scenarios import (
    ddos,
    insider,
    pos_fraud,
    pos_malware,
    selfcheckout,
    till_fraud,
    vendor,
    web_abuse,
)

__all__ = [
    "ddos",
    "insider",
    "pos_fraud",
    "pos_malware",
    "selfcheckout",
    "till_fraud",
    "vendor",
    "web_abuse",
]
