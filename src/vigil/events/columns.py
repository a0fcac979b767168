"""Events as columns: the flattened Arrow schema of each class, and the codec.

Nested OCSF objects become dotted column names (`src_endpoint.ip`); arrays of
objects stay one column of `list<struct>`; free-form objects (`unmapped`,
evidence `data`) are JSON text. The schema is derived from the typed model, so
the two cannot drift apart.

`to_table` and `from_table` convert at the edges (validation, tests, export):
they walk each event in Python. The hot path builds and filters Arrow tables
directly and never goes through models.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ValidationError

from vigil.events.base import OcsfEvent
from vigil.events.errors import InvalidEventError, SchemaMismatchError
from vigil.events.types import JsonColumn

Kind = Literal["scalar", "enum", "json", "model", "list"]

TIMESTAMP = pa.timestamp("ms", tz="UTC")
_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    datetime: TIMESTAMP,
}


@dataclass(frozen=True)
class FieldNode:
    """One attribute of a model, with its Arrow type and how to convert it."""

    name: str
    attr: str
    kind: Kind
    arrow_type: pa.DataType
    required: bool
    description: str | None = None
    model: type[BaseModel] | None = None
    children: tuple[FieldNode, ...] = ()
    item: FieldNode | None = None


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        return args[0], True
    return annotation, False


def _node(
    name: str,
    attr: str,
    annotation: Any,
    metadata: Sequence[Any],
    required: bool,
    description: str | None,
) -> FieldNode:
    annotation, _ = _strip_optional(annotation)
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        return _node(name, attr, base, [*metadata, *extra], required, description)
    if any(isinstance(item, JsonColumn) for item in metadata):
        return FieldNode(name, attr, "json", pa.string(), required, description)
    if get_origin(annotation) is list:
        (item_type,) = get_args(annotation)
        item = _node(name, attr, item_type, (), True, None)
        return FieldNode(
            name, attr, "list", pa.list_(item.arrow_type), required, description, item=item
        )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        children = model_nodes(annotation)
        struct = pa.struct([pa.field(c.name, c.arrow_type, nullable=True) for c in children])
        return FieldNode(name, attr, "model", struct, required, description, annotation, children)
    if isinstance(annotation, type) and issubclass(annotation, IntEnum):
        return FieldNode(name, attr, "enum", pa.int64(), required, description)
    if annotation in _SCALARS:
        return FieldNode(name, attr, "scalar", _SCALARS[annotation], required, description)
    raise TypeError(f"no column type for {name}: {annotation!r}")


@cache
def model_nodes(model: type[BaseModel]) -> tuple[FieldNode, ...]:
    """The attribute tree of a model class."""
    return tuple(
        _node(
            info.alias or attr,
            attr,
            info.annotation,
            info.metadata,
            info.is_required(),
            info.description,
        )
        for attr, info in model.model_fields.items()
    )


def _leaves(nodes: Iterable[FieldNode], prefix: str = "") -> Iterable[tuple[str, FieldNode]]:
    for node in nodes:
        path = f"{prefix}{node.name}"
        if node.kind == "model":
            yield from _leaves(node.children, f"{path}.")
        else:
            yield path, node


def columns(event_class: type[OcsfEvent]) -> list[tuple[str, FieldNode]]:
    """Every column of a class, as (dotted name, node), in schema order."""
    return list(_leaves(model_nodes(event_class)))


@cache
def arrow_schema(event_class: type[OcsfEvent]) -> pa.Schema:
    """The flattened Arrow schema of an event class."""
    fields = [pa.field(path, node.arrow_type, nullable=True) for path, node in columns(event_class)]
    metadata = {
        "ocsf.class_uid": str(event_class.CLASS_UID),
        "ocsf.class_name": event_class.CLASS_NAME,
    }
    return pa.schema(fields, metadata=metadata)


@cache
def polars_schema(event_class: type[OcsfEvent]) -> pl.Schema:
    """The same columns as polars types: what rules, replay and Sigma compile against."""
    empty = pl.from_arrow(arrow_schema(event_class).empty_table())
    if not isinstance(empty, pl.DataFrame):  # pragma: no cover - a table gives a frame
        raise TypeError("expected a table")
    return empty.schema


def _item(node: FieldNode) -> FieldNode:
    if node.item is None:
        raise TypeError(f"list field {node.name} has no item type")
    return node.item


def _to_arrow(value: Any, node: FieldNode) -> Any:
    if value is None:
        return None
    if node.kind == "model":
        return {child.name: _to_arrow(getattr(value, child.attr), child) for child in node.children}
    if node.kind == "list":
        return [_to_arrow(entry, _item(node)) for entry in value]
    if node.kind == "json":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if node.kind == "enum":
        return int(value)
    return value


def _from_arrow(value: Any, node: FieldNode) -> Any:
    if value is None:
        return None
    if node.kind == "model":
        out = {}
        for child in node.children:
            converted = _from_arrow(value.get(child.name), child)
            if converted is not None:
                out[child.name] = converted
        return out if node.required else out or None
    if node.kind == "list":
        return [_from_arrow(entry, _item(node)) for entry in value]
    if node.kind == "json":
        return json.loads(value)
    return value


def _root(event_class: type[OcsfEvent]) -> FieldNode:
    children = model_nodes(event_class)
    struct = pa.struct([pa.field(c.name, c.arrow_type) for c in children])
    return FieldNode("", "", "model", struct, True, None, event_class, children)


def _flatten(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    return table


def to_table(events: Sequence[OcsfEvent], event_class: type[OcsfEvent]) -> pa.Table:
    """Columns of a list of events of one class (an empty list gives an empty table)."""
    root = _root(event_class)
    for index, event in enumerate(events):
        if type(event) is not event_class:
            raise InvalidEventError(
                f"event {index} is {type(event).__name__}, not {event_class.__name__}", index
            )
    rows = [_to_arrow(event, root) for event in events]
    struct_array = pa.array(rows, type=root.arrow_type)
    table = _flatten(pa.Table.from_struct_array(struct_array))
    return table.replace_schema_metadata(arrow_schema(event_class).metadata)


def conform(table: pa.Table, event_class: type[OcsfEvent]) -> pa.Table:
    """Order, cast and complete a table's columns to the class schema.

    Missing columns become nulls; a column the class does not have is an error,
    so that nothing is dropped silently.
    """
    schema = arrow_schema(event_class)
    unknown = [name for name in table.column_names if name not in schema.names]
    if unknown:
        raise SchemaMismatchError(
            f"columns not in {event_class.CLASS_NAME}: {', '.join(sorted(unknown))}"
        )
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if column.type != field.type:
                try:
                    column = column.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                    raise SchemaMismatchError(
                        f"column {field.name} is {column.type}, expected {field.type}: {error}"
                    ) from error
            arrays.append(column)
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


REQUIRED_COLUMNS = ("time", "activity_id", "metadata.product.name")


def complete_identity(table: pa.Table, event_class: type[OcsfEvent]) -> pa.Table:
    """Check the columns every event needs; fill class, category and type uids.

    Batches built as columns (parsers, the simulator) skip the model, so this is
    where a missing time or activity is caught rather than stored.
    """
    for name in REQUIRED_COLUMNS:
        missing = table.column(name).null_count
        if missing:
            raise SchemaMismatchError(
                f"{missing} row(s) of {event_class.CLASS_NAME} have no {name}"
            )
    class_uid = pc.fill_null(table.column("class_uid"), event_class.CLASS_UID)
    category_uid = pc.fill_null(table.column("category_uid"), event_class.CATEGORY_UID)
    wrong = pc.sum(pc.not_equal(class_uid, event_class.CLASS_UID)).as_py()
    if wrong:
        raise SchemaMismatchError(
            f"{wrong} row(s) have a class_uid other than {event_class.CLASS_UID}"
        )
    type_uid = pc.fill_null(
        table.column("type_uid"),
        pc.add(pc.multiply(class_uid, 100), table.column("activity_id")),
    )
    for name, column in (
        ("class_uid", class_uid),
        ("category_uid", category_uid),
        ("type_uid", type_uid),
    ):
        table = table.set_column(
            table.schema.get_field_index(name), table.schema.field(name), column
        )
    return table


def _nest(table: pa.Table, nodes: Sequence[FieldNode], prefix: str) -> list[pa.Array]:
    arrays = []
    for node in nodes:
        path = f"{prefix}{node.name}"
        if node.kind == "model":
            children = _nest(table, node.children, f"{path}.")
            arrays.append(pa.StructArray.from_arrays(children, fields=list(node.arrow_type)))
        else:
            arrays.append(table.column(path).combine_chunks())
    return arrays


def to_rows(table: pa.Table, event_class: type[OcsfEvent]) -> list[dict[str, Any]]:
    """Nested dictionaries (OCSF names, no nulls) for each row of a class table."""
    table = conform(table, event_class)
    root = _root(event_class)
    nested = pa.StructArray.from_arrays(
        _nest(table, root.children, ""), fields=list(root.arrow_type)
    )
    return [_from_arrow(row, root) or {} for row in nested.to_pylist()]


def from_table(table: pa.Table, event_class: type[OcsfEvent]) -> list[OcsfEvent]:
    """Typed events from a class table; an invalid row raises with its index."""
    events = []
    for index, row in enumerate(to_rows(table, event_class)):
        try:
            events.append(event_class.model_validate(row))
        except ValidationError as error:
            raise InvalidEventError(f"row {index}: {error}", index) from error
    return events
