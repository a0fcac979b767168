"""The ONNX graph that the TensorFlow.js converter builds, with static shapes and types.

Op rules (`tfjs_ops`) read their inputs' shapes and constant values from it and add
nodes; constants become initializers only when a runtime node actually uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from vigil.video.errors import ModelConversionError
from vigil.video.tfjs_graph import TfjsNode

Array = npt.NDArray[Any]

_TF_DTYPES = {
    "DT_FLOAT": TensorProto.FLOAT,
    "DT_INT32": TensorProto.INT32,
    "DT_INT64": TensorProto.INT64,
    "DT_BOOL": TensorProto.BOOL,
}


def canonical(ref: str) -> str:
    """`node` and `node:0` name the same tensor; ONNX names are always `node:index`."""
    return ref if ":" in ref else f"{ref}:0"


def node_name(ref: str) -> str:
    """The node that makes tensor `ref` (`node:1` -> `node`)."""
    return ref.split(":", maxsplit=1)[0]


class Builder:
    """The ONNX graph under construction, with each tensor's static shape and element type."""

    def __init__(self, constants: Mapping[str, Array]) -> None:
        self.constants: dict[str, Array] = {canonical(k): v for k, v in constants.items()}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.types: dict[str, int] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, TensorProto] = {}
        self._names: set[str] = set()

    def const(self, ref: str) -> Array | None:
        """The value of a tensor known at conversion time, else None."""
        return self.constants.get(canonical(ref))

    def require_const(self, node: TfjsNode, index: int) -> Array:
        value = self.const(node.inputs[index])
        if value is None:
            raise ModelConversionError(
                f"node {node.name!r} ({node.op}): input {index} must be a constant"
            )
        return value

    def shape(self, ref: str) -> tuple[int, ...]:
        key = canonical(ref)
        value = self.constants.get(key)
        if value is not None:
            return tuple(int(d) for d in value.shape)
        if key not in self.shapes:
            raise ModelConversionError(f"no static shape known for tensor {key!r}")
        return self.shapes[key]

    def dtype(self, ref: str) -> int:
        key = canonical(ref)
        value = self.constants.get(key)
        if value is not None:
            return helper.np_dtype_to_tensor_dtype(value.dtype)
        return self.types.get(key, TensorProto.FLOAT)

    def value(self, ref: str) -> str:
        """The ONNX name of a tensor, turning a constant into an initializer on first use."""
        key = canonical(ref)
        value = self.constants.get(key)
        if value is not None and key not in self.initializers:
            self.initializers[key] = numpy_helper.from_array(value, key)
        return key

    def initializer(self, array: Array, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers[name] = numpy_helper.from_array(array, name)
        return name

    def fresh(self, hint: str) -> str:
        name, counter = hint, 0
        while name in self._names or name in self.initializers:
            counter += 1
            name = f"{hint}__{counter}"
        self._names.add(name)
        return name

    def add(self, op_type: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        self._names.update(outputs)
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attrs))

    def produce(self, node: TfjsNode, shape: tuple[int, ...], dtype: int, index: int = 0) -> str:
        """Record output `index` of `node` and return its ONNX name."""
        name = f"{node.name}:{index}"
        self.shapes[name] = shape
        self.types[name] = dtype
        self._names.add(name)
        return name

    def fold(self, node: TfjsNode, value: Array, index: int = 0) -> None:
        self.constants[f"{node.name}:{index}"] = value


def tf_dtype(node: TfjsNode, key: str) -> int:
    """The ONNX element type named by a `type` attribute such as `DstT`."""
    return tf_type(str(node.attrs.get(key, {}).get("type", "DT_FLOAT")), node.name)


def tf_type(name: str, where: str) -> int:
    """The ONNX element type for a TensorFlow one such as `DT_FLOAT`."""
    if name not in _TF_DTYPES:
        raise ModelConversionError(f"{where}: unsupported type {name}")
    return _TF_DTYPES[name]


def as_numpy_dtype(onnx_type: int) -> np.dtype[Any]:
    return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_type))
