"""Heat maps: totals, JSON and numpy export, PNG overlay, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from video_helpers import H, W, camera, engine_for, run
from vigil.video.heatmap import HeatMap, HeatMapError


def test_heat_map_totals_equal_the_anchor_samples(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    heat = HeatMap(W, H, cell=16)
    engine = engine_for(camera(), heatmap=heat)
    frames = []
    for _ in range(40):
        count = int(rng.integers(0, 6))
        frames.append(
            [(i, float(rng.uniform(0, W)), float(rng.uniform(0, H))) for i in range(count)]
        )
    frames.append([(99, W, H), (98, 0, 0)])  # on the frame's edges
    run(engine, frames)
    samples = sum(len(people) for people in frames)
    assert heat.samples == samples
    again = HeatMap.from_json(heat.to_json())
    assert np.array_equal(again.counts, heat.counts)
    heat.save_npy(tmp_path / "heat.npy")
    assert np.load(tmp_path / "heat.npy").sum() == samples
    frame = np.full((H, W, 3), 128, dtype=np.uint8)
    heat.write_png(tmp_path / "heat.png", frame)
    image = cv2.imread(str(tmp_path / "heat.png"))
    assert image.shape == (H, W, 3)
    visited = np.repeat(np.repeat(heat.counts > 0, 16, 0), 16, 1)[:H, :W]
    assert (image[~visited] == 128).all()
    assert (image[visited] != 128).any(axis=1).all()


def test_heat_map_rejects_bad_input() -> None:
    heat = HeatMap(W, H)
    with pytest.raises(HeatMapError, match="frame is"):
        heat.overlay(np.zeros((10, 10, 3), dtype=np.uint8))
    with pytest.raises(HeatMapError, match="not a heat map"):
        HeatMap.from_json('{"width": 320, "height": 240, "cell": 16, "samples": 1, "counts": []}')
    with pytest.raises(HeatMapError, match="positive sizes"):
        HeatMap(0, H)
