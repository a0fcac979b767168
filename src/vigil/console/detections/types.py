"""Rules as the console lists them, lint problems, and backtest results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Detection:
    uid: str
    title: str
    kind: str
    severity: str
    use_case: str
    enabled: bool
    attack: tuple[str, ...]
    pci: tuple[str, ...]
    origin: str
    """`pack/pos.yaml:12` for the shipped pack, `console` for a rule edited here."""


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str


@dataclass(frozen=True)
class BacktestAlert:
    uid: str
    time: datetime
    title: str
    severity: str
    store: str | None
    explanation: str


@dataclass(frozen=True)
class Backtest:
    count: int
    """Alerts in the caller's scope (`alerts` holds at most the first 500)."""
    events: int
    alerts: tuple[BacktestAlert, ...]
