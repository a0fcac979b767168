"""The base of every Vigil event: OCSF's base event plus the Vigil retail profile.

The retail profile adds one attribute to every class, `store`: which store (and
region) the event belongs to. It is what partitions the event lake and scopes
what a store manager may see. Core events validate against the official OCSF
schema once the profile's attribute is set aside (see `vigil.events.validate`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, Self

from pydantic import model_validator

from vigil.events import ocsf
from vigil.events.objects import (
    Enrichment,
    ExtensionRef,
    Metadata,
    Observable,
)
from vigil.events.types import JsonObject, OcsfModel, Timestamp

VIGIL_EXTENSION = ExtensionRef(name="vigil", uid="86", version="0.1.0")
"""Vigil's OCSF extension: classes OCSF lacks for retail. uid 86 gives class uids 86CCNNN."""

RETAIL_PROFILE = "vigil/retail"
"""The profile that adds `store` to every class."""


class SeverityId(IntEnum):
    UNKNOWN = 0
    INFORMATIONAL = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5
    FATAL = 6
    OTHER = 99


class StatusId(IntEnum):
    UNKNOWN = 0
    SUCCESS = 1
    FAILURE = 2
    OTHER = 99


class StoreRef(OcsfModel):
    """Vigil retail profile: the store an event belongs to."""

    uid: str
    name: str | None = None
    region_uid: str | None = None


class OcsfEvent(OcsfModel):
    """OCSF base event. Subclasses set the class identity as class variables."""

    CLASS_UID: ClassVar[int] = 0
    CLASS_NAME: ClassVar[str] = "base_event"
    CLASS_CAPTION: ClassVar[str] = "Base Event"
    CATEGORY_UID: ClassVar[int] = 0
    ACTIVITIES: ClassVar[dict[int, str]] = {}
    """Captions of activity_id values; empty for core classes (read from OCSF)."""
    EXTENSION: ClassVar[ExtensionRef | None] = None

    activity_id: int
    activity_name: str | None = None
    category_uid: int = 0
    category_name: str | None = None
    class_uid: int = 0
    class_name: str | None = None
    type_uid: int = 0
    type_name: str | None = None
    severity_id: SeverityId = SeverityId.INFORMATIONAL
    severity: str | None = None
    status_id: int | None = None
    status: str | None = None
    status_code: str | None = None
    status_detail: str | None = None
    time: Timestamp
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    duration: int | None = None
    count: int | None = None
    timezone_offset: int | None = None
    message: str | None = None
    metadata: Metadata
    observables: list[Observable] | None = None
    enrichments: list[Enrichment] | None = None
    raw_data: str | None = None
    unmapped: JsonObject | None = None
    store: StoreRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_identity(cls, data: Any) -> Any:
        """Fill class, category and type identifiers that the class implies."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data.setdefault("class_uid", cls.CLASS_UID)
        data.setdefault("category_uid", cls.CATEGORY_UID)
        activity = data.get("activity_id")
        if isinstance(activity, int) and not isinstance(activity, bool):
            data.setdefault("type_uid", cls.CLASS_UID * 100 + activity)
        return data

    @model_validator(mode="after")
    def _check_identity(self) -> Self:
        """Reject an event of another class; fill the captions OCSF pairs with ids."""
        self._check_uids()
        if self.EXTENSION is None:
            wanted = ocsf.at_least_one(self.CLASS_NAME)
            if wanted and all(getattr(self, name, None) is None for name in wanted):
                raise ValueError(f"at least one of {', '.join(wanted)} is required")
        self._fill_captions()
        self._declare_extension_and_profile()
        return self

    def _check_uids(self) -> None:
        if self.class_uid != self.CLASS_UID:
            raise ValueError(
                f"class_uid {self.class_uid} does not belong to {self.CLASS_NAME} "
                f"(expected {self.CLASS_UID})"
            )
        if self.type_uid != self.CLASS_UID * 100 + self.activity_id:
            raise ValueError(
                f"type_uid {self.type_uid} does not match class_uid {self.CLASS_UID} "
                f"and activity_id {self.activity_id}"
            )
        if self.category_uid != self.CATEGORY_UID:
            raise ValueError(
                f"category_uid {self.category_uid} does not belong to {self.CLASS_NAME}"
            )

    def _fill_captions(self) -> None:
        activity = self.activity_caption(self.activity_id)
        if self.activity_name is None:
            self.activity_name = activity
        if self.class_name is None:
            self.class_name = self.CLASS_CAPTION
        if self.category_name is None:
            self.category_name = ocsf.category_caption(self.CATEGORY_UID)
        if self.type_name is None and activity is not None:
            self.type_name = f"{self.CLASS_CAPTION}: {activity}"
        if self.severity is None:
            self.severity = self.severity_id.name.title()

    def _declare_extension_and_profile(self) -> None:
        if self.EXTENSION is not None:
            extensions = self.metadata.extensions or []
            if all(ext.uid != self.EXTENSION.uid for ext in extensions):
                self.metadata.extensions = [*extensions, self.EXTENSION]
        if self.store is not None:
            profiles = self.metadata.profiles or []
            if RETAIL_PROFILE not in profiles:
                self.metadata.profiles = [*profiles, RETAIL_PROFILE]

    @classmethod
    def activity_caption(cls, activity_id: int) -> str | None:
        """The caption of an activity of this class (None when undefined)."""
        if cls.ACTIVITIES:
            return cls.ACTIVITIES.get(activity_id)
        return ocsf.enum_caption(cls.CLASS_NAME, "activity_id", activity_id)
