"""One rule per TensorFlow op: emit the ONNX nodes for it, or fold it when its inputs are known.

Rules register with `@rule("OpName", ...)`; an op without a rule stops the conversion with
`UnsupportedOpError` naming it. Spatial ops (convolution, pooling, resize) have their
rules in `tfjs_spatial`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from onnx import TensorProto

from vigil.video.errors import ModelConversionError, UnsupportedOpError
from vigil.video.onnx_builder import Builder, as_numpy_dtype, node_name, tf_dtype
from vigil.video.tfjs_graph import TfjsNode
from vigil.video.tfjs_spatial import RULES as SPATIAL_RULES

Array = npt.NDArray[Any]
Rule = Callable[[Builder, TfjsNode], None]
Fold = Callable[[TfjsNode, list[Array]], Array]

RULES: dict[str, Rule] = {}
FOLDS: dict[str, Fold] = {}


def rule(*ops: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        for op in ops:
            RULES[op] = function
        return function

    return register


def supported_ops() -> frozenset[str]:
    """Every op the converter can handle, folded-only ones included."""
    return frozenset(RULES) | frozenset(FOLDS)


def emit(builder: Builder, node: TfjsNode) -> None:
    """Fold `node` when all its inputs are constants and numpy can; else apply its rule."""
    values = [builder.const(ref) for ref in node.inputs]
    fold = FOLDS.get(node.op)
    if fold is not None and node.inputs and all(v is not None for v in values):
        builder.fold(node, np.asarray(fold(node, [v for v in values if v is not None])))
        return
    handler = RULES.get(node.op)
    if handler is None:
        if fold is not None:
            raise UnsupportedOpError(f"{node.op} (with inputs known only at run time)", node.name)
        raise UnsupportedOpError(node.op, node.name)
    handler(builder, node)


# Folds: constant sub-graphs (shape arithmetic) computed at conversion time.

_BINARY: dict[str, tuple[str, Callable[[Array, Array], Array]]] = {
    "Add": ("Add", np.add),
    "AddV2": ("Add", np.add),
    "Sub": ("Sub", np.subtract),
    "Mul": ("Mul", np.multiply),
    "RealDiv": ("Div", np.divide),
    "Maximum": ("Max", np.maximum),
    "Minimum": ("Min", np.minimum),
}


def _binary_fold(function: Callable[[Array, Array], Array]) -> Fold:
    def fold(node: TfjsNode, values: list[Array]) -> Array:
        return np.asarray(function(values[0], values[1])).astype(
            np.result_type(values[0], values[1])
        )

    return fold


for _op, (_, _function) in _BINARY.items():
    FOLDS[_op] = _binary_fold(_function)
FOLDS["Identity"] = lambda node, v: v[0]
FOLDS["Cast"] = lambda node, v: v[0].astype(as_numpy_dtype(tf_dtype(node, "DstT")))
FOLDS["Reshape"] = lambda node, v: v[0].reshape(tuple(int(d) for d in v[1].reshape(-1)))
FOLDS["Transpose"] = lambda node, v: np.transpose(v[0], tuple(int(p) for p in v[1]))
FOLDS["ConcatV2"] = lambda node, v: np.concatenate(v[:-1], axis=int(v[-1]))


def _sparse_to_dense(node: TfjsNode, v: list[Array]) -> Array:
    indices, shape_value, values, default = v
    shape = tuple(int(d) for d in shape_value.reshape(-1))
    dense = np.full(shape, default.reshape(()), dtype=values.dtype)
    rows = indices.astype(np.int64).reshape(-1, len(shape) if indices.ndim == 2 else 1)
    if rows.shape[1] != len(shape):
        raise ModelConversionError(f"node {node.name!r}: indices do not match shape {shape}")
    dense[tuple(rows.T)] = np.broadcast_to(values, (rows.shape[0],))
    return dense


FOLDS["SparseToDense"] = _sparse_to_dense


# Rules: ops that run in the ONNX graph.


@rule(*_BINARY, "BiasAdd")
def _binary(b: Builder, node: TfjsNode) -> None:
    left, right = node.inputs[0], node.inputs[1]
    runtime = left if b.const(left) is None else right
    dtype = b.dtype(runtime)
    names = [_operand(b, ref, dtype) for ref in (left, right)]
    shapes = [b.shape(left), b.shape(right)]
    if node.op == "BiasAdd" and node.attr_str("data_format", "NHWC") == "NCHW":
        bias = b.require_const(node, 1).reshape(-1, 1, 1).astype(as_numpy_dtype(dtype))
        names[1] = b.initializer(bias, f"{node.name}/bias")
        shapes[1] = bias.shape
    op_type = _BINARY[node.op][0] if node.op in _BINARY else "Add"
    try:
        shape = tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError as error:
        raise ModelConversionError(
            f"node {node.name!r}: shapes {shapes} do not broadcast"
        ) from error
    out = b.produce(node, shape, dtype)
    b.add(op_type, names, [out])


def _operand(b: Builder, ref: str, dtype: int) -> str:
    """A constant operand in the runtime operand's type (ONNX does not promote types)."""
    value = b.const(ref)
    if value is None or b.dtype(ref) == dtype:
        return b.value(ref)
    return b.initializer(value.astype(as_numpy_dtype(dtype)), f"{node_name(ref)}/cast")


