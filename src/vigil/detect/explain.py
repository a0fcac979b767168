"""Explanation templates: `Terminal {device} sent {traffic.bytes_out|bytes} to {dst_endpoint.ip}`.

A placeholder names a value of the alert (an entity, an aggregate, or a field of
its first evidence row, by its dotted column name), optionally with a filter:
`bytes` (2.3 MB), `int` (1,204), `pct` (12.5 %), `dur` (4 min 10 s), `time`
(14:03 UTC), `list` (a, b, c). A missing value reads `?`, never an error: an
alert is raised even when its explanation is incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)(?:\|(\w+))?\}")
MISSING = "?"


def _bytes(value: object) -> str:
    size = float(value)  # type: ignore[arg-type]
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover - the loop always returns


def _int(value: object) -> str:
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def _pct(value: object) -> str:
    return f"{float(value) * 100:.1f} %"  # type: ignore[arg-type]


def _duration(value: object) -> str:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _time(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _list(value: object) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = [str(item) for item in value]
        shown = ", ".join(items[:5])
        return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")
    return str(value)


FILTERS: dict[str, Callable[[object], str]] = {
    "bytes": _bytes,
    "int": _int,
    "pct": _pct,
    "dur": _duration,
    "time": _time,
    "list": _list,
}


def check_template(template: str) -> list[str]:
    """Problems with a template (unknown filters), for the rule linter."""
    return [
        f"unknown filter {name!r} in {{{field}|{name}}}; known: {', '.join(FILTERS)}"
        for field, name in PLACEHOLDER.findall(template)
        if name and name not in FILTERS
    ]


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill the template; values that are missing or do not fit the filter read `?`."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return MISSING
        name = match.group(2)
        if not name:
            return _list(value) if isinstance(value, list | tuple) else str(value)
        try:
            return FILTERS[name](value)
        except (KeyError, TypeError, ValueError):
            return MISSING

    return PLACEHOLDER.sub(fill, template)
