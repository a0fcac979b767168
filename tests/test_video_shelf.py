"""Shelf interaction and sweeping on synthetic frames: a shelf that empties, people or not."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from video_helpers import H, W, at, camera, engine_for, of, rect, run
from vigil.events import SeverityId, VideoObservation
from vigil.video.behaviours import Activity

SHELF = {
    "id": "shelf-1",
    "kind": "shelf",
    "name": "Razor blades",
    "polygon": rect(150, 40, 300, 140),
}


def shelf_frames(frames: int, change_from: int, bands: int = 1) -> list[npt.NDArray[np.uint8]]:
    """A textured, noisy scene whose shelf empties in ten column bands, `bands` a frame."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    emptied = base.copy()
    emptied[40:140, 170:300] = rng.integers(0, 256, (100, 130, 3), dtype=np.uint8)
    images = []
    current = base.copy()
    for k in range(frames):
        done = min(max(k - change_from + 1, 0) * bands, 10)
        current[:, 170 : 170 + 13 * done] = emptied[:, 170 : 170 + 13 * done]
        noise = rng.integers(-3, 4, (H, W, 3))
        images.append(np.clip(current.astype(np.int16) + noise, 0, 255).astype(np.uint8))
    return images


SHOPPER = (5, 137.5, 220)  # box 127.5-147.5 x 160-220: beside the shelf, not over it
REACHING = (5, 150.0, 180)  # box 140-160 x 120-180: a sixth of it over the shelf


@pytest.mark.parametrize(
    ("who", "bands", "sweeps", "interactions"),
    [
        pytest.param(lambda k: [], 1, [], [], id="nobody"),
        pytest.param(lambda k: [REACHING, (6, 290, 150)], 1, [], ["5", "6"], id="two-people"),
        pytest.param(
            lambda k: [REACHING] if k >= 45 else [], 1, [], ["5"], id="changed-before-arrival"
        ),
        pytest.param(lambda k: [SHOPPER], 1, [], [], id="passer-by"),
        pytest.param(lambda k: [REACHING], 1, ["5"], ["5"], id="one-person-band-by-band"),
        pytest.param(lambda k: [REACHING], 10, ["5"], ["5"], id="one-person-all-at-once"),
    ],
)
def test_shelf_sweep_needs_one_person_at_the_shelf(
    who: Any, bands: int, sweeps: list[str], interactions: list[str]
) -> None:
    frames = 75
    images = shelf_frames(frames, change_from=25, bands=bands)
    events = run(engine_for(camera([SHELF])), [who(k) for k in range(frames)], images=images)
    assert [e.track_uid for e in of(events, Activity.SHELF_SWEEP)] == sweeps
    assert sorted(e.track_uid or "" for e in of(events, Activity.SHELF_INTERACTION)) == interactions


def test_a_sweep_is_many_changes_or_one_large_change() -> None:
    def sweep(bands: int) -> VideoObservation:
        frames = [[REACHING]] * 50
        events = run(engine_for(camera([SHELF])), frames, images=shelf_frames(50, 25, bands))
        (event,) = of(events, Activity.SHELF_SWEEP)
        assert event.zone is not None
        assert event.zone.type == "shelf"
        assert event.severity_id == SeverityId.MEDIUM
        return event

    gradual, sudden = sweep(1), sweep(10)
    assert gradual.unmapped is not None
    assert sudden.unmapped is not None
    assert at(5) < gradual.time < at(7)  # the fourth band: four changes in the window
    assert gradual.unmapped["changes"] == 4
    assert gradual.unmapped["changed_fraction"] < 0.3
    assert sudden.time == at(5)  # the frame the shelf emptied
    assert sudden.unmapped["changes"] == 1
    assert sudden.unmapped["changed_fraction"] > 0.5  # most of the shelf at once


def test_shelf_interaction_after_a_few_seconds_once() -> None:
    frames = [[REACHING]] * 50
    events = of(
        run(engine_for(camera([SHELF])), frames, images=shelf_frames(50, 999)),
        Activity.SHELF_INTERACTION,
    )
    assert [(e.track_uid, e.time, e.dwell_seconds) for e in events] == [("5", at(3), 3.0)]
