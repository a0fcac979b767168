"""API models of the verdict export."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.verdicts.types import VerdictDecision, VerdictPage


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VerdictRead(Model):
    seq: int = Field(description="Increasing; pass the last one read as `after`.")
    at: datetime = Field(description="When it was decided.")
    by: str = Field(description="Who decided it.")
    incident_uid: str
    verdict: str = Field(description="true_positive, false_positive or benign.")
    previous: str | None = Field(description="The verdict it replaced, if any.")
    note: str
    stores: list[str]
    rule_uids: list[str] = Field(description="The rules whose alerts the incident holds.")
    alert_uids: list[str] = Field(description="Its alerts: the findings the label applies to.")

    @classmethod
    def of(cls, item: VerdictDecision) -> VerdictRead:
        return cls(
            seq=item.seq,
            at=item.at,
            by=item.by,
            incident_uid=item.incident_uid,
            verdict=item.verdict,
            previous=item.previous,
            note=item.note,
            stores=list(item.stores),
            rule_uids=list(item.rule_uids),
            alert_uids=list(item.alert_uids),
        )


class VerdictPageRead(Model):
    items: list[VerdictRead]
    next_after: int | None = Field(description="`after` for the next page; null at the end.")

    @classmethod
    def of(cls, page: VerdictPage) -> VerdictPageRead:
        return cls(items=[VerdictRead.of(item) for item in page.items], next_after=page.next_after)
