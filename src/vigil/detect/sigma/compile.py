"""Sigma detections (after field mapping) as one boolean polars expression per event class.

The expression filters a frame of one event class: `frame.filter(expr)`. It is compiled
against the class's polars schema so that a field that is not a column never matches
(Sigma's rule), numbers compare numerically with numeric columns and as text with string
columns, and list columns match when any element does. Null is False throughout, so `not`
of a failed match is True. Field-less (keyword) values are searched, as substrings, in
`keyword_columns`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import reduce
from typing import Final

import polars as pl
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetections, SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from vigil.detect.sigma import matchers, strings
from vigil.detect.sigma.matchers import SigmaCompileError
from vigil.detect.types import RuleError

KEYWORD_COLUMNS: Final = ("message", "raw_data")
"""Text columns a field-less (keyword) Sigma value is searched in."""

Schema = Mapping[str, pl.DataType]
Node = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression | None

_FALSE: Final = pl.lit(False)
_TIME_PARTS: Final = {
    TimestampPart.MINUTE: "minute",
    TimestampPart.HOUR: "hour",
    TimestampPart.DAY: "day",
    TimestampPart.WEEK: "week",
    TimestampPart.MONTH: "month",
    TimestampPart.YEAR: "year",
}


def resolve(field: str, schema: Schema) -> tuple[pl.Expr, pl.DataType] | None:
    """The column (or a struct field inside a list column, `answers.rdata`) for a field name."""
    if field in schema:
        return pl.col(field), schema[field]
    head, _, rest = field.rpartition(".")
    while head:
        dtype = schema.get(head)
        inner = dtype.inner if isinstance(dtype, pl.List) else None
        if isinstance(inner, pl.Struct):
            names = {struct_field.name: struct_field.dtype for struct_field in inner.fields}
            if rest in names:
                column = pl.col(head).list.eval(pl.element().struct.field(rest))
                return column, pl.List(names[rest])
        head, _, part = head.rpartition(".")
        rest = f"{part}.{rest}"
    return None


def _on_column(column: pl.Expr, dtype: pl.DataType, matcher: Callable[..., pl.Expr]) -> pl.Expr:
    """Apply a matcher to a column, or to each element of a list column (any element matches)."""
    if isinstance(dtype, pl.List):
        return column.list.eval(matcher(pl.element(), dtype.inner)).list.any()
    return matcher(column, dtype)


def _time_part(column: pl.Expr, dtype: pl.DataType, value: SigmaTimestampPart) -> pl.Expr:
    """`|hour`, `|day`, ...: a part of a datetime column."""
    part: pl.Expr = getattr(column.dt, _TIME_PARTS[value.timestamp_part])()
    return part == value.number


_MATCHERS: Final[tuple[tuple[type[SigmaType], Callable[..., pl.Expr]], ...]] = (
    (SigmaString, strings.match_string),
    (SigmaBool, matchers.match_bool),
    (SigmaTimestampPart, _time_part),
    (SigmaNumber, matchers.match_number),
    (SigmaRegularExpression, matchers.match_regex),
    (SigmaCompareExpression, matchers.match_compare),
    (SigmaCIDRExpression, matchers.match_cidr),
)
"""Value type -> matcher; the first that fits wins (SigmaTimestampPart is a SigmaNumber)."""


def _value_matcher(value: SigmaType) -> Callable[[pl.Expr, pl.DataType], pl.Expr]:
    """How one Sigma value is matched against one column."""
    for kind, matcher in _MATCHERS:
        if isinstance(value, kind):
            return lambda column, dtype: matcher(column, dtype, value)
    raise SigmaCompileError(f"Sigma value type {type(value).__name__} is not supported")


def _string_values(value: SigmaType) -> list[SigmaString] | None:
    """The strings of a string value or of an expansion (`|windash`) of strings, else None."""
    if isinstance(value, SigmaString):
        return [value]
    if isinstance(value, SigmaExpansion):
        found = [_string_values(item) for item in value.values]
        return (
            None if any(item is None for item in found) else [v for vs in found for v in vs or []]
        )
    return None


def _strings_match(field: str, values: list[SigmaString], schema: Schema) -> pl.Expr:
    """Any of a field's string values, matched together (see `strings.match_strings`)."""
    found = resolve(field, schema)
    if found is None:
        return _FALSE
    column, dtype = found
    matcher = lambda col, kind: strings.match_strings(col, kind, values)  # noqa: E731
    return _on_column(column, dtype, matcher).fill_null(False)


def _any_node(args: Sequence[Node], schema: Schema, keyword_columns: Sequence[str]) -> pl.Expr:
    """An OR: the string values of each field (a Sigma list) are matched in one go."""
    by_field: dict[str, list[SigmaString]] = {}
    others: list[pl.Expr] = []
    for arg in args:
        field = arg if isinstance(arg, ConditionFieldEqualsValueExpression) else None
        values = _string_values(field.value) if field else None
        if field and values is not None:
            by_field.setdefault(field.field, []).extend(values)
        else:
            others.append(compile_node(arg, schema, keyword_columns))
    grouped = [_strings_match(name, values, schema) for name, values in by_field.items()]
    return _any([*grouped, *others])


