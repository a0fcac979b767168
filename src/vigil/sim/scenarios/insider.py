"""After-hours insider theft, and its benign look-alike (a manager's late stocktake)."""

from __future__ import annotations

from typing import ClassVar, Literal

from vigil.estate.types import AssetKind, IdentityKind
from vigil.sim.sources.access import AlarmSource, DoorSource, alarm_line, door_line
from vigil.sim.sources.pos import PosSource, document
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World


class _AfterHoursVisit(Scenario):
    takes_cash: ClassVar[bool]

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        kinds = {IdentityKind.CASHIER} if self.takes_cash else {IdentityKind.MANAGER}
        people = [p for p in world.staff(store) if p.kind in kinds]
        controller = next((a for a in store.assets if a.kind == AssetKind.DOOR_CONTROLLER), None)
        panel = next((a for a in store.assets if a.kind == AssetKind.ALARM_PANEL), None)
        lanes = world.assets(store, AssetKind.POS_TERMINAL)
        if not people or controller is None or panel is None or not lanes:
            raise SimError(
                f"{self.name}: store {store.uid} lacks staff, door controller, alarm panel or lane"
            )
        person = people[int(rng.integers(len(people)))]
        badge = f"B{person.uid[1:]}"
        start = self.pick_start(world, rng, store, trading=False)
        door = f"{store.uid}-staff-entrance"
        inside = 20 * 60 + rng.random() * 40 * 60
        injection = Injection()
        doors = [
            (start, door_line(start, controller.uid, door, "granted", badge, person.username)),
            (
                start + inside,
                door_line(start + inside, controller.uid, door, "granted", badge, person.username),
            ),
        ]
        alarms = [
            (start + 25, alarm_line(start + 25, panel.uid, "disarmed", person.username)),
            (
                start + inside - 60,
                alarm_line(start + inside - 60, panel.uid, "armed", person.username),
            ),
        ]
        injection.add(
            DoorSource.name,
            DoorSource.lines([(ts, store.uid, line) for ts, line in doors]),
        )
        injection.add(
            AlarmSource.name,
            AlarmSource.lines([(ts, store.uid, line) for ts, line in alarms]),
        )
        entities = {
            "user": [person.username],
            "badge": [badge],
            "device": [controller.uid, panel.uid],
        }
        sources = [DoorSource.name, AlarmSource.name]
        if self.takes_cash:
            lane = lanes[int(rng.integers(len(lanes)))]
            cashier_id = person.cashier_id or person.uid
            moments = [start + 300, start + 420]
            pos_lines = [
                document(
                    "no_sale", moments[0], store, lane, cashier_id, f"{store.uid}{lane.lane}8000001"
                ),
                document(
                    "drawer_open",
                    moments[1],
                    store,
                    lane,
                    cashier_id,
                    f"{store.uid}{lane.lane}8000002",
                ),
            ]
            injection.add(
                PosSource.name,
                PosSource.lines(
                    [(ts, store.uid, line) for ts, line in zip(moments, pos_lines, strict=True)]
                ),
            )
            entities["cashier"] = [cashier_id]
            entities["device"].append(lane.uid)
            sources.append(PosSource.name)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}-{person.uid}",
                label=self.label,
                start=start,
                end=start + inside,
                stores=(store.uid,),
                entities=entities,
                sources=tuple(sources),
                description=self.description,
            )
        )
        return injection


@scenarios.register("insider_after_hours")
class InsiderAfterHours(_AfterHoursVisit):
    name: ClassVar[str] = "insider_after_hours"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "A cashier badges in while the store is closed, disarms the alarm, opens a till with no sale and leaves."
    )
    takes_cash: ClassVar[bool] = True


@scenarios.register("late_stocktake")
class LateStocktake(_AfterHoursVisit):
    name: ClassVar[str] = "late_stocktake"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "benign"
    description: ClassVar[str] = (
        "A manager comes in after hours for a stocktake: door and alarm look like an intrusion, no till is touched."
    )
    takes_cash: ClassVar[bool] = False
