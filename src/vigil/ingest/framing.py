"""Cutting bytes into records, and decoding them, without losing a byte.

Three framings (see `Framing`): lines; blocks separated by blank lines
(FreeRADIUS detail files); whole documents (an XML file, one HTTP body). Text is
UTF-8; a record that is not valid UTF-8 is decoded as Latin-1 instead, which maps
every byte, and counted, so a device that still writes Latin-1 loses nothing.
A UTF-8 byte-order mark at the start of the data (Windows tools write one at the
start of a file) is no content: it is dropped, so the first record parses.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import polars as pl

from vigil.ingest.parsers.base import Framing

_BLANK_LINES = re.compile(rb"\r?\n(?:[ \t]*\r?\n)+")
_BLANK_LINES_TEXT = r"\r?\n(?:[ \t]*\r?\n)+"
_CUT = "\x00"
"""Put in place of each blank-line separator so that polars can split on one character."""
_ASCII_SPACE = " \t\n\r\x0b\x0c"
"""What `bytes.strip()` strips: a block of only these is no record."""


@dataclass(frozen=True)
class Framed:
    """Records cut from bytes: their text, how many were not UTF-8, and the rest.

    `rest` is a trailing part that is not a whole record yet (no final newline or
    blank line); a tailer keeps it for the next read, a batch import parses it too.
    """

    text: pl.Series
    recoded: int
    rest: bytes


def whole_records(data: bytes, framing: Framing, final: bool) -> tuple[bytes, bytes]:
    """`data` cut after its last complete record: (whole records, incomplete tail)."""
    if final or framing == "document":
        return data, b""
    if framing == "line":
        cut = data.rfind(b"\n") + 1
        return data[:cut], data[cut:]
    last = None
    for last in _BLANK_LINES.finditer(data):  # noqa: B007 - the last separator is wanted
        pass
    if last is None:
        return b"", data
    return data[: last.end()], data[last.end() :]


def split_records(data: bytes, framing: Framing, final: bool = True) -> tuple[list[bytes], bytes]:
    """Records of `data` as bytes, and the incomplete tail (empty when `final`)."""
    whole, rest = whole_records(data, framing, final)
    if framing == "document":
        return ([whole] if whole.strip() else []), rest
    if framing == "line":
        parts = whole.split(b"\n")
        if parts and not parts[-1]:
            parts.pop()  # the separator after the last line
        return [part[:-1] if part.endswith(b"\r") else part for part in parts], rest
    parts = _BLANK_LINES.split(whole)
    return [part.strip(b"\r\n") for part in parts if part.strip()], rest


def _lines(text: str) -> pl.Series:
    """Lines of text, split by polars (no Python string per line)."""
    series = pl.Series("record", [text], dtype=pl.String).str.split("\n").explode()
    if text.endswith("\n"):
        series = series.slice(0, len(series) - 1)
    if "\r" in text:
        series = series.str.strip_suffix("\r")
    return series


def _blocks(text: str) -> pl.Series:
    """Blocks of text separated by blank lines, split by polars (no Python string per block)."""
    cut = pl.Series("record", [text], dtype=pl.String).str.replace_all(_BLANK_LINES_TEXT, _CUT)
    blocks = cut.str.split(_CUT).explode()
    blocks = blocks.filter(blocks.str.strip_chars(_ASCII_SPACE) != "")
    return blocks.str.strip_chars("\r\n")


def decode(parts: list[bytes]) -> tuple[pl.Series, int]:
    """Text of each record; UTF-8, or Latin-1 for a record that is not UTF-8."""
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
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if framing == "line":
        whole, rest = whole_records(data, framing, final)
        if not whole:
            return Framed(pl.Series("record", [], dtype=pl.String), 0, rest)
        try:
            return Framed(_lines(whole.decode("utf-8")), 0, rest)
        except UnicodeDecodeError:
            pass  # some line is not UTF-8: decode line by line
    if framing == "block":
        whole, rest = whole_records(data, framing, final)
        try:
            whole_text = whole.decode("utf-8")
        except UnicodeDecodeError:
            pass  # some block is not UTF-8: decode block by block
        else:
            if _CUT not in whole_text:
                return Framed(_blocks(whole_text), 0, rest)
    parts, rest = split_records(data, framing, final)
    text, recoded = decode(parts)
    return Framed(text, recoded, rest)
