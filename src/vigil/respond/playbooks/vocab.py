"""Small shared value types of playbooks and response settings: durations and severities.

Durations read the way people write them in YAML (`90s`, `15m`, `2h`, `1d`),
as whole seconds, or as ISO 8601 (`PT15M`); they are dumped as ISO 8601, which
reads back the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SHORT = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def _short_duration(value: object) -> object:
    if isinstance(value, str):
        match = _SHORT.match(value)
        if match:
            return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    return value


def durations_of(model: type[BaseModel], params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with short durations (`4h`) of the model's timedelta fields read as timedeltas.

    Actions take seconds or ISO 8601; playbooks may write `4h` like everywhere else.
    """
    found = dict(params)
    for name, info in model.model_fields.items():
        if info.annotation is timedelta and name in found:
            found[name] = _short_duration(found[name])
    return found


Duration = Annotated[
    timedelta,
    BeforeValidator(_short_duration),
    Field(gt=timedelta(0), description="A duration: 90s, 15m, 2h, 1d, seconds, or ISO 8601."),
]


class Model(BaseModel):
    """Base of every playbook and settings model: immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SeverityName(StrEnum):
    """OCSF severities by name, as playbooks write them."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def level(self) -> int:
        """The OCSF `severity_id`, 1 to 5."""
        return list(SeverityName).index(self) + 1

    @classmethod
    def of(cls, severity_id: int) -> SeverityName:
        """The name of an OCSF `severity_id` (0 and unknown ones read as informational)."""
        names = list(cls)
        return names[min(max(severity_id, 1), len(names)) - 1]


def describe(span: timedelta) -> str:
    """`1 h 5 min`, `45 s`: a duration in words for people."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(part for part in parts if part)
