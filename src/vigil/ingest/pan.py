"""Card numbers (PANs) found anywhere in a record are masked before anything is stored.

PCI DSS 3.4 allows at most the first six and last four digits to be kept. Masking
runs on the raw record text, before parsing, so it covers every field of every
format and the dead letters too. A candidate is 13 to 19 digits, optionally
grouped by spaces or dashes, starting with a digit a card scheme uses (2-6), not
part of a longer number, and passing the Luhn check: long timestamps, session ids
and order numbers rarely qualify. The scan for candidates is one vectorised regex
over the chunk; only records that contain one are looked at in Python.

A card number can sit next to other numbers with only a space or dash between
(`2026-11-23 4111111111111111`, `lane 25 4111-1111-1111-1111`): each run of digit
groups is tried window by window, a window starting and ending at group edges,
the longest first, from every group, so that the neighbours neither hide the
number nor leave more of it visible than the first six and last four digits.

A PAN written as a bare JSON number becomes `"4111 11** **** 1111"`-style text in
the middle of a number, so that record no longer parses and is dead-lettered — masked.
"""

from __future__ import annotations

import re

import polars as pl

_CANDIDATE = r"(?:^|[^0-9])[2-6][0-9](?:[ -]?[0-9]){11,17}(?:[^0-9]|$)"
_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9])*")
"""Digit groups joined by single spaces or dashes: where card numbers can be."""
_GROUP = re.compile(r"[0-9]+")
_SCHEME_DIGITS = frozenset("23456")
KEEP_HEAD, KEEP_TAIL = 6, 4


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


def _mask_run(run: str) -> tuple[str, int]:
    """A run of digit groups with every card number in it masked, and how many.

    Windows start at a group's first digit and end at a group's last; from every
    start the longest window of 13 to 19 digits that is a card number is masked.
    Windows may overlap (short numbers before a card number can make a window that
    passes the Luhn check by chance, one time in ten): each hides its own middle
    digits, and counts when it hides any that were still visible.
    """
    groups = [(group.start(), group.end()) for group in _GROUP.finditer(run)]
    if sum(end - start for start, end in groups) < 13:
        return run, 0
    chars = list(run)
    found = 0
    for first in range(len(groups)):
        last = _longest_pan(run, groups, first)
        if last is not None:
            found += _hide(chars, groups[first][0], groups[last][1])
    return "".join(chars), found


def _longest_pan(run: str, groups: list[tuple[int, int]], first: int) -> int | None:
    """The last group of the longest card number starting at group `first`, if any."""
    ends: list[int] = []
    digits = 0
    for last in range(first, len(groups)):
        digits += groups[last][1] - groups[last][0]
        if digits > 19:
            break
        if digits >= 13:
            ends.append(last)
    for last in reversed(ends):
        window = "".join(run[start:end] for start, end in groups[first : last + 1])
        if window[0] in _SCHEME_DIGITS and luhn_ok(window):
            return last
    return None


def _hide(chars: list[str], start: int, end: int) -> bool:
    """Replace the digits of `chars[start:end]` but the first six and last four by `*`;
    whether any digit was still visible. (Positions hidden by an earlier window count
    as digits: a window's six and four are of its own digits.)"""
    positions = [i for i in range(start, end) if chars[i].isdigit() or chars[i] == "*"]
    hidden = False
    for i in positions[KEEP_HEAD : len(positions) - KEEP_TAIL]:
        hidden = hidden or chars[i] != "*"
        chars[i] = "*"
    return hidden


def mask_text(text: str) -> tuple[str, int]:
    """The text with every PAN masked, and how many were masked."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        masked, found = _mask_run(match.group(0))
        count += found
        return masked

    return _RUN.sub(replace, text), count


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
