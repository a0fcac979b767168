"""The official OCSF schema, as bundled by the `ocsf-json-schema` package.

Vigil's models name attributes; this module answers what the standard says
about them (captions of enum values, descriptions) so that nothing is written
twice, and builds the JSON Schemas that tests validate events against.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

OCSF_VERSION = "1.8.0"


@cache
def dictionary() -> dict[str, Any]:
    """The compiled OCSF schema (classes, objects, dictionary) for OCSF_VERSION."""
    return cast(dict[str, Any], get_ocsf_schema(version=OCSF_VERSION))


@cache
def _embedded() -> OcsfJsonSchemaEmbedded:
    return OcsfJsonSchemaEmbedded(dictionary())


def class_json_schema(class_name: str, profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    """Official JSON Schema (draft 2020-12) of a core class, objects embedded."""
    return cast(dict[str, Any], _embedded().get_class_schema(class_name, list(profiles)))


def object_json_schema(object_name: str) -> dict[str, Any]:
    """Official JSON Schema of one OCSF object, e.g. `metadata` or `device`."""
    return cast(dict[str, Any], _embedded().get_object_schema(object_name, []))


def class_attributes(class_name: str) -> dict[str, Any]:
    """The attribute table of a core class (name -> OCSF attribute definition)."""
    return cast(dict[str, Any], dictionary()["classes"][class_name]["attributes"])


def object_attributes(object_name: str) -> dict[str, Any]:
    """The attribute table of a core object."""
    return cast(dict[str, Any], dictionary()["objects"][object_name]["attributes"])


def enum_caption(class_name: str, attribute: str, value: int) -> str | None:
    """Caption of an enum value of a core class attribute (None when not defined)."""
    attributes = dictionary()["classes"].get(class_name, {}).get("attributes", {})
    enum = attributes.get(attribute, {}).get("enum", {})
    entry = enum.get(str(value))
    return None if entry is None else str(entry["caption"])


def description(attribute: str) -> str:
    """The dictionary description of an attribute name (empty when unknown)."""
    entry = dictionary()["dictionary"]["attributes"].get(attribute, {})
    return str(entry.get("description", ""))


def category_caption(category_uid: int) -> str | None:
    """Caption of a core category, e.g. 4 -> 'Network Activity'."""
    for category in dictionary()["categories"]["attributes"].values():
        if category["uid"] == category_uid:
            return str(category["caption"])
    return None


def at_least_one(class_name: str) -> tuple[str, ...]:
    """Attributes of a core class of which the standard requires at least one."""
    constraints = dictionary()["classes"].get(class_name, {}).get("constraints") or {}
    return tuple(constraints.get("at_least_one", ()))
