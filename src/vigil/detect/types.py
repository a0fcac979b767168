"""What detection hands on: rule metadata, alerts, and the interfaces rules and detectors share.

A rule or detector reads whole batches (polars frames with the flattened OCSF
columns, `src_endpoint.ip`), keeps its own keyed state, and returns `Alert`s:
Detection Findings with the evidence rows, the entity keys, a score and an
explanation filled from the evidence.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import ClassVar

import polars as pl

TIME = "time"
"""Event time column of every class: UTC, milliseconds (OCSF `time`)."""


class DetectError(Exception):
    """Base class for every error of `vigil.detect`."""


class RuleError(DetectError):
    """A rule that cannot be loaded, with where it is: `file:line: message`."""

    def __init__(self, message: str, file: str = "<rule>", line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class LintError(DetectError):
    """Every broken rule of a set at once, so one run shows them all."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


class Severity(IntEnum):
    """OCSF `severity_id` of a finding."""

    INFORMATIONAL = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5


ENTITY_KINDS = ("store", "device", "user", "ip", "card", "cashier", "vendor", "domain")
"""Entity keys alerts carry, so correlation can fold alerts that share one."""


@dataclass(frozen=True)
class RuleMeta:
    """What every rule and detector declares, whatever its form."""

    uid: str
    title: str
    severity: Severity
    confidence: int
    """0-100: how often an alert of this rule is a true positive, as its author judges."""
    explanation: str
    """Template filled from the alert's values: `Terminal {device} sent {bytes_out:bytes}`."""
    use_case: str
    """The retail use case it serves (`pos_malware`, `card_testing`, ...), for the pack's table."""
    attack: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids (Enterprise `T1041`, ICS `T0883`)."""
    pci: tuple[str, ...] = ()
    """PCI DSS v4.0 requirements the detection gives evidence for (`10.2.1`, `11.5.1`)."""
    description: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = True
    origin: str = "<rule>"
    """`file:line` the rule was loaded from."""


@dataclass(frozen=True)
class Alert:
    """One finding: which rule, when (event time), about whom, why, and the rows that show it."""

    rule: RuleMeta
    time: datetime
    """Event time of the evidence that completed the finding (its last row)."""
    first_seen: datetime
    """Event time of its first evidence row."""
    entities: dict[str, str]
    values: dict[str, object]
    """What the explanation is filled from: entity values, aggregates, first-row fields."""
    evidence: pl.DataFrame
    score: float
    """0-1, higher is more certain; rules give their confidence, detectors their score."""
    explanation: str
    event_class: str = ""
    uid: str = field(default="")

    def __post_init__(self) -> None:
        if not self.uid:
            object.__setattr__(
                self, "uid", alert_uid(self.rule.uid, self.entities, self.first_seen)
            )

    @property
    def store(self) -> str | None:
        return self.entities.get("store")


def alert_uid(rule_uid: str, entities: dict[str, str], first_seen: datetime) -> str:
    """Deterministic: a replayed batch or a backtest raises the same alert, stored once."""
    key = "|".join(
        [rule_uid, first_seen.astimezone(UTC).isoformat()]
        + [f"{name}={entities[name]}" for name in sorted(entities)]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class Detector(ABC):
    """An unsupervised (or, later, trained) scorer, the River way.

    Hyperparameters are exactly the constructor's arguments; learned state is
    separate; `learn` returns None; higher score = more anomalous; thresholding
    happens outside, in the rule that uses the detector, and never learns from
    what it flags. A supervised model trained from labelled history plugs in as
    one more subclass.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def learn(self, frame: pl.DataFrame) -> None:
        """Update the learned state with these rows."""

    @abstractmethod
    def score(self, frame: pl.DataFrame) -> pl.Series:
        """A Float64 score per row, same length and order; higher is more anomalous."""

    def explain(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per-row values an explanation can quote (expected value, deviation, ...)."""
        return pl.DataFrame(height=frame.height)
