"""Object detectors for store cameras: ONNX models of the common families, one plugin each.

    detector = build_detector({"type": "nanodet", "model": "models/nanodet.onnx"})
    detections = detector.detect(frame)  # sv.Detections in frame pixels, persons only

`nanodet` is the default (`type` may be left out); `yolov8` (also YOLO11) and
`yolox` read user-supplied exports. A camera's YAML `model:` section validates as
`VideoModelConfig`, a union discriminated on `type`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field, ValidationError

from vigil.plugins import PluginNotFoundError
from vigil.video.detectors.base import Detector, ModelConfig, OnnxDetector, video_models
from vigil.video.detectors.coco import COCO_CLASSES
from vigil.video.detectors.nanodet import NanoDet, NanoDetConfig
from vigil.video.detectors.yolov8 import YoloV8, YoloV8Config
from vigil.video.detectors.yolox import Yolox, YoloxConfig
from vigil.video.errors import ModelError

DEFAULT_MODEL = "nanodet"

VideoModelConfig = Annotated[
    NanoDetConfig | YoloV8Config | YoloxConfig, Field(discriminator="type")
]
"""What a camera's `model:` section holds."""


def build_detector(config: ModelConfig | Mapping[str, object]) -> OnnxDetector:
    """The detector a config names, loaded and checked; `ModelError` says what is wrong.

    A mapping (from YAML) is validated against the named plugin's config first;
    without `type` it is the default, NanoDet.
    """
    name = (
        config.type if isinstance(config, ModelConfig) else str(config.get("type", DEFAULT_MODEL))
    )
    try:
        plugin = video_models.get(name)
    except PluginNotFoundError as error:
        raise ModelError(str(error)) from None
    validated = config if isinstance(config, ModelConfig) else _validate(plugin, name, config)
    if not isinstance(validated, plugin.config_model):
        raise ModelError(f"a {name} model needs a {plugin.config_model.__name__}")
    return plugin(validated)


def _validate(plugin: type[OnnxDetector], name: str, config: Mapping[str, object]) -> ModelConfig:
    try:
        return plugin.config_model.model_validate({"type": name, **config})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'model'}: {item['msg']}"
            for item in error.errors()
        )
        raise ModelError(f"video model {name}: {problems}") from None


__all__ = [
    "COCO_CLASSES",
    "DEFAULT_MODEL",
    "Detector",
    "ModelConfig",
    "NanoDet",
    "NanoDetConfig",
    "OnnxDetector",
    "VideoModelConfig",
    "YoloV8",
    "YoloV8Config",
    "Yolox",
    "YoloxConfig",
    "build_detector",
    "video_models",
]
