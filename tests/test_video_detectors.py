"""Video detectors: each family's decoding on tiny ONNX models with known outputs, NanoDet on
real MOT17 frames, and the errors for bad models and bad frames."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from scipy.optimize import linear_sum_assignment
from supervision.detection.utils.iou_and_nms import box_iou_batch

import model_paths
from vigil.video.detectors import (
    COCO_CLASSES,
    Detector,
    NanoDetConfig,
    build_detector,
    video_models,
)
from vigil.video.detectors.geometry import Geometry, tile_origins
from vigil.video.errors import FrameError, ModelError
from vigil.video.mot import MotSequence, scored

NANODET = model_paths.nanodet()
MOT17 = model_paths.SHARED / "video" / "mot17-mini"
needs_shared = pytest.mark.skipif(
    not NANODET.is_file() or not MOT17.is_dir(), reason="needs shared/models and shared/video"
)
PERSON, CAR = COCO_CLASSES.index("person"), COCO_CLASSES.index("car")


def constant_model(path: Path, outputs: list[np.ndarray], side: int) -> Path:
    """An ONNX model with one 1 x 3 x side x side image input that returns `outputs` as they are."""
    nodes, infos = [], []
    for index, value in enumerate(outputs):
        name = f"out{index}"
        nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value)))
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, side, side])
    model = helper.make_model(
        helper.make_graph(nodes, "constant", [image], infos),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def frame(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


# --- YOLOv8 / YOLO11: [1, 4 + C, N], centred letterbox -----------------------------------


def yolov8_rows() -> np.ndarray:
    """Anchors as rows of cx, cy, w, h + 80 scores, in a 320 input (a 480 x 640 frame at 0.5,
    padded 40 above and below). Frame box (100, 120, 300, 400) is input (50, 100, 150, 240)."""
    rows = np.zeros((6, 84), dtype=np.float32)
    rows[0, :4] = (100, 170, 100, 140)
    rows[0, 4 + PERSON] = 0.9
    rows[1, :4] = (102, 172, 100, 140)  # the same person again, weaker: NMS drops it
    rows[1, 4 + PERSON] = 0.8
    rows[2, :4] = (250, 100, 60, 40)  # a car, not kept by default
    rows[2, 4 + CAR] = 0.95
    rows[3, :4] = (200, 200, 30, 60)  # a person below the threshold
    rows[3, 4 + PERSON] = 0.2
    return rows


@pytest.mark.parametrize("transposed", [False, True])
def test_yolov8_boxes_come_back_in_frame_pixels(tmp_path: Path, transposed: bool) -> None:
    rows = yolov8_rows()
    output = rows[None] if transposed else rows.T[None].copy()
    model = constant_model(tmp_path / "yolo.onnx", [output], 320)
    detector = build_detector({"type": "yolov8", "model": str(model), "confidence": 0.3})
    detections = detector.detect(frame(480, 640))
    assert isinstance(detector, Detector)
    np.testing.assert_allclose(detections.xyxy, [[100, 120, 300, 400]], atol=1e-3)
    np.testing.assert_allclose(detections.confidence, [0.9], atol=1e-6)
    assert detections.class_id.tolist() == [PERSON]
    assert detections.data["class_name"].tolist() == ["person"]


def test_yolov8_keeps_the_classes_asked_for(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "yolo.onnx", [yolov8_rows().T[None].copy()], 320)
    detector = build_detector(
        {"type": "yolov8", "model": str(model), "confidence": 0.3, "classes": ["person", "car"]}
    )
    detections = detector.detect(frame(480, 640))
    assert sorted(detections.data["class_name"].tolist()) == ["car", "person"]
    car = detections.xyxy[detections.class_id == CAR][0]
    np.testing.assert_allclose(car, [440, 80, 560, 160], atol=1e-3)


# --- YOLOX: [1, N, 5 + C], top-left letterbox, raw or decoded boxes ------------------------

YOLOX_SIDE = 64
"""Strides 8, 16, 32 on 64 x 64: 64 + 16 + 4 = 84 anchors."""


def yolox_output(decoded: bool) -> np.ndarray:
    """One person at anchor 26 (stride 8, cell x 2, y 3): input box centre (20, 30), size
    20 x 30, i.e. frame box (20, 30, 60, 90) in a 96 x 128 frame scaled by 0.5.

    Background anchors hold what a real export does: their cell centres when decoded,
    small offsets when raw.
    """
    cells, strides = [], []
    for stride in (8, 16, 32):
        side = YOLOX_SIDE // stride
        ys, xs = np.mgrid[0:side, 0:side]
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full(side * side, stride))
    cell, stride = np.concatenate(cells).astype(np.float32), np.concatenate(strides)[:, None]
    rows = np.zeros((len(cell), 85), dtype=np.float32)
    if decoded:
        rows[:, :2] = (cell + 0.5) * stride
        rows[:, 2:4] = stride
        rows[26, :4] = (20, 30, 20, 30)
    else:
        rows[:, :2] = 0.5
        rows[26, :4] = (20 / 8 - 2, 30 / 8 - 3, math.log(20 / 8), math.log(30 / 8))
    rows[26, 4] = 0.9  # objectness
    rows[26, 5 + PERSON] = 0.8
    return rows[None]


@pytest.mark.parametrize(
    ("decoded_export", "configured"),
    [(False, None), (True, None), (False, False), (True, True)],
    ids=["raw-detected", "decoded-detected", "raw-configured", "decoded-configured"],
)
def test_yolox_decodes_raw_and_decoded_exports(
    tmp_path: Path, decoded_export: bool, configured: bool | None
) -> None:
    model = constant_model(tmp_path / "yolox.onnx", [yolox_output(decoded_export)], YOLOX_SIDE)
    settings: dict[str, object] = {"type": "yolox", "model": str(model), "confidence": 0.3}
    if configured is not None:
        settings["decoded"] = configured
    detections = build_detector(settings).detect(frame(96, 128))
    np.testing.assert_allclose(detections.xyxy, [[20, 30, 60, 90]], atol=1e-3)
    np.testing.assert_allclose(detections.confidence, [0.72], atol=1e-6)  # 0.9 x 0.8


# --- NanoDet: six outputs matched to strides by shape, DFL ----------------------------------


def nanodet_outputs() -> list[np.ndarray]:
    """A 64 x 64 NanoDet: strides 8, 16, 32 have 64, 16, 4 anchors. One person at stride 16,
    cell (1, 2), anchor point (24, 40) with the cell-centre offset; distances (1, 2, 1, 1)
    bins x 16 give input box (8, 8, 40, 56). Outputs in a shuffled order."""
    scores = {n: np.zeros((1, n, 80), np.float32) for n in (64, 16, 4)}
    boxes = {n: np.zeros((1, n, 44), np.float32) for n in (64, 16, 4)}
    scores[16][0, 9, PERSON] = 0.8
    logits = np.zeros((4, 11), np.float32)
    logits[np.arange(4), [1, 2, 1, 1]] = 30.0  # softmax all but one-hot on these bins
    boxes[16][0, 9] = logits.ravel()
    return [boxes[16], scores[64], boxes[4], scores[16], boxes[64], scores[4]]


def test_nanodet_matches_outputs_by_shape_and_decodes_distances(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "nanodet.onnx", nanodet_outputs(), 64)
    detector = build_detector({"model": str(model), "confidence": 0.3})  # nanodet by default
    detections = detector.detect(frame(128, 256))  # stretched: x / 0.25, y / 0.5
    np.testing.assert_allclose(detections.xyxy, [[32, 16, 160, 112]], atol=1e-2)
    np.testing.assert_allclose(detections.confidence, [0.8], atol=1e-6)


def test_square_tiles_find_each_tile_s_person_in_frame_pixels(tmp_path: Path) -> None:
    """A 128 x 256 frame is two 128 squares at x 0 and 128; the constant model sees the same
    person (input (8, 8, 40, 56), frame-in-tile x 2) in each."""
    assert tile_origins(128, 256) == [(0, 0), (128, 0)]
    assert tile_origins(1080, 1920) == [(0, 0), (840, 0)]
    assert tile_origins(300, 100) == [(0, 0), (0, 100), (0, 200)]
    model = constant_model(tmp_path / "nanodet.onnx", nanodet_outputs(), 64)
    detector = build_detector({"model": str(model), "confidence": 0.3, "square_tiles": True})
    detections = detector.detect(frame(128, 256))
    boxes = sorted(detections.xyxy.tolist())
    np.testing.assert_allclose(boxes, [[16, 16, 80, 112], [144, 16, 208, 112]], atol=1e-2)


def test_letterbox_geometry_inverts_exactly() -> None:
    geometry = Geometry.letterbox((480, 640), (320, 320), centre=True)
    assert (geometry.pad_x, geometry.pad_y, geometry.scale_x) == (0, 40, 0.5)
    warped = geometry.warp(np.full((480, 640, 3), 7, np.uint8))
    assert warped.shape == (320, 320, 3)
    assert warped[0, 0, 0] == 114
    assert warped[160, 160, 0] == 7
    boxes = np.array([[50, 100, 150, 240]], np.float32)
    np.testing.assert_allclose(geometry.to_frame(boxes), [[100, 120, 300, 400]])


# --- The real model on real frames --------------------------------------------------------


VISIBLE = 0.5
"""A pedestrian counts as visible when at least half of it is (MOT17's visibility column)."""


@dataclass(frozen=True)
class Scene:
    """A MOT17 frame with the boxes to find and those that count neither way."""

    image: np.ndarray
    people: np.ndarray
    """Scored pedestrians (class 1, flag 1) at least half visible."""
    others: np.ndarray
    """Everyone else annotated: hidden pedestrians, static people, reflections, ..."""


@pytest.fixture(scope="module")
def mot17_scenes() -> list[Scene]:
    """The first and last frame of each mini sequence."""
    if not MOT17.is_dir():
        pytest.skip("needs shared/video")
    scenes = []
    for folder in sorted(MOT17.iterdir()):
        sequence = MotSequence.open(folder)
        for image in (sequence.images[0], sequence.images[-1]):
            truth = sequence.ground_truth.at(sequence.frame_number(image))
            wanted = scored(truth) & (truth.visibility >= VISIBLE)
            scenes.append(Scene(cv2.imread(str(image)), truth.xyxy[wanted], truth.xyxy[~wanted]))
    return scenes


@needs_shared
def test_nanodet_finds_most_visible_pedestrians_in_mot17(mot17_scenes: list[Scene]) -> None:
    """Measured on these 4 frames at score 0.35 on square tiles: recall 0.75 (54 of 72),
    precision 0.76 (a box on someone not to find is neither hit nor false alarm). On all 12
    frames: 0.78 and 0.79; the whole frame at once (416 x 416 of 1920 x 1080) finds 0.42."""
    detector = build_detector(
        {"model": str(NANODET), "confidence": 0.35, "square_tiles": True, "threads": 2}
    )
    hits = wanted = false_alarms = 0
    for scene in mot17_scenes:
        found = detector.detect(scene.image)
        assert set(found.data["class_name"].tolist()) <= {"person"}
        assert (found.xyxy >= 0).all()
        assert (found.xyxy[:, 2] <= scene.image.shape[1]).all()
        iou = box_iou_batch(scene.people, found.xyxy)
        rows, columns = linear_sum_assignment(-iou)
        matched = columns[iou[rows, columns] >= 0.5]
        spare = np.setdiff1d(np.arange(len(found)), matched)
        on_others = (box_iou_batch(found.xyxy[spare], scene.others) >= 0.5).any(axis=1)
        hits += len(matched)
        wanted += len(scene.people)
        false_alarms += len(spare) - int(on_others.sum())
    recall, precision = hits / wanted, hits / (hits + false_alarms)
    assert recall >= 0.65, f"recall {recall:.2f} ({hits} of {wanted})"
    assert precision >= 0.65, f"precision {precision:.2f}"


# --- Bad models, bad frames, bad configs ----------------------------------------------------


def test_a_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        build_detector({"model": str(tmp_path / "absent.onnx")})


def test_a_file_that_is_not_onnx_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load"):
        build_detector({"model": str(path)})


@pytest.mark.parametrize(
    ("family", "outputs"),
    [
        ("nanodet", [np.zeros((1, 7), np.float32)]),
        ("yolov8", [np.zeros((1, 10, 50), np.float32)]),
        ("yolox", [np.zeros((1, 84, 50), np.float32)]),
        ("yolox", [np.zeros((1, 83, 85), np.float32)]),  # anchors that no grid makes
    ],
)
def test_outputs_of_no_known_layout_are_a_model_error(
    tmp_path: Path, family: str, outputs: list[np.ndarray]
) -> None:
    model = constant_model(tmp_path / "odd.onnx", outputs, 64)
    with pytest.raises(ModelError, match=f"not the {family} layout"):
        build_detector({"type": family, "model": str(model)})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((32, 32), np.uint8), "H x W x 3"),
        (np.zeros((32, 32, 4), np.uint8), "H x W x 3"),
        (np.zeros((32, 32, 3), np.float32), "uint8"),
        ([[0, 0, 0]], "numpy array"),
    ],
    ids=["empty", "grey", "bgra", "float", "list"],
)
def test_frames_that_are_not_bgr_images_are_a_frame_error(
    tmp_path: Path, bad: object, message: str
) -> None:
    model = constant_model(tmp_path / "nanodet.onnx", nanodet_outputs(), 64)
    detector = build_detector({"model": str(model)})
    with pytest.raises(FrameError, match=message):
        detector.detect(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"type": "rcnn", "model": "m.onnx"}, "unknown video model 'rcnn'"),
        ({"model": "m.onnx", "classes": ["unicorn"]}, "not among the model's class_names"),
        ({"model": "m.onnx", "confidence": 2}, "confidence"),
        ({"model": "m.onnx", "colour": "red"}, "colour"),
    ],
)
def test_bad_configs_are_a_model_error(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build_detector(settings)


def test_every_family_is_registered_with_its_config() -> None:
    assert video_models.names() == ["nanodet", "yolov8", "yolox"]
    for name, plugin in video_models.items():
        assert plugin.config_model.model_fields["type"].default == name
    assert NanoDetConfig(model=Path("m.onnx")).classes == ("person",)
