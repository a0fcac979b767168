"""API models of detections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.detections.types import Backtest, Detection, Problem


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetectionRead(Model):
    uid: str
    title: str
    kind: str = Field(description="threshold, velocity, distinct, sequence, match, ...")
    severity: str
    use_case: str
    enabled: bool
    attack: list[str] = Field(description="ATT&CK technique ids.")
    pci: list[str] = Field(description="PCI DSS requirements it gives evidence for.")
    origin: str = Field(description="pack/<file>:<line>, or `console` when edited here.")

    @classmethod
    def of(cls, item: Detection) -> DetectionRead:
        return cls(
            uid=item.uid,
            title=item.title,
            kind=item.kind,
            severity=item.severity,
            use_case=item.use_case,
            enabled=item.enabled,
            attack=list(item.attack),
            pci=list(item.pci),
            origin=item.origin,
        )


class EnabledCreate(Model):
    enabled: bool = Field(description="On or off (the live engine honours it on restart).")


class YamlCreate(Model):
    yaml: str = Field(max_length=100_000, description="Rule YAML (one or more documents).")


class ProblemRead(Model):
    line: int | None = Field(description="Line of the YAML, when known.")
    message: str


class LintRead(Model):
    problems: list[ProblemRead] = Field(description="Every problem at once; empty: it loads.")

    @classmethod
    def of(cls, problems: list[Problem]) -> LintRead:
        return cls(problems=[ProblemRead(line=p.line, message=p.message) for p in problems])


class BacktestCreate(Model):
    since: str = Field(default="30d", description="How far back: 12h, 30d, 2w.")


class BacktestAlertRead(Model):
    uid: str
    time: datetime
    title: str
    severity: str
    store: str | None
    explanation: str


class BacktestRead(Model):
    count: int = Field(description="Alerts it would have raised in your stores.")
    events: int = Field(description="Events replayed.")
    alerts: list[BacktestAlertRead] = Field(description="The first 500 of them.")

    @classmethod
    def of(cls, result: Backtest) -> BacktestRead:
        return cls(
            count=result.count,
            events=result.events,
            alerts=[
                BacktestAlertRead(
                    uid=a.uid,
                    time=a.time,
                    title=a.title,
                    severity=a.severity,
                    store=a.store,
                    explanation=a.explanation,
                )
                for a in result.alerts
            ],
        )
