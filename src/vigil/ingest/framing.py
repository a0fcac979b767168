"""Cutting bytes into records, and decoding them, without losing a byte.

Three framings (see `Framing`): lines; blocks separated by blank lines
(FreeRADIUS detail files); whole documents (an XML file, one HTTP body). Text is
UTF-8; a record that is not valid UTF-8 is decoded as Latin-1 instead, which maps
every byte, and counted, so a device that still writes Latin-1 loses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from vigil.ingest.parsers.base import Framing

_BLANK_LINES = re.compile(rb"\r?\n(?:[ \t]*\r?\n)+")


@dataclass(frozen=True)
class Framed:
    """Records cut from bytes: their text, how many were not UTF-8, and the rest.

    `rest` is a trailing part that is not a whole record yet (no final newline or
    blank line); a tailer keeps it for the next read, a batch import parses it too.
    """

    text: pl.Series
    recoded: int
    rest: bytes


def split_records(data: bytes, framing: Framing, final: bool = True) -> tuple[list[bytes], bytes]:
    """Records of `data`, and the incomplete tail (empty when `final`)."""
    if framing == "document":
        return ([data] if data.strip() else []), b""
    parts = data.split(b"\n") if framing == "line" else _BLANK_LINES.split(data)
    rest = parts.pop()  # after the last separator: incomplete unless the input ended
    if final and rest.strip():
        parts.append(rest)
        rest = b""
    elif final:
        rest = b""
    if framing == "line":
        parts = [part[:-1] if part.endswith(b"\r") else part for part in parts]
    else:
        parts = [part.strip(b"\r\n") for part in parts if part.strip()]
    return parts, rest


def decode(parts: list[bytes]) -> tuple[pl.Series, int]:
    """Text of each record; UTF-8, or Latin-1 for a record that is not UTF-8."""
    joined = b"\n".join(parts) if all(b"\n" not in part for part in parts) else None
    if joined is not None:
        try:
            text = joined.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            series = pl.Series("record", text.split("\n") if parts else [], dtype=pl.String)
            return series, 0
    texts = []
    recoded = 0
    for part in parts:
        try:
            texts.append(part.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(part.decode("latin-1"))
            recoded += 1
    return pl.Series("record", texts, dtype=pl.String), recoded


def frame(data: bytes, framing: Framing, final: bool = True) -> Framed:
    """Cut and decode: the one entry point connectors use."""
    parts, rest = split_records(data, framing, final)
    text, recoded = decode(parts)
    return Framed(text, recoded, rest)
