"""Motion gating: full frames first and periodically (by time), a padded crop around what moved,
grown to the detector's input and kept inside the frame, idle when nothing moved."""

from __future__ import annotations

import numpy as np
import pytest

from video_fakes import H, W, background, person_box, scene, walk
from vigil.video.errors import VideoError
from vigil.video.motion import GateKind, MotionConfig, MotionGate, Region


def gate(**settings: object) -> MotionGate:
    return MotionGate(MotionConfig.model_validate(settings), (H, W), fps=5, min_crop_hw=(96, 96))


def test_still_scene_gives_a_first_full_frame_then_idle() -> None:
    motion = gate(full_frame_seconds=None)
    rng = np.random.default_rng(1)
    kinds = []
    for k in range(12):
        noisy = background().astype(np.int16) + rng.integers(-3, 4, size=(H, W, 3))
        kinds.append(motion.decide(np.clip(noisy, 0, 255).astype(np.uint8), 200.0 * k).kind)
    assert kinds == [GateKind.FULL] + [GateKind.IDLE] * 11


def test_a_walker_gives_a_padded_crop_around_them_at_least_the_detector_size() -> None:
    motion = gate(full_frame_seconds=None, padding_px=10)
    path = walk((60, 150), (120, 150), 8)
    decisions = [motion.decide(scene([spot]), 200.0 * k) for k, spot in enumerate(path)]
    assert decisions[0].kind is GateKind.FULL
    for decision, spot in list(zip(decisions, path, strict=True))[2:]:
        assert decision.kind is GateKind.REGION
        region = decision.region
        assert region is not None
        x0, y0, x1, y1 = person_box(*spot)
        assert region.x0 <= x0
        assert region.y0 <= y0
        assert region.x1 >= x1
        assert region.y1 >= y1
        assert region.x1 - region.x0 >= 96
        assert region.y1 - region.y0 >= 96
        assert region.x0 >= 0
        assert region.x1 <= W
        assert region.y0 >= 0
        assert region.y1 <= H
        assert region.area < 0.6 * W * H
        assert len(decision.moving) >= 1


def test_full_frames_come_by_time_not_by_frame_count() -> None:
    """Frames at irregular times: a full frame whenever a second has passed since the last."""
    motion = gate(full_frame_seconds=1.0)
    times = [0, 150, 500, 990, 1000, 1100, 1700, 2050, 2100, 3500]
    kinds = [motion.decide(background(), ms).kind for ms in times]
    assert [t for t, kind in zip(times, kinds, strict=True) if kind is GateKind.FULL] == [
        0,
        1000,
        2050,
        3500,
    ]


def test_motion_over_most_of_the_frame_runs_the_whole_frame() -> None:
    motion = gate(full_frame_seconds=None)
    motion.decide(background(), 0)
    motion.decide(background(), 200)
    flooded = np.full((H, W, 3), 230, dtype=np.uint8)  # the lights came on
    decision = motion.decide(flooded, 400)
    assert decision.kind is GateKind.FULL
    assert decision.reason == "coverage"


def test_gating_off_is_always_the_whole_frame() -> None:
    motion = gate(enabled=False)
    decisions = [motion.decide(background(), 200.0 * k) for k in range(5)]
    assert {decision.kind for decision in decisions} == {GateKind.FULL}
    assert {decision.region for decision in decisions} == {Region(0, 0, W, H)}


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (
            (150, 100, 170, 160),
            Region(112, 82, 208, 178),
        ),  # padded, then grown to 96 about its centre
        ((0, 0, 10, 10), Region(0, 0, 96, 96)),  # pushed inside from the corner
        ((300, 200, 320, 240), Region(224, 144, 320, 240)),  # from the opposite corner
        ((10, 20, 300, 40), Region(2, 0, 308, 96)),  # wide: only the height grows
    ],
)
def test_region_around_moving_boxes(box: tuple[int, int, int, int], expected: Region) -> None:
    motion = gate(padding_px=8)
    region = motion.region_around(np.array([box], dtype=np.float32))
    assert region == expected


def test_the_crop_is_the_union_of_every_moving_box() -> None:
    motion = gate(padding_px=0)
    region = motion.region_around(np.array([[20, 30, 40, 90], [200, 100, 230, 200]], np.float32))
    assert region == Region(20, 30, 230, 200)


def test_frames_of_another_size_are_refused() -> None:
    with pytest.raises(VideoError, match="set up for"):
        gate().decide(np.zeros((10, 10, 3), np.uint8), 0)
    with pytest.raises(VideoError, match="frame size and rate"):
        MotionGate(MotionConfig(), (0, 100), fps=5)
