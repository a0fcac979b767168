"""Injected scenarios; importing this package registers them all."""

from vigil.sim.scenarios import (
    ddos,
    guest_wifi,
    insider,
    iot,
    pos_fraud,
    pos_malware,
    selfcheckout,
    store_opening,
    till_fraud,
    vendor,
    web_abuse,
)

__all__ = [
    "ddos",
    "guest_wifi",
    "insider",
    "iot",
    "pos_fraud",
    "pos_malware",
    "selfcheckout",
    "store_opening",
    "till_fraud",
    "vendor",
    "web_abuse",
]
