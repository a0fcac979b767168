"""The opt-in int8 NanoDet: calibration frames, the file written, and that it still finds people."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import supervision as sv
from typer.testing import CliRunner

import model_paths
from vigil.cli_models import app
from vigil.video.detectors import NanoDetConfig, build_detector
from vigil.video.errors import SourceError
from vigil.video.quantise import calibration_frames

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
NANODET = model_paths.nanodet()


def test_calibration_frames_are_spread_over_the_whole_footage(tmp_path: Path) -> None:
    for index in range(10):
        cv2.imwrite(str(tmp_path / f"{index:02d}.png"), np.full((8, 8, 3), index * 20, np.uint8))
    frames = calibration_frames(tmp_path, 3)
    assert [int(frame[0, 0, 0]) for frame in frames] == [0, 80, 180]  # frames 0, 4 and 9
    assert len(calibration_frames(tmp_path, 50)) == 10


def test_calibration_needs_a_file_or_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="video file or image folder"):
        calibration_frames(tmp_path / "missing.mp4", 4)
    with pytest.raises(SourceError, match="video file or image folder"):
        calibration_frames(Path("rtsp://10.0.0.1/stream"), 4)


@pytest.mark.skipif(
    not VTEST.is_file() or not NANODET.is_file(), reason="needs vtest.avi and NanoDet"
)
def test_the_int8_model_is_written_checked_and_finds_the_people_float32_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "nanodet.onnx").symlink_to(NANODET)
    digest = hashlib.sha256(NANODET.read_bytes()).hexdigest()
    (cache / "nanodet.onnx.sha256").write_text(f"{digest}  nanodet.onnx\n")
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(cache))

    result = CliRunner().invoke(app, ["quantise", str(VTEST), "--frames", "6"])

    assert result.exit_code == 0, result.output
    written = cache / "nanodet-int8.onnx"
    recorded = (cache / "nanodet-int8.onnx.sha256").read_text().split()[0]
    assert recorded == hashlib.sha256(written.read_bytes()).hexdigest()
    assert "calibrated on 6 frames" in result.output
    graph = onnx.load(str(written)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    assert written.stat().st_size < NANODET.stat().st_size / 2  # int8 weights

    fp32 = build_detector(NanoDetConfig(model=NANODET))
    int8 = build_detector(NanoDetConfig(model=written))
    capture = cv2.VideoCapture(str(VTEST))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 250)  # between calibration frames
    ok, image = capture.read()
    capture.release()
    assert ok
    frame = np.asarray(image, dtype=np.uint8)
    reference, found = _confident(fp32.detect(frame)), _confident(int8.detect(frame))
    assert len(reference) >= 4
    matched = (sv.box_iou_batch(reference.xyxy, found.xyxy).max(axis=1) >= 0.5).sum()
    assert matched >= 0.8 * len(reference)
    assert abs(len(found) - len(reference)) <= 0.2 * len(reference)


def _confident(detections: sv.Detections) -> sv.Detections:
    """People the tracker would start a track for (its activation score, 0.35)."""
    assert detections.confidence is not None
    return detections.select(np.flatnonzero(detections.confidence >= 0.35))
