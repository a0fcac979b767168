"""API models of the estate overview and the store view."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.stores.types import StoreSummary, StoreView


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HealthRead(Model):
    status: str = Field(description="ok, silent, degraded or unknown.")
    last_event_at: datetime | None = Field(description="Event time of its newest event.")
    events_last_hour: int = Field(description="Events in the hour before now.")


class StoreRead(Model):
    uid: str
    name: str
    region: str
    open: bool = Field(description="Trading now, by its opening hours and calendar.")
    health: HealthRead
    incidents_open: int
    risk_max: float = Field(description="Highest risk of its open incidents (0 if none).")

    @classmethod
    def of(cls, store: StoreSummary) -> StoreRead:
        return cls(
            uid=store.uid,
            name=store.name,
            region=store.region,
            open=store.open,
            health=HealthRead(
                status=store.status.value,
                last_event_at=store.activity.last_event_at,
                events_last_hour=store.activity.events_last_hour,
            ),
            incidents_open=store.incidents_open,
            risk_max=store.risk_max,
        )


class FootfallRead(Model):
    t: datetime = Field(description="Start of the hour.")
    entered: int = Field(alias="in", description="People in.")
    left: int = Field(alias="out", description="People out.")


class QueueRead(Model):
    t: datetime
    camera: str
    length: int = Field(description="People queueing.")
    wait_s: float | None = Field(description="Estimated wait, seconds.")


class HeatMapRead(Model):
    camera: str
    width: int = Field(description="Frame width, pixels.")
    height: int = Field(description="Frame height, pixels.")
    grid: list[list[int]] = Field(description="Sightings per cell, rows from the top.")


class PhysicalEventRead(Model):
    time: datetime
    kind: str = Field(description="door_access or video_observation.")
    summary: str


class CashierRead(Model):
    cashier: str
    voids: int
    refunds: int
    no_sales: int
    discounts: int


class StoreViewRead(Model):
    since: datetime = Field(description="Start of the window shown.")
    until: datetime = Field(description="End of the window shown.")
    footfall: list[FootfallRead]
    queues: list[QueueRead]
    heatmap: HeatMapRead | None
    after_hours: list[PhysicalEventRead] = Field(description="While the store was closed.")
    pos_exceptions: list[CashierRead] = Field(description="By cashier, most first.")

    @classmethod
    def of(cls, view: StoreView) -> StoreViewRead:
        heat = view.heatmap
        return cls(
            since=view.since,
            until=view.until,
            footfall=[FootfallRead(t=f.t, entered=f.entered, left=f.left) for f in view.footfall],
            queues=[
                QueueRead(t=q.t, camera=q.camera, length=q.length, wait_s=q.wait_s)
                for q in view.queues
            ],
            heatmap=None
            if heat is None
            else HeatMapRead(
                camera=heat.camera,
                width=heat.width,
                height=heat.height,
                grid=[list(line) for line in heat.grid],
            ),
            after_hours=[
                PhysicalEventRead(time=e.time, kind=e.kind, summary=e.summary)
                for e in view.after_hours
            ],
            pos_exceptions=[
                CashierRead(
                    cashier=c.cashier,
                    voids=c.voids,
                    refunds=c.refunds,
                    no_sales=c.no_sales,
                    discounts=c.discounts,
                )
                for c in view.pos_exceptions
            ],
        )
