"""Physical security: door controller events and alarm panel arm/disarm, as JSON lines.

Door: `{"ts", "controller", "door", "event": granted|denied|forced|held|opened|closed,
"badge", "user"}`. Alarm: `{"ts", "panel", "event": armed|disarmed|alarm, "user", "partition"}`.
Staff badge in before opening and out after closing; the last one out arms the alarm.
"""

from __future__ import annotations

import json
from typing import ClassVar

import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
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
        staff = world.staff(store)
        rows: list[tuple[float, str]] = []
        if controller is None or not staff:
            return self.lines([])
        door = f"{store.uid}-staff-entrance"
        for span in world.trading(store):
            on_shift = [p for p in staff if rng.random() < 0.7] or staff[:1]
            for person in on_shift:
                badge = f"B{person.uid[1:]}"
                arrive = span.start - rng.uniform(10 * 60, 50 * 60)
                leave = span.end + rng.uniform(5 * 60, 40 * 60)
                rows.append(
                    (arrive, door_line(arrive, controller, door, "granted", badge, person.username))
                )
                rows.append(
                    (leave, door_line(leave, controller, door, "granted", badge, person.username))
                )
                for moment in span.start + rng.random(int(rng.poisson(2))) * span.seconds:
                    rows.append(
                        (
                            moment,
                            door_line(
                                moment,
                                controller,
                                f"{store.uid}-stockroom",
                                "granted",
                                badge,
                                person.username,
                            ),
                        )
                    )
            if rng.random() < 0.05:
                moment = span.start + rng.random() * span.seconds
                rows.append(
                    (
                        moment,
                        door_line(
                            moment, controller, f"{store.uid}-stockroom", "denied", "B00000", None
                        ),
                    )
                )
        return self.lines([(ts, store.uid, line) for ts, line in rows])


@sources.register("alarm")
class AlarmSource(JsonLinesSource):
    name: ClassVar[str] = "alarm"
    path: ClassVar[str] = "access/alarm.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("alarm", store.uid)
        panel = next((a.uid for a in store.assets if a.kind == AssetKind.ALARM_PANEL), None)
        managers = [p.username for p in world.staff(store) if p.kind in {"manager", "security"}]
        rows: list[tuple[float, str]] = []
        if panel is None or not managers:
            return self.lines([])
        for span in world.trading(store):
            user = managers[int(rng.integers(len(managers)))]
            disarm = span.start - rng.uniform(45 * 60, 60 * 60)
            arm = span.end + rng.uniform(41 * 60, 55 * 60)
            rows.append((disarm, alarm_line(disarm, panel, "disarmed", user)))
            rows.append((arm, alarm_line(arm, panel, "armed", user)))
        return self.lines([(ts, store.uid, line) for ts, line in rows])
