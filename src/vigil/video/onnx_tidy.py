"""Tidy a freshly built ONNX graph: cancel back-to-back transposes, drop what nothing uses.

The TensorFlow.js converter wraps every NHWC convolution in NHWC<->NCHW transposes, and
graphs exported from PyTorch through TensorFlow already carry the opposite ones, so most
pairs compose to the identity and vanish. Graph outputs keep their names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from onnx import NodeProto, TensorProto, helper


def tidy(
    nodes: Sequence[NodeProto], initializers: Mapping[str, TensorProto], outputs: Sequence[str]
) -> tuple[list[NodeProto], list[TensorProto]]:
    """Return the tidied nodes (in their order) and the initializers still used."""
    kept = _drop_unused(_merge_transposes(nodes, set(outputs)), set(outputs))
    used = {name for node in kept for name in node.input} | set(outputs)
    return kept, [tensor for name, tensor in initializers.items() if name in used]


def _perm(node: NodeProto) -> list[int]:
    for attribute in node.attribute:
        if attribute.name == "perm":
            return list(attribute.ints)
    return []


def _merge_transposes(nodes: Sequence[NodeProto], outputs: set[str]) -> list[NodeProto]:
    """Fold each Transpose fed by a Transpose into one (or none, when they cancel)."""
    producer: dict[str, NodeProto] = {}
    alias: dict[str, str] = {}
    result: list[NodeProto] = []
    for original in nodes:
        node = NodeProto()
        node.CopyFrom(original)
        for index, name in enumerate(node.input):
            node.input[index] = alias.get(name, name)
        before = producer.get(node.input[0]) if node.input else None
        if node.op_type == "Transpose" and before is not None and before.op_type == "Transpose":
            first, second = _perm(before), _perm(node)
            composed = [first[axis] for axis in second]
            out = node.output[0]
            if composed == sorted(composed) and out not in outputs:
                alias[out] = before.input[0]
                continue
            node = (
                helper.make_node("Identity", [before.input[0]], [out], name=node.name)
                if composed == sorted(composed)
                else helper.make_node(
                    "Transpose", [before.input[0]], [out], name=node.name, perm=composed
                )
            )
        for name in node.output:
            producer[name] = node
        result.append(node)
    return result


def _drop_unused(nodes: list[NodeProto], outputs: set[str]) -> list[NodeProto]:
    """Remove nodes none of whose outputs is used, working back from the end."""
    needed = set(outputs)
    kept: list[NodeProto] = []
    for node in reversed(nodes):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    kept.reverse()
    return kept
