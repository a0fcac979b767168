"""Tiny TensorFlow.js graph models written by the tests, and numpy references for their ops."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import onnxruntime as ort

Array = np.ndarray[Any, Any]


def attr_ints(*values: int) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


def attr_str(value: str) -> dict[str, Any]:
    return {"s": base64.b64encode(value.encode()).decode()}


def attr_strs(*values: str) -> dict[str, Any]:
    return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in values]}}


class TinyGraph:
    """Build a graph model's `model.json` and weight shard the way tfjs-converter lays them out."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.weights: list[dict[str, Any]] = []
        self.chunks: list[bytes] = []
        self.inputs: dict[str, Any] = {}

    def placeholder(self, name: str, shape: tuple[int, ...]) -> str:
        dims = {"dim": [{"size": str(d)} for d in shape]}
        self.nodes.append({"name": name, "op": "Placeholder", "attr": {"shape": {"shape": dims}}})
        self.inputs[f"{name}:0"] = {"name": f"{name}:0", "dtype": "DT_FLOAT", "tensorShape": dims}
        return name

    def const(self, name: str, value: Array, quantise: str | None = None) -> str:
        """A constant; `quantise` stores it as float16, uint8 or uint16 (min/scale)."""
        array = np.asarray(value)
        dtype = "int32" if array.dtype.kind in "iu" else "float32"
        entry: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": dtype}
        if quantise == "float16":
            data = array.astype("<f2").tobytes()
            entry["quantization"] = {"dtype": "float16"}
        elif quantise in ("uint8", "uint16"):
            minimum, maximum = float(array.min()), float(array.max())
            levels = 255 if quantise == "uint8" else 65535
            scale = (maximum - minimum) / levels or 1.0
            quantised = np.rint((array - minimum) / scale)
            data = quantised.astype("u1" if quantise == "uint8" else "<u2").tobytes()
            entry["quantization"] = {"dtype": quantise, "min": minimum, "scale": scale}
        else:
            data = array.astype("<i4" if dtype == "int32" else "<f4").tobytes()
        self.nodes.append({"name": name, "op": "Const", "attr": {}})
        self.weights.append(entry)
        self.chunks.append(data)
        return name

    def node(self, name: str, op: str, inputs: list[str], **attrs: Any) -> str:
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attrs})
        return name

    def build(self, *outputs: str, shard: str = "tiny.bin") -> tuple[bytes, dict[str, bytes]]:
        """(model.json bytes, {shard path: bytes}); the node list goes out in reverse order."""
        document = {
            "format": "graph-model",
            "signature": {
                "inputs": self.inputs,
                "outputs": {f"{o}:0": {"name": f"{o}:0", "dtype": "DT_FLOAT"} for o in outputs},
            },
            "modelTopology": {"node": list(reversed(self.nodes))},
            "weightsManifest": [{"paths": [shard], "weights": self.weights}],
        }
        return json.dumps(document).encode(), {shard: b"".join(self.chunks)}


def session(model: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run_onnx(model: bytes, feeds: dict[str, Array]) -> list[Array]:
    return [np.asarray(o) for o in session(model).run(None, feeds)]


def conv_nhwc(
    x: Array,
    w: Array,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int] = (1, 1),
    depthwise: bool = False,
) -> Array:
    """Reference convolution: NHWC input, HWIO filter (HWCM when depthwise), pads t/b/l/r."""
    top, bottom, left, right = pads
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw = w.shape[:2]
    (sh, sw), (dh, dw) = strides, dilations
    oh = (x.shape[1] - ((kh - 1) * dh + 1)) // sh + 1
    ow = (x.shape[2] - ((kw - 1) * dw + 1)) // sw + 1
    channels_out = w.shape[2] * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((x.shape[0], oh, ow, channels_out), dtype=np.float64)
    groups = 1 if depthwise else x.shape[3] // w.shape[2]
    per_group_in, per_group_out = w.shape[2], channels_out // groups
    for i in range(kh):
        for j in range(kw):
            patch = x[
                :,
                i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                j * dw : j * dw + sw * (ow - 1) + 1 : sw,
            ]
            if depthwise:
                out += (patch[..., :, None] * w[i, j]).reshape(out.shape)
                continue
            for g in range(groups):
                block = patch[..., g * per_group_in : (g + 1) * per_group_in]
                weights = w[i, j, :, g * per_group_out : (g + 1) * per_group_out]
                out[..., g * per_group_out : (g + 1) * per_group_out] += block @ weights
    return out.astype(np.float32)


def pool_nhwc(
    x: Array, size: int, stride: int, pads: tuple[int, int, int, int], kind: str
) -> Array:
    """Reference max/average pooling; padded cells are ignored (TensorFlow's SAME)."""
    top, bottom, left, right = pads
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=np.nan)
    oh = (padded.shape[1] - size) // stride + 1
    ow = (padded.shape[2] - size) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=np.float32)
    for r in range(oh):
        for c in range(ow):
            window = padded[:, r * stride : r * stride + size, c * stride : c * stride + size]
            out[:, r, c] = (
                np.nanmax(window, axis=(1, 2)) if kind == "max" else np.nanmean(window, axis=(1, 2))
            )
    return out


def _source(out_size: int, in_size: int, align: bool, half: bool) -> Array:
    scale = (in_size - 1) / (out_size - 1) if align and out_size > 1 else in_size / out_size
    positions = np.arange(out_size, dtype=np.float64)
    return (positions + 0.5) * scale - 0.5 if half else positions * scale


def resize_bilinear_tf(x: Array, size: tuple[int, int], align: bool, half: bool) -> Array:
    """TensorFlow's ResizeBilinear on NHWC, written out from its interpolation weights."""
    out = x.astype(np.float64)
    for axis, (out_size, in_size) in enumerate(zip(size, x.shape[1:3], strict=True), start=1):
        source = _source(out_size, in_size, align, half)
        floor = np.floor(source)
        lower = np.maximum(floor, 0).astype(int)
        upper = np.minimum(np.ceil(source), in_size - 1).astype(int)
        lerp = (source - floor).reshape([-1 if a == axis else 1 for a in range(4)])
        low, high = np.take(out, lower, axis=axis), np.take(out, upper, axis=axis)
        out = low + (high - low) * lerp
    return out.astype(np.float32)


def resize_nearest_tf(x: Array, size: tuple[int, int], align: bool, half: bool) -> Array:
    """TensorFlow's ResizeNearestNeighbor on NHWC."""
    out = x
    for axis, (out_size, in_size) in enumerate(zip(size, x.shape[1:3], strict=True), start=1):
        scale = (in_size - 1) / (out_size - 1) if align and out_size > 1 else in_size / out_size
        positions = np.arange(out_size, dtype=np.float64)
        if align:
            index = np.floor(positions * scale + 0.5)
        elif half:
            index = np.floor((positions + 0.5) * scale)
        else:
            index = np.floor(positions * scale)
        out = np.take(out, np.minimum(index, in_size - 1).astype(int), axis=axis)
    return out
