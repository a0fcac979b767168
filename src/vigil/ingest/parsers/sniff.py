r"""How sure a parser is that the first records of a file are in its format.

`Parser.sniff` gets the first records of a file; most parsers score the share of
its first non-blank lines that carry their format's marks:

    lines = sample_lines(sample)
    return 0.95 * share(lines.str.contains(r"CEF:\d+\|"))
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def sample_lines(sample: Sequence[str]) -> pl.Series:
    """The non-blank lines among the first 20 of a sample."""
    return pl.Series([line for line in sample[:20] if line.strip()], dtype=pl.String)


def share(matches: pl.Series) -> float:
    """The fraction of a sniffed sample that matched (0 for an empty sample)."""
    flags = matches.fill_null(value=False).to_list()
    return flags.count(True) / len(flags) if flags else 0.0
