"""Vigil's transport: publish batches to subjects, consume them durably with acks."""

from vigil.bus.codec import decode_batch, encode_batch
from vigil.bus.memory import MemoryBus
from vigil.bus.types import Bus, BusError, Message, Subscription, subject_matches

__all__ = [
    "Bus",
    "BusError",
    "MemoryBus",
    "Message",
    "Subscription",
    "decode_batch",
    "encode_batch",
    "subject_matches",
]
