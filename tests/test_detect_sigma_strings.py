"""Seeded-random oracle for Sigma string matching (`vigil.detect.sigma.strings`).

The optimised matcher (grouped values, Aho-Corasick and anchored alternations with ASCII
case folding, variants for KELVIN SIGN and dotted capital I) is compared with the obvious
definition: a plain value matches when its lowercase is in (starts, ends, equals) the
lowercased text; a value with wildcards when Python's `re` full-matches it with IGNORECASE.
"""

from __future__ import annotations

import random
import re
import sys

import polars as pl
import pytest
from sigma.types import SigmaString, SpecialChars

from vigil.detect.sigma.strings import DOTTED_I, KELVIN, match_strings, string_shape

ALPHABET = "abkiKI-/._ %é\u00c9\u00df\u1e9e\u03a3\u03c3\u03c2\u2013" + KELVIN + DOTTED_I + "\u0307"
"""ASCII letters with case (k and i have non-ASCII relatives), punctuation, Latin-1 and
Greek letters with case, sharp s (whose capital lowercases to it), a caseless en dash,
KELVIN SIGN, capital dotted I and the combining dot its lowercase ends with."""
PATTERN_ALPHABET = ALPHABET.replace("\u0307", "") + "*?\\"


def _random_text(rng: random.Random, alphabet: str, longest: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))


_FLAGS = re.IGNORECASE | re.DOTALL
_PRIVATE = "\ue000"
"""A caseless stand-in for capital dotted I in wildcard patterns (see `_reference`)."""


def _reference(text: str | None, value: SigmaString) -> bool:
    """Sigma's case-insensitive match, spelled out with Python's `str.lower` and `re`.

    Values with inner wildcards are regular expressions with Unicode simple case folding
    (Rust's `(?i)`, as before grouping). Python's `re` additionally folds capital dotted I
    with `i`/`I` (a Turkish special case Rust's regex does not make), so the reference
    treats it as caseless there.
    """
    if text is None:
        return False
    shape = string_shape(value)
    if shape is None:
        pieces = []
        for part in value.iter_parts():
            if part == SpecialChars.WILDCARD_MULTI:
                pieces.append(".*")
            elif part == SpecialChars.WILDCARD_SINGLE:
                pieces.append(".")
            else:
                pieces.append(re.escape(str(part)))
        caseless = "".join(pieces).replace(DOTTED_I, _PRIVATE)
        return re.fullmatch(caseless, text.replace(DOTTED_I, _PRIVATE), _FLAGS) is not None
    kind, literal = shape
    low, needle = text.lower(), literal.lower()
    return {
        "eq": low == needle,
        "contains": needle in low,
        "startswith": low.startswith(needle),
        "endswith": low.endswith(needle),
    }[kind]


def _value(rng: random.Random, texts: list[str]) -> SigmaString:
    """A random Sigma value: often cut from a text (so that it matches), in random case."""
    source = rng.choice(texts)
    if source and rng.random() < 0.6:
        start = rng.randrange(len(source))
        raw = source[start : start + rng.randint(1, 6)]
        raw = "".join(c.upper() if rng.random() < 0.3 else c for c in raw)
        raw = raw.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    else:
        raw = _random_text(rng, PATTERN_ALPHABET, 5)
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            raw += "\\"
    lead = "*" if rng.random() < 0.5 else ""
    trail = "*" if rng.random() < 0.5 else ""
    return SigmaString(lead + raw + trail)


@pytest.mark.parametrize("seed", range(6))
def test_grouped_matching_equals_reference(seed: int) -> None:
    rng = random.Random(seed)
    texts = [_random_text(rng, ALPHABET, 12) for _ in range(300)]
    column = pl.Series("text", [*texts, None], dtype=pl.String)
    frame = column.to_frame()
    for _ in range(40):
        values = [_value(rng, texts) for _ in range(rng.randint(1, 8))]
        found = frame.select(
            match_strings(pl.col("text"), pl.String(), values).fill_null(False)
        ).to_series()
        expected = [any(_reference(text, value) for value in values) for text in column]
        wrong = [
            (text, [str(v) for v in values])
            for text, got, want in zip(column, found, expected, strict=True)
            if got != want
        ]
        assert not wrong, wrong[:5]


def test_only_kelvin_and_dotted_i_lowercase_to_ascii() -> None:
    """The premise of ASCII folding on raw text: every other non-ASCII character lowercases
    to non-ASCII characters only (Python's Unicode tables; polars follows Rust's)."""
    found = {
        chr(code)
        for code in range(128, sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and any(c.isascii() for c in chr(code).lower())
    }
    assert found == {KELVIN, DOTTED_I}