def unary(b: Builder, node: TfjsNode, op_type: str, **attrs: Any) -> None:
    source = node.inputs[0]
    out = b.produce(node, b.shape(source), b.dtype(source))
    b.add(op_type, [b.value(source)], [out], **attrs)


_UNARY = {
    "Identity": "Identity",
    "Relu": "Relu",
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "Elu": "Elu",
}


@rule(*_UNARY)
def _plain_unary(b: Builder, node: TfjsNode) -> None:
    unary(b, node, _UNARY[node.op])


@rule("LeakyRelu")
def _leaky_relu(b: Builder, node: TfjsNode) -> None:
    unary(b, node, "LeakyRelu", alpha=node.attr_float("alpha", 0.2))


@rule("Softmax")
def _softmax(b: Builder, node: TfjsNode) -> None:
    unary(b, node, "Softmax", axis=-1)


@rule("Relu6")
def _relu6(b: Builder, node: TfjsNode) -> None:
    source = node.inputs[0]
    dtype = as_numpy_dtype(b.dtype(source))
    low = b.initializer(np.array(0, dtype=dtype), f"{node.name}/min")
    high = b.initializer(np.array(6, dtype=dtype), f"{node.name}/max")
    out = b.produce(node, b.shape(source), b.dtype(source))
    b.add("Clip", [b.value(source), low, high], [out])


@rule("Cast")
def _cast(b: Builder, node: TfjsNode) -> None:
    to = tf_dtype(node, "DstT")
    out = b.produce(node, b.shape(node.inputs[0]), to)
    b.add("Cast", [b.value(node.inputs[0])], [out], to=to)


@rule("Shape")
def _shape(b: Builder, node: TfjsNode) -> None:
    dtype = as_numpy_dtype(
        tf_dtype(node, "out_type") if node.has("out_type") else TensorProto.INT32
    )
    b.fold(node, np.array(b.shape(node.inputs[0]), dtype=dtype))


