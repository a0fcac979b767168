"""Polars expressions for one Sigma value against one column, with Sigma's matching semantics.

Every function here takes the column as an expression and its polars dtype and returns a
boolean expression that may be null; the caller turns null into False. Numbers compare
numerically with numeric columns and as text with string columns. Strings are matched in
`strings.py`, all values of a field together.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Final

import polars as pl
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
)

from vigil.detect.types import DetectError


class SigmaCompileError(DetectError):
    """A Sigma detection that cannot be turned into a polars expression."""


_FLAGS: Final = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
_IPV4: Final = r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$"


def is_number(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def as_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The column as a string: how a non-string column is compared with text."""
    return column if dtype == pl.String else column.cast(pl.String, strict=False)


def check_regex(pattern: str) -> str:
    """Fail at compile time, not on the first batch, when polars' regex engine rejects a pattern."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as error:
        message = str(error).splitlines()[0]
        raise SigmaCompileError(
            f"regular expression {pattern!r} is not supported: {message}"
        ) from error
    return pattern


def number_of(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def match_number(column: pl.Expr, dtype: pl.DataType, value: SigmaNumber) -> pl.Expr:
    """Numeric equality with a numeric column; textual equality with anything else."""
    if is_number(dtype):
        return column == value.number
    return as_text(column, dtype).str.strip_chars() == str(value.number)


def match_bool(column: pl.Expr, dtype: pl.DataType, value: SigmaBool) -> pl.Expr:
    if dtype == pl.Boolean:
        return column == value.boolean
    if is_number(dtype):
        return column == int(value.boolean)
    return as_text(column, dtype).str.to_lowercase() == str(value.boolean).lower()


def match_regex(column: pl.Expr, dtype: pl.DataType, value: SigmaRegularExpression) -> pl.Expr:
    """Unanchored search, like Sigma's `re` (rules anchor with ^ and $ themselves)."""
    flags = "".join(sorted(_FLAGS[flag] for flag in value.flags))
    pattern = (f"(?{flags})" if flags else "") + str(value.regexp)
    return as_text(column, dtype).str.contains(check_regex(pattern))


_COMPARE: Final = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "le",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "ge",
    CompareOperators.NEQ: "ne",
}


def match_compare(column: pl.Expr, dtype: pl.DataType, value: SigmaCompareExpression) -> pl.Expr:
    """gt/gte/lt/lte/neq: numeric; a string column is parsed as a number first."""
    number = column if is_number(dtype) else as_text(column, dtype).cast(pl.Float64, strict=False)
    operator = _COMPARE[value.op]
    result: pl.Expr = getattr(number, operator)(value.number.number)
    return result


def match_cidr(column: pl.Expr, dtype: pl.DataType, value: SigmaCIDRExpression) -> pl.Expr:
    """IP in network, exactly, on the text form of the address (IPv4 and IPv6)."""
    text = as_text(column, dtype).str.strip_chars()
    if isinstance(value.network, IPv4Network):
        return _in_ipv4(text, value.network)
    return _in_ipv6(text, value.network)


def _in_ipv4(text: pl.Expr, network: IPv4Network) -> pl.Expr:
    octets = text.str.extract_groups(_IPV4)
    number = pl.lit(0, dtype=pl.Int64)
    valid = pl.lit(True)
    for index in range(4):
        octet = octets.struct.field(str(index + 1)).cast(pl.Int64, strict=False)
        valid = valid & (octet <= 255)
        number = number * 256 + octet
    low = int(network.network_address)
    high = int(network.broadcast_address)
    return valid & number.is_between(low, high)


def _ipv6_groups(text: pl.Expr) -> pl.Expr:
    """The eight 16-bit groups of an IPv6 address as a list of integers (null if not IPv6)."""
    address = text.str.to_lowercase().str.replace(r"%.*$", "")
    halves = address.str.split("::")
    head = halves.list.get(0).str.split(":")
    tail = halves.list.get(1, null_on_oob=True)
    empty = pl.lit([], dtype=pl.List(pl.String))
    tail_groups = pl.when(tail.is_null() | (tail == "")).then(empty).otherwise(tail.str.split(":"))
    head_groups = pl.when(halves.list.get(0) == "").then(empty).otherwise(head)
    missing = 8 - head_groups.list.len() - tail_groups.list.len()
    zeros = pl.lit("0").repeat_by(missing.clip(lower_bound=0))
    compressed = halves.list.len() == 2
    groups = (
        pl.when(compressed)
        .then(pl.concat_list(head_groups, zeros, tail_groups))
        .otherwise(head_groups)
    )
    valid = (halves.list.len() <= 2) & (groups.list.len() == 8) & address.str.contains(":")
    parsed = groups.list.eval(pl.element().str.to_integer(base=16, strict=False))
    return pl.when(valid).then(parsed)


def _in_ipv6(text: pl.Expr, network: IPv6Network) -> pl.Expr:
    groups = _ipv6_groups(text)
    target = [int(group, 16) for group in network.network_address.exploded.split(":")]
    result = groups.list.len() == 8
    remaining = network.prefixlen
    for index in range(8):
        if remaining <= 0:
            break
        bits = min(16, remaining)
        shift = 16 - bits
        group = groups.list.get(index)
        result = result & (group.is_not_null()) & (group <= 0xFFFF)
        result = result & ((group // (1 << shift)) == (target[index] >> shift))
        remaining -= bits
    return result
