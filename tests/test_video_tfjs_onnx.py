"""The TensorFlow.js -> ONNX converter, on tiny graphs the tests write, against numpy references."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import pytest

from tfjs_fixtures import (
    TinyGraph,
    attr_ints,
    attr_str,
    attr_strs,
    conv_nhwc,
    pool_nhwc,
    resize_bilinear_tf,
    resize_nearest_tf,
    run_onnx,
)
from vigil.video.errors import ModelConversionError, UnsupportedOpError
from vigil.video.tfjs_graph import load_graph
from vigil.video.tfjs_onnx import convert_files

RNG = np.random.default_rng(7)
NHWC = attr_str("NHWC")


def _random(*shape: int) -> np.ndarray[Any, Any]:
    return RNG.standard_normal(shape).astype(np.float32)


def _convert_and_run(graph: TinyGraph, outputs: list[str], x: np.ndarray[Any, Any]) -> list[Any]:
    model_json, shards = graph.build(*outputs)
    converted = convert_files(model_json, shards)
    return run_onnx(converted.serialised, {"x:0": x})


def test_nchw_conv_with_bias_matches_numpy_and_its_transposes_cancel() -> None:
    """The layout of the NanoDet graph: NCHW in, NHWC conv, bias Add, back to NCHW."""
    x, kernel, bias = _random(1, 3, 9, 9), _random(3, 3, 3, 4), _random(4)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("to_nhwc", np.array([0, 2, 3, 1], dtype=np.int32))
    g.const("to_nchw", np.array([0, 3, 1, 2], dtype=np.int32))
    g.const("kernel", kernel)
    g.const("bias", bias)
    g.node("t1", "Transpose", ["x", "to_nhwc"])
    strides = attr_ints(1, 2, 2, 1)
    g.node("conv", "Conv2D", ["t1", "kernel"], padding=attr_str("SAME"), strides=strides)
    g.node("biased", "Add", ["conv", "bias"])
    g.node("t2", "Transpose", ["biased", "to_nchw"])
    g.node("out", "LeakyRelu", ["t2"], alpha={"f": 0.1})
    model_json, shards = g.build("out")
    converted = convert_files(model_json, shards)
    (got,) = run_onnx(converted.serialised, {"x:0": x})
    # TensorFlow's SAME for 9 -> 5 with a 3x3 kernel at stride 2: one row/column each side.
    reference = conv_nhwc(x.transpose(0, 2, 3, 1), kernel, (2, 2), (1, 1, 1, 1)) + bias
    reference = reference.transpose(0, 3, 1, 2)
    reference = np.where(reference > 0, reference, 0.1 * reference)
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5)
    ops = [node.op_type for node in converted.model.graph.node]
    assert ops == ["Conv", "LeakyRelu"]


@pytest.mark.parametrize(
    ("op", "kernel_shape", "padding", "pads", "depthwise"),
    [
        ("Conv2D", (3, 3, 4, 6), "VALID", (0, 0, 0, 0), False),
        # SAME on 8 at stride 2: TensorFlow puts the odd padding row at the end.
        ("Conv2D", (3, 3, 4, 6), "SAME", (0, 1, 0, 1), False),
        ("Conv2D", (1, 1, 2, 6), "VALID", (0, 0, 0, 0), False),  # grouped: 4 channels, 2 groups
        ("DepthwiseConv2dNative", (3, 3, 4, 2), "SAME", (0, 1, 0, 1), True),
        ("DepthwiseConv2dNative", (3, 3, 4, 1), "VALID", (0, 0, 0, 0), True),
    ],
)
def test_nhwc_convolutions_match_numpy(
    op: str,
    kernel_shape: tuple[int, int, int, int],
    padding: str,
    pads: tuple[int, int, int, int],
    depthwise: bool,
) -> None:
    x, kernel = _random(1, 8, 8, 4), _random(*kernel_shape)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("kernel", kernel)
    strides = attr_ints(1, 2, 2, 1)
    g.node("out", op, ["x", "kernel"], padding=attr_str(padding), strides=strides, data_format=NHWC)
    (got,) = _convert_and_run(g, ["out"], x)
    reference = conv_nhwc(x, kernel, (2, 2), pads, depthwise=depthwise)
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("op", "activation", "function"),
    [
        ("_FusedConv2D", "Relu", lambda v: np.maximum(v, 0)),
        ("_FusedConv2D", "Relu6", lambda v: np.clip(v, 0, 6)),
        ("_FusedConv2D", "LeakyRelu", lambda v: np.where(v > 0, v, 0.3 * v)),
        ("FusedDepthwiseConv2dNative", "Sigmoid", lambda v: 1 / (1 + np.exp(-v))),
    ],
)
def test_fused_convolutions_apply_bias_and_activation(
    op: str, activation: str, function: Callable[[Any], Any]
) -> None:
    x = _random(1, 6, 6, 3) * 3
    depthwise = "Depthwise" in op
    kernel = _random(3, 3, 3, 2 if depthwise else 5)
    bias = _random(6 if depthwise else 5)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("kernel", kernel)
    g.const("bias", bias)
    g.node(
        "out",
        op,
        ["x", "kernel", "bias"],
        padding=attr_str("EXPLICIT"),
        explicit_paddings=attr_ints(0, 0, 1, 2, 2, 1, 0, 0),
        strides=attr_ints(1, 1, 1, 1),
        dilations=attr_ints(1, 2, 2, 1),
        fused_ops=attr_strs("BiasAdd", activation),
        num_args={"i": "1"},
        leakyrelu_alpha={"f": 0.3},
    )
    (got,) = _convert_and_run(g, ["out"], x)
    reference = conv_nhwc(x, kernel, (1, 1), (1, 2, 2, 1), (2, 2), depthwise=depthwise)
    np.testing.assert_allclose(got, function(reference + bias), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("op", "padding", "pads", "kind"),
    [
        ("MaxPool", "VALID", (0, 0, 0, 0), "max"),
        ("MaxPool", "SAME", (1, 1, 1, 1), "max"),
        ("AvgPool", "SAME", (1, 1, 1, 1), "mean"),
    ],
)
def test_pooling_matches_numpy(
    op: str, padding: str, pads: tuple[int, int, int, int], kind: str
) -> None:
    x = _random(1, 7, 7, 3)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    window = attr_ints(1, 3, 3, 1)
    g.node("out", op, ["x"], ksize=window, strides=attr_ints(1, 2, 2, 1), padding=attr_str(padding))
    (got,) = _convert_and_run(g, ["out"], x)
    np.testing.assert_allclose(got, pool_nhwc(x, 3, 2, pads, kind), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("align", "half"), [(False, True), (True, False), (False, False)])
@pytest.mark.parametrize("op", ["ResizeBilinear", "ResizeNearestNeighbor"])
def test_resize_matches_tensorflow_formulas(op: str, align: bool, half: bool) -> None:
    x = _random(1, 5, 4, 2)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("size", np.array([9, 7], dtype=np.int32))
    g.node("out", op, ["x", "size"], align_corners={"b": align}, half_pixel_centers={"b": half})
    (got,) = _convert_and_run(g, ["out"], x)
    reference = (resize_bilinear_tf if op == "ResizeBilinear" else resize_nearest_tf)(
        x, (9, 7), align, half
    )
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5)


def _sigmoid(v: Any) -> Any:
    return 1 / (1 + np.exp(-v))


def _softmax(v: Any) -> Any:
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    ("op", "attrs", "function"),
    [
        ("Relu", {}, lambda v: np.maximum(v, 0)),
        ("Relu6", {}, lambda v: np.clip(v, 0, 6)),
        ("LeakyRelu", {"alpha": {"f": 0.25}}, lambda v: np.where(v > 0, v, 0.25 * v)),
        ("Sigmoid", {}, _sigmoid),
        ("Tanh", {}, np.tanh),
        ("Elu", {}, lambda v: np.where(v > 0, v, np.exp(v) - 1)),
        ("Softmax", {}, _softmax),
        ("Identity", {}, lambda v: v),
    ],
)
def test_unary_ops_match_numpy(
    op: str, attrs: dict[str, Any], function: Callable[[Any], Any]
) -> None:
    x = _random(2, 3, 5) * 4
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.node("out", op, ["x"], **attrs)
    (got,) = _convert_and_run(g, ["out"], x)
    np.testing.assert_allclose(got, function(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("op", "function"),
    [
        ("Add", np.add),
        ("AddV2", np.add),
        ("BiasAdd", np.add),
        ("Sub", np.subtract),
        ("Mul", np.multiply),
        ("RealDiv", np.divide),
        ("Maximum", np.maximum),
        ("Minimum", np.minimum),
    ],
)
def test_binary_ops_broadcast_like_numpy(op: str, function: Callable[[Any, Any], Any]) -> None:
    x, other = _random(1, 4, 3, 5), _random(5) + 3
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("other", other)
    g.node("out", op, ["x", "other"])
    (got,) = _convert_and_run(g, ["out"], x)
    np.testing.assert_allclose(got, function(x, other), rtol=1e-6, atol=1e-6)


def test_shape_ops_and_constant_folding_match_numpy() -> None:
    """Pad/PadV2, Transpose, a Reshape whose shape is folded from SparseToDense + AddV2,
    SplitV and Split with their second outputs, ConcatV2, in the NanoDet head's style."""
    x = _random(1, 4, 3, 2)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("paddings", np.array([[0, 0], [0, 0], [1, 0], [0, 1]], dtype=np.int32))
    g.const("fill", np.array(-1.5, dtype=np.float32))
    g.node("padded", "PadV2", ["x", "paddings", "fill"])
    g.node("zero_padded", "Pad", ["padded", "paddings"])
    g.const("perm", np.array([0, 2, 3, 1], dtype=np.int32))
    g.node("nhwc", "Transpose", ["zero_padded", "perm"])
    # shape = base + SparseToDense(no indices) = [1, -1, 4]
    g.const("base", np.array([1, -1, 4], dtype=np.int32))
    g.const("where", np.zeros((0, 1), dtype=np.int32))
    g.const("dense_shape", np.array([3], dtype=np.int32))
    g.const("values", np.zeros((0,), dtype=np.int32))
    g.const("zeros", np.array(0, dtype=np.int32))
    g.node("sparse", "SparseToDense", ["where", "dense_shape", "values", "zeros"])
    g.node("shape", "AddV2", ["base", "sparse"])
    g.node("rows", "Reshape", ["nhwc", "shape"])
    g.const("sizes", np.array([1, -1], dtype=np.int32))
    g.const("last", np.array(-1, dtype=np.int32))
    g.node("parts", "SplitV", ["rows", "sizes", "last"], num_split={"i": "2"})
    g.node("scores", "Sigmoid", ["parts"])
    g.node("halves", "Split", ["last", "rows"], num_split={"i": "2"})
    g.node("joined", "ConcatV2", ["parts:1", "halves:1", "last"], N={"i": "2"})
    (scores, joined) = _convert_and_run(g, ["scores", "joined"], x)

    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 1)), constant_values=-1.5)
    padded = np.pad(padded, ((0, 0), (0, 0), (1, 0), (0, 1)))
    rows = padded.transpose(0, 2, 3, 1).reshape(1, -1, 4)
    np.testing.assert_allclose(scores, _sigmoid(rows[..., :1]), rtol=1e-6)
    np.testing.assert_array_equal(joined, np.concatenate([rows[..., 1:], rows[..., 2:]], axis=-1))


