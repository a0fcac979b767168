"""Card numbers beside other numbers: masked whole, wherever the neighbours are."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.ingest.pan import luhn_ok, mask_pans, mask_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("t=2026-11-23 4111111111111111", "t=2026-11-23 411111******1111"),
        ("12:00:25 4111111111111111 declined", "12:00:25 411111******1111 declined"),
        ("lane 25 4111-1111-1111-1111", "lane 25 4111-11**-****-1111"),
        ("x 4111111111111111 2", "x 411111******1111 2"),
        ("qty 3 5555 5555 5555 4444 sku 12", "qty 3 5555 55** **** 4444 sku 12"),
    ],
)
def test_a_card_number_beside_short_numbers_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == (masked, 1)
    series, total = mask_pans(pl.Series([text]))
    assert (series.to_list(), total) == ([masked], 1)


def _with_check_digit(body: str) -> str:
    return next(body + digit for digit in "0123456789" if luhn_ok(body + digit))


pans = st.builds(
    lambda first, rest: _with_check_digit(first + rest),
    st.sampled_from("23456"),
    st.integers(12, 18).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1)),
)
separators = st.sampled_from(["", " ", "-"])
neighbours = st.lists(st.text("0123456789", min_size=1, max_size=4), max_size=3)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    pan=pans,
    grouping=st.lists(st.integers(1, 6), min_size=1, max_size=6),
    inner=separators,
    before=neighbours,
    after=neighbours,
    joint=st.sampled_from([" ", "-"]),
)
def test_no_card_number_shows_more_than_six_and_four_digits(
    pan: str, grouping: list[int], inner: str, before: list[str], after: list[str], joint: str
) -> None:
    """A valid card number, grouped any way, between short numbers joined by a space or
    dash: at most ten of its digits are left visible, whatever the neighbours."""
    groups, rest = [], pan
    for size in grouping:
        if rest:
            groups.append(rest[:size])
            rest = rest[size:]
    if rest:
        groups.append(rest)
    written = inner.join(groups)
    head = "ref " + joint.join(before) + (joint if before else "")
    text = head + written + (joint + joint.join(after) if after else "") + " end"
    masked, count = mask_text(text)
    assert count >= 1
    span = masked[len(head) : len(head) + len(written)]
    assert sum(char.isdigit() for char in span) <= 10, (text, masked)
    assert len(masked) == len(text)
