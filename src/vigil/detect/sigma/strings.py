"""Sigma string values against one column: all the values of a field at once, in few passes.

A Sigma list (`CommandLine|contains: [a, b, c]`, `|windash` variants) is an OR of values on
one field. Matching each value on its own lowercases the column once per value; here the
values are grouped by how they match and each group is one pass over the raw column:

- `contains` literals: one Aho-Corasick scan (`str.contains_any`, ASCII case folding);
- `startswith`, `endswith` and whole-value literals: one anchored alternation each, with
  ASCII-only case folding (`(?i-u)`);
- values with inner wildcards (`a*b`, `?`): one alternation of the anchored patterns,
  Unicode case-insensitive (`(?is)`), exactly as a single value would be matched;
- `cased` values, and literals with non-ASCII letters: one by one on the lowercased column.

Semantics are those of lowercasing both sides (`value.lower() in text.lower()`). ASCII
folding on the raw text equals that whenever every character of the literal is ASCII or
caseless, except for the two non-ASCII characters whose lowercase contains an ASCII
letter: KELVIN SIGN (lowercase `k`) and LATIN CAPITAL I WITH DOT (lowercase `i` + U+0307).
Each literal therefore also lists its variants with those characters written in (`_variants`).
`tests/test_detect_sigma_strings.py` checks this against Python's `str.lower` on random data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import product
from typing import Final, Literal

import polars as pl
from sigma.types import SigmaCasedString, SigmaString, SpecialChars

from vigil.detect.sigma.matchers import (
    SigmaCompileError,
    as_text,
    check_regex,
    is_number,
    number_of,
)

Shape = Literal["eq", "contains", "startswith", "endswith"]

KELVIN: Final = "\u212a"
"""KELVIN SIGN: lowercases to ASCII `k`."""
DOTTED_I: Final = "\u0130"
"""LATIN CAPITAL LETTER I WITH DOT ABOVE: lowercases to ASCII `i` and U+0307."""
_MAX_VARIANTS: Final = 16
"""More spellings than this for one literal: match it on the lowercased column instead."""
_FALSE: Final = pl.lit(False)


def plain(value: SigmaString) -> str | None:
    """The literal text of a string without wildcards, else None."""
    if value.contains_special():
        return None
    parts = list(value.iter_parts())
    if not all(isinstance(part, str) for part in parts):
        raise SigmaCompileError(f"unresolved placeholder in value {value}")
    return "".join(str(part) for part in parts)


def wildcard_pattern(value: SigmaString) -> str:
    """Regex of a Sigma string with wildcards, unanchored and without case flags."""
    pieces: list[str] = []
    for part in value.iter_parts():
        if isinstance(part, str):
            pieces.append(re.escape(part))
        elif part == SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part == SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            raise SigmaCompileError(f"unresolved placeholder %{part.name}% in value {value}")
    return "".join(pieces)


def string_shape(value: SigmaString) -> tuple[Shape, str] | None:
    """(`eq`|`contains`|`startswith`|`endswith`, literal) when no inner wildcard, else None."""
    parts = list(value.iter_parts())
    star = SpecialChars.WILDCARD_MULTI
    lead = bool(parts) and parts[0] == star
    trail = len(parts) > 1 and parts[-1] == star
    inner = parts[int(lead) : len(parts) - int(trail)]
    if len(inner) > 1 or (inner and not isinstance(inner[0], str)):
        return None
    literal = str(inner[0]) if inner else ""
    shapes: dict[tuple[bool, bool], Shape] = {
        (False, False): "eq",
        (True, True): "contains",
        (False, True): "startswith",
        (True, False): "endswith",
    }
    return shapes[(lead, trail)], literal


def _folds_as_ascii(literal: str) -> bool:
    """Whether ASCII case folding of the raw text is exact for this (lowercased) literal."""
    return all(
        char.isascii()
        or (char.lower() == char == char.upper() and not unicodedata.category(char).startswith("M"))
        for char in literal
    )


def _variants(literal: str, shape: Shape) -> list[str] | None:
    """The spellings of a lowercase literal that ASCII folding alone would miss, or None
    when there are too many. `İ` lowercases to `i` + U+0307, so it stands for a final `i`
    only where the text may go on after the literal (contains, startswith).
    """
    choices = [(char, KELVIN) if char == "k" else (char,) for char in literal]
    if literal.endswith("i") and shape in ("contains", "startswith"):
        choices[-1] = ("i", DOTTED_I)
    count = reduce(lambda total, options: total * len(options), choices, 1)
    if count > _MAX_VARIANTS:
        return None
    return ["".join(spelling) for spelling in product(*choices)]


@dataclass
class _Groups:
    """The values of one field, sorted by how they are matched."""

    folded: dict[Shape, list[str]] = field(
        default_factory=lambda: {"eq": [], "contains": [], "startswith": [], "endswith": []}
    )
    wildcards: list[str] = field(default_factory=list)
    one_by_one: list[tuple[Shape | Literal["regex"], str, bool]] = field(default_factory=list)
    """(shape, literal or wildcard pattern, cased) matched on their own."""
    numbers: list[int | float] = field(default_factory=list)


def _group(values: Sequence[SigmaString], numeric: bool) -> _Groups:
    groups = _Groups()
    for value in values:
        cased = isinstance(value, SigmaCasedString)
        number = number_of(plain(value) or "") if numeric and not value.contains_special() else None
        if number is not None:
            groups.numbers.append(number)
            continue
        shape = string_shape(value)
        if shape is None:
            pattern = wildcard_pattern(value)
            if cased:
                groups.one_by_one.append(("regex", pattern, True))
            else:
                groups.wildcards.append(pattern)
            continue
        kind, literal = shape
        spellings = None if cased else _variants(literal.lower(), kind)
        if spellings is not None and _folds_as_ascii(literal.lower()):
            groups.folded[kind].extend(spellings)
        else:
            groups.one_by_one.append((kind, literal, cased))
    return groups


def _alternation(literals: list[str]) -> str:
    return "(?:" + "|".join(re.escape(literal) for literal in dict.fromkeys(literals)) + ")"


def _folded(text: pl.Expr, shape: Shape, literals: list[str]) -> pl.Expr:
    if shape == "contains":
        return text.str.contains_any(list(dict.fromkeys(literals)), ascii_case_insensitive=True)
    anchored = {"eq": "^{}$", "startswith": "^{}", "endswith": "{}$"}[shape]
    return text.str.contains(check_regex("(?i-u)" + anchored.format(_alternation(literals))))


def _one(text: pl.Expr, shape: Shape | Literal["regex"], literal: str, cased: bool) -> pl.Expr:
    if shape == "regex":
        return text.str.contains(check_regex("(?s)^(?:" + literal + ")$"))
    if not cased:
        text, literal = text.str.to_lowercase(), literal.lower()
    if shape == "eq":
        return text == literal
    if shape == "contains":
        return text.str.contains(literal, literal=True)
    if shape == "startswith":
        return text.str.starts_with(literal)
    return text.str.ends_with(literal)


def match_strings(column: pl.Expr, dtype: pl.DataType, values: Sequence[SigmaString]) -> pl.Expr:
    """True when any value matches: Sigma's case-insensitive (unless `cased`) string match
    with wildcards `*` and `?`; plain numbers compare numerically with a numeric column.
    May be null; the caller turns null into False.
    """
    groups = _group(values, is_number(dtype))
    parts = [column == number for number in groups.numbers]
    text = as_text(column, dtype)
    parts += [_folded(text, shape, items) for shape, items in groups.folded.items() if items]
    if groups.wildcards:
        pattern = "|".join(f"(?:{item})" for item in dict.fromkeys(groups.wildcards))
        parts.append(text.str.contains(check_regex(f"(?is)^(?:{pattern})$")))
    parts += [_one(text, shape, literal, cased) for shape, literal, cased in groups.one_by_one]
    return reduce(lambda left, right: left | right, parts) if parts else _FALSE


def match_string(column: pl.Expr, dtype: pl.DataType, value: SigmaString) -> pl.Expr:
    """One Sigma string value (see `match_strings`)."""
    return match_strings(column, dtype, [value])