@pytest.mark.parametrize("quantise", [None, "float16", "uint8", "uint16"])
def test_weights_decode_plain_and_quantised(quantise: str | None) -> None:
    values = np.linspace(-2.0, 3.0, 24, dtype=np.float32).reshape(2, 3, 4)
    g = TinyGraph()
    g.const("w", values, quantise=quantise)
    g.const("ints", np.arange(5, dtype=np.int32))
    model_json, shards = g.build("w")
    constants = load_graph(model_json, shards).constants
    if quantise == "float16":
        expected = values.astype(np.float16).astype(np.float32)
    elif quantise in ("uint8", "uint16"):
        levels = 255 if quantise == "uint8" else 65535
        scale = np.float32(5.0 / levels)
        expected = np.rint((values + 2.0) / (5.0 / levels)).astype(np.float32) * scale + np.float32(
            -2
        )
    else:
        expected = values
    assert constants["w"].dtype == np.float32
    np.testing.assert_allclose(constants["w"], expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(constants["ints"], np.arange(5))


def test_outputs_keep_the_signature_order_and_static_shapes() -> None:
    x = _random(1, 2, 6)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.const("two", np.array(2.0, dtype=np.float32))
    g.node("small", "Sigmoid", ["x"])
    g.node("large", "Mul", ["x", "two"])
    model_json, shards = g.build("large", "small")
    model = convert_files(model_json, shards).model
    outputs = [
        (o.name, [d.dim_value for d in o.type.tensor_type.shape.dim]) for o in model.graph.output
    ]
    assert outputs == [("large:0", [1, 2, 6]), ("small:0", [1, 2, 6])]
    assert model.opset_import[0].version == 17
    onnx.checker.check_model(model)


def test_an_unsupported_op_is_named() -> None:
    g = TinyGraph()
    g.placeholder("x", (1, 4))
    g.node("out", "Einsum", ["x", "x"], equation=attr_str("ij,ij->i"))
    model_json, shards = g.build("out")
    with pytest.raises(UnsupportedOpError, match="Einsum") as caught:
        convert_files(model_json, shards)
    assert caught.value.op == "Einsum"
    assert caught.value.node == "out"


def test_an_unsupported_fused_op_is_named() -> None:
    g = TinyGraph()
    g.placeholder("x", (1, 4, 4, 2))
    g.const("kernel", _random(1, 1, 2, 2))
    g.const("bias", _random(2))
    fused = attr_strs("BiasAdd", "Swish")
    g.node(
        "out", "_FusedConv2D", ["x", "kernel", "bias"], padding=attr_str("VALID"), fused_ops=fused
    )
    model_json, shards = g.build("out")
    with pytest.raises(UnsupportedOpError, match="Swish"):
        convert_files(model_json, shards)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda j, s: (b"{not json", s), "not JSON"),
        (lambda j, s: (j, {}), "not supplied"),
        (lambda j, s: (j, {"tiny.bin": s["tiny.bin"][:-4]}), "runs past the end"),
        (lambda j, s: (j, {"tiny.bin": s["tiny.bin"] + b"\0\0\0\0"}), "manifest describes"),
        (
            lambda j, s: (j.replace(b'"graph-model"', b'"layers-model"'), s),
            "not a TensorFlow.js graph",
        ),
        (lambda j, s: (j.replace(b'"float32"', b'"complex64"'), s), "unsupported dtype"),
    ],
)
def test_bad_files_give_clear_errors(
    mutate: Callable[[bytes, dict[str, bytes]], Any], message: str
) -> None:
    g = TinyGraph()
    g.placeholder("x", (1, 3))
    g.const("w", _random(3))
    g.node("out", "Add", ["x", "w"])
    model_json, shards = mutate(*g.build("out"))
    with pytest.raises(ModelConversionError, match=message):
        convert_files(model_json, shards)


