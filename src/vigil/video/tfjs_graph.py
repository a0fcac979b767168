"""Read a TensorFlow.js graph model (`model.json` + weight shards) into typed nodes and arrays.

Only the parts a converter needs: the node list with decoded attributes, the constant
tensors (float32, int32, bool; quantised uint8/uint16 with min/scale, or float16), and the
signature's inputs and outputs in their declared order. No TensorFlow is involved.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from vigil.video.errors import ModelConversionError

Array = npt.NDArray[Any]
_T = TypeVar("_T")

_PLAIN_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("bool"),
}
_QUANTISED_DTYPES: dict[str, np.dtype[Any]] = {
    "uint8": np.dtype("u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}


@dataclass(frozen=True)
class TfjsNode:
    """One graph node: its TensorFlow op name, input references and raw attributes."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.attrs

    def attr_int(self, key: str, default: int | None = None) -> int:
        value = self.attrs.get(key, {}).get("i")
        return self._or_default(key, None if value is None else int(value), default)

    def attr_float(self, key: str, default: float | None = None) -> float:
        value = self.attrs.get(key, {}).get("f")
        return self._or_default(key, None if value is None else float(value), default)

    def attr_bool(self, key: str, default: bool | None = None) -> bool:
        value = self.attrs.get(key, {}).get("b")
        return self._or_default(key, None if value is None else bool(value), default)

    def attr_str(self, key: str, default: str | None = None) -> str:
        value = self.attrs.get(key, {}).get("s")
        decoded = None if value is None else base64.b64decode(value).decode("utf-8")
        return self._or_default(key, decoded, default)

    def attr_ints(self, key: str, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
        values = self.attrs.get(key, {}).get("list", {}).get("i")
        parsed = None if values is None else tuple(int(v) for v in values)
        return self._or_default(key, parsed, default)

    def attr_strs(self, key: str) -> tuple[str, ...]:
        values = self.attrs.get(key, {}).get("list", {}).get("s", [])
        return tuple(base64.b64decode(v).decode("utf-8") for v in values)

    def _or_default(self, key: str, value: _T | None, default: _T | None) -> _T:
        if value is not None:
            return value
        if default is None:
            raise ModelConversionError(f"node {self.name!r} ({self.op}) lacks attribute {key!r}")
        return default


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: its tensor name (`name:0`) and static shape where known."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "DT_FLOAT"


@dataclass(frozen=True)
class TfjsGraph:
    """A parsed graph model: nodes in file order, constants by node name, inputs, outputs."""

    nodes: tuple[TfjsNode, ...]
    constants: Mapping[str, Array]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def load_graph(model_json: bytes, shards: Mapping[str, bytes]) -> TfjsGraph:
    """Parse `model.json` bytes; `shards` maps each weights path named in it to its bytes."""
    try:
        document = json.loads(model_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelConversionError(f"model.json is not JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") not in ("graph-model", None):
        raise ModelConversionError("model.json is not a TensorFlow.js graph model")
    topology = document.get("modelTopology")
    if not isinstance(topology, dict) or not isinstance(topology.get("node"), list):
        raise ModelConversionError("model.json has no modelTopology.node list")
    nodes = tuple(_node(raw) for raw in topology["node"])
    constants = _weights(document.get("weightsManifest", []), shards)
    missing = [n.name for n in nodes if n.op == "Const" and n.name not in constants]
    if missing:
        raise ModelConversionError(f"constants without weights: {', '.join(missing[:5])}")
    signature = document.get("signature") or {}
    inputs = _specs(signature.get("inputs"), nodes, "Placeholder")
    outputs = _specs(signature.get("outputs"), nodes, None)
    return TfjsGraph(nodes=nodes, constants=constants, inputs=inputs, outputs=outputs)


def _node(raw: Any) -> TfjsNode:
    if not isinstance(raw, dict) or "name" not in raw or "op" not in raw:
        raise ModelConversionError(f"malformed node in model.json: {str(raw)[:80]}")
    inputs = tuple(str(i) for i in raw.get("input", []) if not str(i).startswith("^"))
    return TfjsNode(
        name=str(raw["name"]), op=str(raw["op"]), inputs=inputs, attrs=raw.get("attr", {})
    )


def _specs(declared: Any, nodes: tuple[TfjsNode, ...], op: str | None) -> tuple[TensorSpec, ...]:
    """Signature entries in their declared order; without a signature, infer from the nodes."""
    if isinstance(declared, dict) and declared:
        return tuple(_spec(str(key), value) for key, value in declared.items())
    if op == "Placeholder":
        return tuple(
            TensorSpec(
                f"{n.name}:0",
                _shape_dims(n.attrs.get("shape", {}).get("shape", {})),
                str(n.attrs.get("dtype", {}).get("type", "DT_FLOAT")),
            )
            for n in nodes
            if n.op == "Placeholder"
        )
    consumed = {ref.split(":", maxsplit=1)[0] for n in nodes for ref in n.inputs}
    return tuple(
        TensorSpec(f"{n.name}:0", ()) for n in nodes if n.name not in consumed and n.op != "Const"
    )


def _spec(key: str, value: Any) -> TensorSpec:
    name = str(value.get("name", key)) if isinstance(value, dict) else key
    if not isinstance(value, dict):
        return TensorSpec(name if ":" in name else f"{name}:0", ())
    shape = _shape_dims(value.get("tensorShape", {}))
    dtype = str(value.get("dtype", "DT_FLOAT"))
    return TensorSpec(name if ":" in name else f"{name}:0", shape, dtype)


def _shape_dims(shape: Any) -> tuple[int, ...]:
    return tuple(int(d.get("size", -1)) for d in shape.get("dim", []))


def _weights(manifest: Any, shards: Mapping[str, bytes]) -> dict[str, Array]:
    """Decode every weight group: its shards concatenated, entries laid end to end."""
    constants: dict[str, Array] = {}
    for group in manifest:
        paths = [str(p) for p in group.get("paths", [])]
        absent = [p for p in paths if p not in shards]
        if absent:
            raise ModelConversionError(f"weights file(s) not supplied: {', '.join(absent)}")
        buffer = b"".join(shards[p] for p in paths)
        offset = 0
        for entry in group.get("weights", []):
            array, size = _decode(entry, buffer, offset)
            constants[str(entry["name"])] = array
            offset += size
        if offset != len(buffer):
            raise ModelConversionError(
                f"weights {', '.join(paths)}: {len(buffer)} bytes, manifest describes {offset}"
            )
    return constants


def _decode(entry: Mapping[str, Any], buffer: bytes, offset: int) -> tuple[Array, int]:
    name = entry.get("name", "?")
    shape = tuple(int(d) for d in entry.get("shape", []))
    count = int(np.prod(shape, dtype=np.int64))
    dtype_name = str(entry.get("dtype"))
    if dtype_name not in _PLAIN_DTYPES:
        raise ModelConversionError(f"weight {name!r}: unsupported dtype {dtype_name!r}")
    quantisation = entry.get("quantization")
    stored = _PLAIN_DTYPES[dtype_name]
    if quantisation:
        stored_name = str(quantisation.get("dtype"))
        if stored_name not in _QUANTISED_DTYPES:
            raise ModelConversionError(f"weight {name!r}: unsupported quantisation {stored_name!r}")
        stored = _QUANTISED_DTYPES[stored_name]
    size = count * stored.itemsize
    if offset + size > len(buffer):
        raise ModelConversionError(f"weight {name!r} runs past the end of the weights data")
    raw = np.frombuffer(buffer, dtype=stored, count=count, offset=offset).reshape(shape)
    if not quantisation:
        return raw.copy(), size
    if stored == np.dtype("<f2"):
        values = raw.astype(np.float32)
    else:
        scale = float(quantisation.get("scale", 1.0))
        minimum = float(quantisation.get("min", 0.0))
        values = (raw.astype(np.float32) * np.float32(scale) + np.float32(minimum)).astype(
            np.float32
        )
    if dtype_name == "int32":
        return np.rint(values).astype(np.int32), size
    return values.astype(_PLAIN_DTYPES[dtype_name]), size
