"""Rules for TensorFlow's spatial ops: convolutions (plain, depthwise, fused), pooling, resize.

TensorFlow.js runs them on NHWC tensors, ONNX on NCHW: each rule wraps its ONNX node in a
transpose on the way in and on the way out (`onnx_tidy` removes the pairs that cancel), and
turns TensorFlow's `SAME`/`VALID`/`EXPLICIT` padding into explicit ONNX pads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.video.errors import ModelConversionError, UnsupportedOpError
from vigil.video.onnx_builder import Builder, as_numpy_dtype
from vigil.video.tfjs_graph import TfjsNode

Array = npt.NDArray[Any]
Rule = Callable[[Builder, TfjsNode], None]
RULES: dict[str, Rule] = {}

_CONVOLUTIONS = (
    "Conv2D",
    "_FusedConv2D",
    "DepthwiseConv2dNative",
    "DepthwiseConv2d",
    "FusedDepthwiseConv2dNative",
)
_ACTIVATIONS = {"Relu", "Relu6", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Prelu"}


@dataclass(frozen=True)
class Window:
    """Where a sliding window goes over an image: NCHW sizes, strides, dilations, pads."""

    nhwc: bool
    batch: int
    channels: int
    height: int
    width: int
    strides: tuple[int, int]
    dilations: tuple[int, int]

    def pads(self, node: TfjsNode, kernel: tuple[int, int]) -> list[int]:
        """ONNX pads `[top, left, bottom, right]` for TensorFlow's padding mode."""
        mode = node.attr_str("padding", "VALID")
        if mode == "VALID":
            return [0, 0, 0, 0]
        if mode == "EXPLICIT":
            given = node.attr_ints("explicit_paddings")
            top, bottom, left, right = given[2:6] if self.nhwc else given[4:8]
            return [top, left, bottom, right]
        if mode != "SAME":
            raise ModelConversionError(f"node {node.name!r}: unknown padding {mode!r}")
        befores, afters = [], []
        for size, k, s, d in zip(
            (self.height, self.width), kernel, self.strides, self.dilations, strict=True
        ):
            span = (k - 1) * d + 1
            total = max((math.ceil(size / s) - 1) * s + span - size, 0)
            befores.append(total // 2)
            afters.append(total - total // 2)
        return befores + afters

    def out_size(self, kernel: tuple[int, int], pads: list[int]) -> tuple[int, int]:
        sizes = []
        for axis, size in enumerate((self.height, self.width)):
            span = (kernel[axis] - 1) * self.dilations[axis] + 1
            sizes.append((size + pads[axis] + pads[axis + 2] - span) // self.strides[axis] + 1)
        return sizes[0], sizes[1]


def _window(b: Builder, node: TfjsNode) -> Window:
    nhwc = node.attr_str("data_format", "NHWC") in ("NHWC", "NDHWC")
    shape = b.shape(node.inputs[0])
    if len(shape) != 4:
        raise ModelConversionError(f"node {node.name!r}: expects a 4-D input, got {shape}")
    n, h, w, c = shape if nhwc else (shape[0], shape[2], shape[3], shape[1])
    strides = node.attr_ints("strides", (1, 1, 1, 1))
    dilations = node.attr_ints("dilations", (1, 1, 1, 1))
    pick = slice(1, 3) if nhwc else slice(2, 4)
    s, d = strides[pick], dilations[pick]
    return Window(nhwc, n, c, h, w, (s[0], s[1]), (d[0], d[1]))


def _wrap(
    b: Builder, node: TfjsNode, window: Window, out_channels: int, out_hw: tuple[int, int]
) -> tuple[str, str, str]:
    """(NCHW input, NCHW output, final output) names, adding the transposes NHWC needs."""
    source = node.inputs[0]
    dtype = b.dtype(source)
    if window.nhwc:
        nchw_in = b.fresh(f"{node.name}/nchw_in")
        b.add("Transpose", [b.value(source)], [nchw_in], perm=[0, 3, 1, 2])
        shape = (window.batch, *out_hw, out_channels)
        final = b.produce(node, shape, dtype)
        return nchw_in, b.fresh(f"{node.name}/nchw_out"), final
    final = b.produce(node, (window.batch, out_channels, *out_hw), dtype)
    return b.value(source), final, final


def _unwrap(b: Builder, window: Window, nchw_out: str, final: str) -> None:
    if window.nhwc:
        b.add("Transpose", [nchw_out], [final], perm=[0, 2, 3, 1])


def _conv(b: Builder, node: TfjsNode) -> None:
    window = _window(b, node)
    kernel = b.require_const(node, 1)
    if "Depthwise" in node.op:
        kh, kw, cin, multiplier = kernel.shape
        weight = kernel.transpose(2, 3, 0, 1).reshape(cin * multiplier, 1, kh, kw)
        group, out_channels, per_group = cin, cin * multiplier, 1
    else:
        kh, kw, cin, out_channels = kernel.shape
        weight = kernel.transpose(3, 2, 0, 1)
        group = window.channels // cin if cin else 0
        per_group = cin
    if cin == 0 or window.channels != per_group * group:
        raise ModelConversionError(
            f"node {node.name!r}: {window.channels} input channels, filter expects {cin}"
        )
    pads = window.pads(node, (kh, kw))
    out_hw = window.out_size((kh, kw), pads)
    nchw_in, nchw_out, final = _wrap(b, node, window, out_channels, out_hw)
    inputs = [nchw_in, b.initializer(np.ascontiguousarray(weight), f"{node.name}/weight")]
    fused = node.attr_strs("fused_ops") if node.op.startswith(("_Fused", "Fused")) else ()
    if fused and fused[0] == "BiasAdd":
        bias = b.require_const(node, 2).reshape(-1)
        inputs.append(b.initializer(bias, f"{node.name}/bias"))
        fused = fused[1:]
    conv_out = b.fresh(f"{node.name}/conv") if fused else nchw_out
    b.add(
        "Conv",
        inputs,
        [conv_out],
        kernel_shape=[kh, kw],
        strides=list(window.strides),
        dilations=list(window.dilations),
        pads=pads,
        group=group,
    )
    if len(fused) > 1 or (fused and fused[0] not in _ACTIVATIONS):
        raise UnsupportedOpError(f"{node.op} with fused ops {list(fused)}", node.name)
    if fused:
        _activate(b, node, fused[0], conv_out, nchw_out, out_channels)
    _unwrap(b, window, nchw_out, final)


for _op in _CONVOLUTIONS:
    RULES[_op] = _conv


def _activate(b: Builder, node: TfjsNode, kind: str, source: str, out: str, channels: int) -> None:
    """A fused activation applied to the NCHW convolution output."""
    dtype = as_numpy_dtype(b.dtype(node.inputs[0]))
    if kind == "Relu6":
        low = b.initializer(np.array(0, dtype=dtype), f"{node.name}/min")
        high = b.initializer(np.array(6, dtype=dtype), f"{node.name}/max")
        b.add("Clip", [source, low, high], [out])
    elif kind == "LeakyRelu":
        b.add("LeakyRelu", [source], [out], alpha=node.attr_float("leakyrelu_alpha", 0.2))
    elif kind == "Prelu":
        alpha = b.require_const(node, 3).astype(dtype)
        if alpha.size == channels:
            alpha = alpha.reshape(channels, 1, 1)
        b.add("PRelu", [source, b.initializer(alpha, f"{node.name}/alpha")], [out])
    else:
        b.add(kind, [source], [out])


def _pool(b: Builder, node: TfjsNode) -> None:
    window = _window(b, node)
    ksize = node.attr_ints("ksize")
    kernel = (ksize[1], ksize[2]) if window.nhwc else (ksize[2], ksize[3])
    pads = window.pads(node, kernel)
    out_hw = window.out_size(kernel, pads)
    nchw_in, nchw_out, final = _wrap(b, node, window, window.channels, out_hw)
    attrs: dict[str, Any] = {"kernel_shape": list(kernel), "strides": list(window.strides)}
    attrs["pads"] = pads
    if node.op == "MaxPool":
        b.add("MaxPool", [nchw_in], [nchw_out], **attrs)
    else:
        b.add("AveragePool", [nchw_in], [nchw_out], count_include_pad=0, **attrs)
    _unwrap(b, window, nchw_out, final)


RULES["MaxPool"] = _pool
RULES["AvgPool"] = _pool


def _resize(b: Builder, node: TfjsNode) -> None:
    """ResizeBilinear / ResizeNearestNeighbor on NHWC; `size` must be a constant."""
    window = _window(b, node)
    size = [int(s) for s in b.require_const(node, 1).reshape(-1)]
    if len(size) != 2:
        raise ModelConversionError(f"node {node.name!r}: size must have two values, not {size}")
    align = node.attr_bool("align_corners", False)
    half = node.attr_bool("half_pixel_centers", False)
    mode = "align_corners" if align else "half_pixel" if half else "asymmetric"
    attrs: dict[str, Any] = {"coordinate_transformation_mode": mode}
    if node.op == "ResizeBilinear":
        attrs["mode"] = "linear"
    else:
        attrs["mode"] = "nearest"
        attrs["nearest_mode"] = "round_prefer_ceil" if align or half else "floor"
    nchw_in, nchw_out, final = _wrap(b, node, window, window.channels, (size[0], size[1]))
    sizes = np.array([window.batch, window.channels, *size], dtype=np.int64)
    sizes_name = b.initializer(sizes, f"{node.name}/sizes")
    b.add("Resize", [nchw_in, "", "", sizes_name], [nchw_out], **attrs)
    _unwrap(b, window, nchw_out, final)


RULES["ResizeBilinear"] = _resize
RULES["ResizeNearestNeighbor"] = _resize