def test_a_graph_output_nothing_makes_is_an_error() -> None:
    g = TinyGraph()
    g.placeholder("x", (1, 3))
    g.node("out", "Relu", ["missing"])
    model_json, shards = g.build("out")
    with pytest.raises(ModelConversionError, match="no node makes it"):
        convert_files(model_json, shards)


def test_an_op_that_only_folds_is_named_when_its_input_is_not_constant() -> None:
    g = TinyGraph()
    g.placeholder("x", (3,))
    g.const("shape", np.array([3], dtype=np.int32))
    g.const("zero", np.array(0.0, dtype=np.float32))
    g.node("out", "SparseToDense", ["x", "shape", "x", "zero"])
    model_json, shards = g.build("out")
    with pytest.raises(UnsupportedOpError, match="SparseToDense"):
        convert_files(model_json, shards)


def test_without_a_signature_placeholders_and_unused_nodes_are_the_interface() -> None:
    x = _random(1, 3)
    g = TinyGraph()
    g.placeholder("x", x.shape)
    g.node("out", "Relu", ["x"])
    model_json, shards = g.build("out")
    document = json.loads(model_json)
    del document["signature"]
    converted = convert_files(json.dumps(document).encode(), shards)
    (got,) = run_onnx(converted.serialised, {"x:0": x})
    np.testing.assert_array_equal(got, np.maximum(x, 0))
