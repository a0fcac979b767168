"""Physical security: door controller events and alarm panel arm/disarm, as JSON lines.

Door: `{"ts", "controller", "door", "event": granted|denied|forced|held|opened|closed,
"badge", "user"}`. Alarm: `{"ts", "panel", "event": armed|disarmed|alarm, "user", "partition"}`.
Staff badge in and out with their shifts (`vigil.sim.shifts`), some step out on their
break and visit the stockroom; the opening manager disarms the alarm and the closing
security guard arms it.
"""

from __future__ import annotations

import json
from typing import ClassVar

import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind, IdentityKind
from vigil.sim.shifts import Shift, roster
from vigil.sim.sources.pos import iso
from vigil.sim.types import JsonLinesSource, sources
from vigil.sim.world import World


def door_line(
    ts: float, controller: str, door: str, event: str, badge: str | None, user: str | None
) -> str:
    return json.dumps(
        {
            "ts": iso(ts),
            "controller": controller,
            "door": door,
            "event": event,
            "badge": badge,
            "user": user,
        },
        separators=(",", ":"),
    )


def alarm_line(
    ts: float, panel: str, event: str, user: str | None, partition: str = "store"
) -> str:
    return json.dumps(
        {"ts": iso(ts), "panel": panel, "event": event, "user": user, "partition": partition},
        separators=(",", ":"),
    )


@sources.register("door")
class DoorSource(JsonLinesSource):
    name: ClassVar[str] = "door"
    path: ClassVar[str] = "access/door.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("door", store.uid)
        controller = next(
            (a.uid for a in store.assets if a.kind == AssetKind.DOOR_CONTROLLER), None
        )
        if controller is None:
            return self.lines([])
        entrance, stockroom = f"{store.uid}-staff-entrance", f"{store.uid}-stockroom"
        rows: list[tuple[float, str]] = []

        def badge(moment: float, door: str, shift: Shift, event: str = "granted") -> None:
            line = door_line(moment, controller, door, event, shift.badge, shift.person.username)
            rows.append((moment, line))

        for shift in roster(world, store):
            lead = 0.0 if shift.lane is None else rng.uniform(3 * 60, 15 * 60)
            badge(shift.start - lead, entrance, shift)
            badge(shift.end + rng.uniform(2 * 60, 10 * 60), entrance, shift)
            if shift.rest is not None and rng.random() < 0.3:  # a break outside
                badge(shift.rest.start + rng.uniform(30, 120), entrance, shift)
                badge(shift.rest.end - rng.uniform(60, 180), entrance, shift)
            visits = int(rng.poisson(2 if shift.lane is None else 0.7))
            for moment in shift.start + rng.random(visits) * (shift.end - shift.start):
                if shift.working(float(moment)):
                    badge(float(moment), stockroom, shift)
        for span in world.trading(store):
            if rng.random() < 0.05:  # a lost or expired card
                moment = span.start + rng.random() * span.seconds
                rows.append(
                    (moment, door_line(moment, controller, stockroom, "denied", "B00000", None))
                )
        return self.lines([(ts, store.uid, line) for ts, line in rows])


@sources.register("alarm")
class AlarmSource(JsonLinesSource):
    name: ClassVar[str] = "alarm"
    path: ClassVar[str] = "access/alarm.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("alarm", store.uid)
        panel = next((a.uid for a in store.assets if a.kind == AssetKind.ALARM_PANEL), None)
        rows: list[tuple[float, str]] = []
        if panel is None:
            return self.lines([])
        for shift in roster(world, store):
            if shift.person.kind == IdentityKind.MANAGER:  # the opener disarms on arrival
                moment = shift.start + rng.uniform(40, 150)
                rows.append((moment, alarm_line(moment, panel, "disarmed", shift.person.username)))
            elif shift.person.kind == IdentityKind.SECURITY:  # the closer arms on leaving
                moment = shift.end - rng.uniform(40, 150)
                rows.append((moment, alarm_line(moment, panel, "armed", shift.person.username)))
        return self.lines([(ts, store.uid, line) for ts, line in rows])
