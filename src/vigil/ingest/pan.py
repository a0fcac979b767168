"""Card numbers (PANs) found anywhere in a record are masked before anything is stored.

PCI DSS 3.4 allows at most the first six and last four digits to be kept. Masking
runs on the raw record text, before parsing, so it covers every field of every
format and the dead letters too. A candidate is 13 to 19 digits, optionally
grouped by spaces or dashes, starting with a digit a card scheme uses (2-6), not
part of a longer number, and passing the Luhn check: long timestamps, session ids
and order numbers rarely qualify. The scan for candidates is one vectorised regex
over the chunk; only records that contain one are looked at in Python.

A PAN written as a bare JSON number becomes `"4111 11** **** 1111"`-style text in
the middle of a number, so that record no longer parses and is dead-lettered — masked.
"""

from __future__ import annotations

import re

import polars as pl

_CANDIDATE = r"(?:^|[^0-9])[2-6][0-9](?:[ -]?[0-9]){11,17}(?:[^0-9]|$)"
_MATCH = re.compile(r"(?<![0-9])[2-6][0-9](?:[ -]?[0-9]){11,17}(?![0-9])")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a digit string is valid."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = [char for char in text if char.isdigit()]
    if not 13 <= len(digits) <= 19 or not luhn_ok("".join(digits)):
        return text
    keep_head, keep_tail = 6, 4
    out = []
    seen = 0
    for char in text:
        if char.isdigit():
            hidden = keep_head <= seen < len(digits) - keep_tail
            out.append("*" if hidden else char)
            seen += 1
        else:
            out.append(char)
    return "".join(out)


def mask_text(text: str) -> tuple[str, int]:
    """The text with every PAN masked, and how many were masked."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        masked = _mask(match)
        count += masked != match.group(0)
        return masked

    return _MATCH.sub(replace, text), count


def mask_pans(text: pl.Series) -> tuple[pl.Series, int]:
    """Records with PANs masked, and how many PANs were masked in all."""
    candidates = text.str.contains(_CANDIDATE).fill_null(value=False)
    if not bool(candidates.any()):
        return text, 0
    indexes = candidates.arg_true().to_list()
    values = text.gather(indexes).to_list()
    masked_values = []
    total = 0
    for value in values:
        masked, count = mask_text(value)
        masked_values.append(masked)
        total += count
    if not total:
        return text, 0
    out = text.clone()
    out.scatter(indexes, pl.Series(text.name, masked_values, dtype=pl.String))
    return out, total
