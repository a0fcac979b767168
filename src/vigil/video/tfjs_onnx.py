"""Convert a TensorFlow.js graph model to ONNX with the `onnx` package alone (no TensorFlow).

The graph is walked once from its outputs; each op has a rule in `tfjs_ops` that emits
ONNX nodes and records the static shape of what it produces. Sub-graphs that only compute
constants (shape arithmetic such as SparseToDense + Add feeding a Reshape) are folded with
numpy first. TensorFlow's NHWC convolutions become NCHW ONNX ones wrapped in transposes,
which `onnx_tidy` then cancels against the graph's own layout transposes.

>>> onnx_bytes = convert_files(model_json, {"model.bin": weights}).serialised  # doctest: +SKIP
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import onnx
from onnx import helper

from vigil.video.errors import ModelConversionError
from vigil.video.onnx_builder import Builder, canonical, node_name, tf_type
from vigil.video.onnx_tidy import tidy
from vigil.video.tfjs_graph import TfjsGraph, TfjsNode, load_graph
from vigil.video.tfjs_ops import emit

CONVERTER_VERSION = "1"
"""Bumped whenever the ONNX this module writes for the same input changes."""
DEFAULT_OPSET = 17


def converter_id() -> str:
    """What to record in a manifest: this converter's version and the onnx package's."""
    return f"vigil.tfjs_onnx/{CONVERTER_VERSION} onnx/{onnx.__version__}"


@dataclass(frozen=True)
class Converted:
    """An ONNX model made from a graph model, with its serialised bytes."""

    model: onnx.ModelProto
    serialised: bytes


def convert_files(
    model_json: bytes, shards: Mapping[str, bytes], *, opset: int = DEFAULT_OPSET
) -> Converted:
    """Convert `model.json` bytes plus its weight shards (by the paths it names)."""
    model = convert(load_graph(model_json, shards), opset=opset)
    return Converted(model=model, serialised=model.SerializeToString(deterministic=True))


def convert(graph: TfjsGraph, *, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Build, tidy and check the ONNX model for `graph`; outputs keep the signature's order."""
    builder = Builder(graph.constants)
    inputs = []
    for spec in graph.inputs:
        if any(d < 0 for d in spec.shape):
            raise ModelConversionError(f"input {spec.name} has a dynamic shape {spec.shape}")
        builder.shapes[spec.name] = spec.shape
        builder.types[spec.name] = tf_type(spec.dtype, spec.name)
        inputs.append(
            helper.make_tensor_value_info(spec.name, builder.types[spec.name], spec.shape)
        )
    for node in _ordered(fuse_bias(graph)):
        if node.op not in ("Const", "Placeholder"):
            emit(builder, node)
    outputs = []
    for spec in graph.outputs:
        name = builder.value(spec.name)
        shape = builder.shape(name)
        if spec.shape and spec.shape != shape:
            raise ModelConversionError(
                f"output {spec.name}: signature says {spec.shape}, graph gives {shape}"
            )
        outputs.append(helper.make_tensor_value_info(name, builder.dtype(name), shape))
    nodes, initializers = tidy(builder.nodes, builder.initializers, [o.name for o in outputs])
    onnx_graph = helper.make_graph(nodes, "tfjs", inputs, outputs, initializer=initializers)
    model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="vigil.tfjs_onnx",
        producer_version=CONVERTER_VERSION,
    )
    model.ir_version = 8
    try:
        onnx.checker.check_model(model)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ModelConversionError(f"the converted model does not check: {error}") from error
    return model


def fuse_bias(graph: TfjsGraph) -> TfjsGraph:
    """Turn `Conv2D -> Add(bias)` into TensorFlow's own `_FusedConv2D` with a BiasAdd.

    The bias then goes into the ONNX Conv instead of a separate Add on the NHWC output,
    which would sit between the transposes that should cancel.
    """
    uses: dict[str, int] = {}
    for node in graph.nodes:
        for ref in node.inputs:
            uses[canonical(ref)] = uses.get(canonical(ref), 0) + 1
    by_name = {node.name: node for node in graph.nodes}
    fused: dict[str, TfjsNode] = {}
    absorbed: set[str] = set()
    for spec in graph.outputs:
        uses[spec.name] = uses.get(spec.name, 0) + 1
    for node in graph.nodes:
        conv = _bias_target(node, by_name, uses, graph)
        if conv is None:
            continue
        bias = node.inputs[1] if canonical(node.inputs[0]) == f"{conv.name}:0" else node.inputs[0]
        op = "FusedDepthwiseConv2dNative" if "Depthwise" in conv.op else "_FusedConv2D"
        attrs = dict(conv.attrs)
        attrs["fused_ops"] = {"list": {"s": [base64.b64encode(b"BiasAdd").decode()]}}
        fused[node.name] = TfjsNode(node.name, op, (*conv.inputs, bias), attrs)
        absorbed.add(conv.name)
    nodes = tuple(fused.get(node.name, node) for node in graph.nodes if node.name not in absorbed)
    return TfjsGraph(nodes, graph.constants, graph.inputs, graph.outputs)


def _bias_target(
    node: TfjsNode, by_name: dict[str, TfjsNode], uses: dict[str, int], graph: TfjsGraph
) -> TfjsNode | None:
    """The NHWC convolution that `node` adds a per-channel constant to, if it is one."""
    if node.op not in ("Add", "AddV2", "BiasAdd") or len(node.inputs) != 2:
        return None
    if node.op == "BiasAdd" and node.attr_str("data_format", "NHWC") != "NHWC":
        return None
    for conv_ref, bias_ref in (node.inputs, node.inputs[::-1]):
        conv = by_name.get(node_name(conv_ref))
        bias = graph.constants.get(node_name(bias_ref))
        if conv is None or bias is None or canonical(conv_ref) != f"{conv.name}:0":
            continue
        if conv.op not in ("Conv2D", "DepthwiseConv2dNative") or uses[canonical(conv_ref)] != 1:
            continue
        if conv.attr_str("data_format", "NHWC") != "NHWC":
            continue
        kernel = graph.constants.get(node_name(conv.inputs[1]))
        if kernel is None or kernel.ndim != 4:
            continue
        channels = kernel.shape[2] * kernel.shape[3] if "Depthwise" in conv.op else kernel.shape[3]
        if bias.ndim == 1 and bias.shape[0] == channels:
            return conv
    return None


def _ordered(graph: TfjsGraph) -> list[TfjsNode]:
    """The nodes the outputs depend on, each after its inputs (file order is not promised)."""
    by_name = {node.name: node for node in graph.nodes}
    done: set[str] = set()
    open_: set[str] = set()
    order: list[TfjsNode] = []
    stack: list[tuple[str, bool]] = [(node_name(o.name), False) for o in reversed(graph.outputs)]
    while stack:
        name, inputs_done = stack.pop()
        if name in done:
            continue
        node = by_name.get(name)
        if node is None:
            raise ModelConversionError(f"tensor {name!r} is used but no node makes it")
        if inputs_done:
            open_.discard(name)
            done.add(name)
            order.append(node)
            continue
        if name in open_:
            raise ModelConversionError(f"the graph has a cycle through node {name!r}")
        open_.add(name)
        stack.append((name, True))
        stack.extend((node_name(ref), False) for ref in reversed(node.inputs))
    return order