@rule("Reshape")
def _reshape(b: Builder, node: TfjsNode) -> None:
    source = node.inputs[0]
    wanted = [int(d) for d in b.require_const(node, 1).reshape(-1)]
    size = int(np.prod(b.shape(source), dtype=np.int64))
    known = int(np.prod([d for d in wanted if d != -1], dtype=np.int64))
    shape = tuple(size // known if d == -1 and known else d for d in wanted)
    if int(np.prod(shape, dtype=np.int64)) != size or wanted.count(-1) > 1:
        raise ModelConversionError(f"node {node.name!r}: cannot reshape {size} values to {wanted}")
    target = b.initializer(np.array(shape, dtype=np.int64), f"{node.name}/shape")
    out = b.produce(node, shape, b.dtype(source))
    b.add("Reshape", [b.value(source), target], [out])


@rule("Transpose")
def _transpose(b: Builder, node: TfjsNode) -> None:
    source = node.inputs[0]
    perm = [int(p) for p in b.require_const(node, 1).reshape(-1)]
    shape = b.shape(source)
    out = b.produce(node, tuple(shape[p] for p in perm), b.dtype(source))
    b.add("Transpose", [b.value(source)], [out], perm=perm)


@rule("ConcatV2")
def _concat(b: Builder, node: TfjsNode) -> None:
    parts = list(node.inputs[:-1])
    shapes = [b.shape(ref) for ref in parts]
    axis = int(b.require_const(node, len(node.inputs) - 1).reshape(()))
    axis = axis % len(shapes[0])
    shape = list(shapes[0])
    if any(len(s) != len(shape) or _without(s, axis) != _without(shape, axis) for s in shapes):
        raise ModelConversionError(f"node {node.name!r}: cannot concatenate {shapes} on {axis}")
    shape[axis] = sum(s[axis] for s in shapes)
    runtime = next((ref for ref in parts if b.const(ref) is None), parts[0])
    dtype = b.dtype(runtime)
    out = b.produce(node, tuple(shape), dtype)
    b.add("Concat", [_operand(b, ref, dtype) for ref in parts], [out], axis=axis)


def _without(shape: tuple[int, ...] | list[int], axis: int) -> list[int]:
    return [d for index, d in enumerate(shape) if index != axis]


@rule("Split", "SplitV")
def _split(b: Builder, node: TfjsNode) -> None:
    if node.op == "Split":
        source, axis_index = node.inputs[1], 0
    else:
        source, axis_index = node.inputs[0], 2
    shape = b.shape(source)
    axis = int(b.require_const(node, axis_index).reshape(())) % len(shape)
    if node.op == "Split":
        count = node.attr_int("num_split")
        if shape[axis] % count:
            raise ModelConversionError(
                f"node {node.name!r}: {shape[axis]} does not split by {count}"
            )
        sizes = [shape[axis] // count] * count
    else:
        sizes = [int(s) for s in b.require_const(node, 1).reshape(-1)]
        if -1 in sizes:
            sizes[sizes.index(-1)] = shape[axis] - sum(s for s in sizes if s != -1)
    outs = []
    for index, size in enumerate(sizes):
        part = list(shape)
        part[axis] = size
        outs.append(b.produce(node, tuple(part), b.dtype(source), index))
    split = b.initializer(np.array(sizes, dtype=np.int64), f"{node.name}/split")
    b.add("Split", [b.value(source), split], outs, axis=axis)


@rule("Pad", "PadV2")
def _pad(b: Builder, node: TfjsNode) -> None:
    source = node.inputs[0]
    paddings = b.require_const(node, 1).astype(np.int64).reshape(-1, 2)
    shape = b.shape(source)
    if paddings.shape[0] != len(shape) or (paddings < 0).any():
        raise ModelConversionError(f"node {node.name!r}: bad paddings {paddings.tolist()}")
    pads = b.initializer(np.concatenate([paddings[:, 0], paddings[:, 1]]), f"{node.name}/pads")
    inputs = [b.value(source), pads]
    if node.op == "PadV2":
        fill = b.require_const(node, 2).astype(as_numpy_dtype(b.dtype(source))).reshape(())
        inputs.append(b.initializer(fill, f"{node.name}/value"))
    out_shape = tuple(int(d + p.sum()) for d, p in zip(shape, paddings, strict=True))
    out = b.produce(node, out_shape, b.dtype(source))
    b.add("Pad", inputs, [out], mode="constant")


RULES.update(SPATIAL_RULES)
