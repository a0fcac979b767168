"""Scalar types and the base model shared by every OCSF object and event.

OCSF timestamps (`timestamp_t`) are integer milliseconds since the epoch in JSON.
In Python they are timezone-aware `datetime`s in UTC, truncated to the
millisecond, so that JSON, model and Arrow columns round-trip without loss.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_datetime(value: Any) -> Any:
    """Accept epoch milliseconds, ISO 8601 text or a datetime; return UTC at ms precision."""
    if isinstance(value, bool):
        return value  # let pydantic reject it with its own message
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            moment = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    elif isinstance(value, datetime):
        moment = value
    else:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


Timestamp = Annotated[
    datetime,
    BeforeValidator(_to_datetime),
    PlainSerializer(epoch_ms, return_type=int, when_used="json"),
    WithJsonSchema({"type": "integer", "description": "Milliseconds since the Unix epoch."}),
]
"""OCSF `timestamp_t`: epoch milliseconds in JSON, an aware UTC datetime in Python."""


class JsonColumn:
    """Marks a free-form object field: stored as JSON text in a single column."""


JsonObject = Annotated[dict[str, Any], JsonColumn()]
"""A free-form JSON object (OCSF `object` or `json_t`), e.g. `unmapped`."""


class OcsfModel(BaseModel):
    """Base of every OCSF object and event: unknown fields are errors at the edge.

    An empty optional object (`"traffic": {}`) says nothing and is read as absent,
    so that JSON, models and columns agree on it.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_empty_objects(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(value == {} for value in data.values()):
            optional = _optional_names(cls)
            return {k: v for k, v in data.items() if not (v == {} and k in optional)}
        return data


_OPTIONAL: dict[type[BaseModel], frozenset[str]] = {}


def _optional_names(model: type[BaseModel]) -> frozenset[str]:
    names = _OPTIONAL.get(model)
    if names is None:
        names = frozenset(
            name
            for attr, info in model.model_fields.items()
            if not info.is_required()
            for name in (attr, info.alias or attr)
        )
        _OPTIONAL[model] = names
    return names