def _field_match(field: str, value: SigmaType, schema: Schema) -> pl.Expr:
    values = _string_values(value)
    if values is not None:
        return _strings_match(field, values, schema)
    if isinstance(value, SigmaExpansion):
        return _any(_field_match(field, item, schema) for item in value.values)
    found = resolve(field, schema)
    if isinstance(value, (SigmaNull, SigmaExists)):
        return _presence(found, value)
    if found is None:
        return _FALSE
    column, dtype = found
    if isinstance(value, SigmaFieldReference):
        return _field_reference(column, dtype, value, schema)
    return _on_column(column, dtype, _value_matcher(value)).fill_null(False)


def _presence(found: tuple[pl.Expr, pl.DataType] | None, value: SigmaNull | SigmaExists) -> pl.Expr:
    """`field: null` and `field|exists`: a missing column is null and does not exist."""
    if isinstance(value, SigmaNull):
        return pl.lit(True) if found is None else found[0].is_null()
    present = pl.lit(False) if found is None else found[0].is_not_null()
    return present if value.exists else ~present


def _field_reference(
    column: pl.Expr, dtype: pl.DataType, value: SigmaFieldReference, schema: Schema
) -> pl.Expr:
    """`fieldref`: equal to (or starts/ends with, contains) another field of the same event."""
    other = resolve(value.field, schema)
    if other is None or isinstance(dtype, pl.List) or isinstance(other[1], pl.List):
        return _FALSE
    if matchers.is_number(dtype) and matchers.is_number(other[1]):
        return (column == other[0]).fill_null(False)
    text = matchers.as_text(column, dtype).str.to_lowercase()
    reference = matchers.as_text(*other).str.to_lowercase()
    if value.starts_with and value.ends_with:
        result = text.str.contains(reference, literal=True)
    elif value.starts_with:
        result = text.str.starts_with(reference)
    elif value.ends_with:
        result = text.str.ends_with(reference)
    else:
        result = text == reference
    return result.fill_null(False)


def _keyword(value: SigmaType, schema: Schema, keyword_columns: Sequence[str]) -> pl.Expr:
    """A field-less value: a case-insensitive substring of any keyword column."""
    if isinstance(value, SigmaExpansion):
        return _any(_keyword(item, schema, keyword_columns) for item in value.values)
    if isinstance(value, SigmaString):
        if not value.startswith(SpecialChars.WILDCARD_MULTI):
            value = SpecialChars.WILDCARD_MULTI + value
        if not value.endswith(SpecialChars.WILDCARD_MULTI):
            value = value + SpecialChars.WILDCARD_MULTI
    elif isinstance(value, (SigmaNumber, SigmaBool)):
        value = SigmaString(f"*{value}*")
    elif not isinstance(value, SigmaRegularExpression):
        raise SigmaCompileError(f"keyword value of type {type(value).__name__} is not supported")
    matcher = _value_matcher(value)
    texts = [name for name in keyword_columns if name in schema]
    return _any(_on_column(pl.col(name), schema[name], matcher).fill_null(False) for name in texts)


def _any(expressions: Iterable[pl.Expr]) -> pl.Expr:
    items = list(expressions)
    return reduce(lambda left, right: left | right, items) if items else _FALSE


def _all(expressions: list[pl.Expr]) -> pl.Expr:
    return reduce(lambda left, right: left & right, expressions) if expressions else pl.lit(True)


def compile_node(node: Node, schema: Schema, keyword_columns: Sequence[str]) -> pl.Expr:
    """One node of a pySigma condition tree, recursively."""
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_match(node.field, node.value, schema)
    if isinstance(node, ConditionValueExpression):
        return _keyword(node.value, schema, keyword_columns)
    if node is None:
        return _FALSE
    if isinstance(node, ConditionOR):
        return _any_node(node.args, schema, keyword_columns)
    args = [compile_node(arg, schema, keyword_columns) for arg in node.args]
    if isinstance(node, ConditionAND):
        return _all(args)
    if isinstance(node, ConditionNOT):
        return ~args[0]
    raise SigmaCompileError(f"condition element {type(node).__name__} is not supported")


def compile_detections(
    detections: SigmaDetections, schema: Schema, keyword_columns: Sequence[str] = KEYWORD_COLUMNS
) -> pl.Expr:
    """The rule's conditions (OR-ed when there are several) as one boolean expression."""
    trees = [condition.parse() for condition in detections.parsed_condition]
    return _any([compile_node(tree, schema, keyword_columns) for tree in trees])


def compile_rule(
    rule: SigmaRule, schema: Schema, keyword_columns: Sequence[str] = KEYWORD_COLUMNS
) -> pl.Expr:
    """A (processed) Sigma rule as the filter of a frame of its event class."""
    return compile_detections(rule.detection, schema, keyword_columns)


def where_expr(where: Mapping[str, object], schema: Schema, origin: str) -> pl.Expr:
    """The `where:` of a native rule, a Sigma detection block on column names, as a filter.

    `where` is one selection map (its items AND-ed) or named selections plus `condition`.
    Example: `{"dst_endpoint.port": [22, 3389], "src_endpoint.ip|cidr": "10.0.0.0/8"}`.
    """
    block: dict[str, object] = dict(where) if "condition" in where else {"selection": dict(where)}
    block.setdefault("condition", "selection")
    try:
        detections = SigmaDetections.from_dict(block)
        return compile_detections(detections, schema)
    except (SigmaError, SigmaCompileError) as error:
        raise rule_error(origin, f"where: {error}") from error


def rule_error(origin: str, message: str) -> RuleError:
    """A RuleError from a `file:line` origin string."""
    file, _, line = origin.rpartition(":")
    if file and line.isdigit():
        return RuleError(message, file, int(line))
    return RuleError(message, origin)
