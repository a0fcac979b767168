"""Checking events against the official OCSF 1.8.0 JSON Schema, shared by the suites."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from pydantic import BaseModel

from vigil.events import RETAIL_PROFILE, OcsfEvent, ocsf
from vigil.events import objects as core_objects
from vigil.events import system as system_objects
from vigil.events.columns import model_nodes

# Our model of each OCSF object -> the official object name.
OFFICIAL_OBJECT = {
    core_objects.Product: "product",
    core_objects.Metadata: "metadata",
    core_objects.ExtensionRef: "extension",
    core_objects.Location: "location",
    core_objects.OperatingSystem: "os",
    core_objects.Account: "account",
    core_objects.Group: "group",
    core_objects.User: "user",
    core_objects.Session: "session",
    core_objects.Actor: "actor",
    core_objects.Service: "service",
    core_objects.NetworkEndpoint: "network_endpoint",
    core_objects.NetworkConnectionInfo: "network_connection_info",
    core_objects.NetworkTraffic: "network_traffic",
    core_objects.Url: "url",
    core_objects.HttpRequest: "http_request",
    core_objects.HttpResponse: "http_response",
    core_objects.DnsQuery: "dns_query",
    core_objects.DnsAnswer: "dns_answer",
    core_objects.Device: "device",
    core_objects.Observable: "observable",
    core_objects.Enrichment: "enrichment",
    core_objects.Technique: "technique",
    core_objects.Tactic: "tactic",
    core_objects.Attack: "attack",
    core_objects.Analytic: "analytic",
    core_objects.RelatedEvent: "related_event",
    core_objects.FindingInfo: "finding_info",
    core_objects.Evidence: "evidences",
    core_objects.Remediation: "remediation",
    system_objects.File: "file",
    system_objects.ParentProcess: "process",
    system_objects.Process: "process",
    system_objects.ProcessActor: "actor",
}


def official_json(event: OcsfEvent) -> dict[str, Any]:
    """The event as the official schema sees it: the retail profile's attribute set aside."""
    document = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    document.pop("store", None)
    profiles = [p for p in document["metadata"].get("profiles", []) if p != RETAIL_PROFILE]
    if profiles:
        document["metadata"]["profiles"] = profiles
    else:
        document["metadata"].pop("profiles", None)
    return document


@cache
def _class_validator(class_name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(ocsf.class_json_schema(class_name))


@cache
def _object_validator(object_name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(ocsf.object_json_schema(object_name))


def ocsf_errors(event: OcsfEvent, objects: dict[type[BaseModel], str]) -> list[str]:
    """Schema errors of an event: the whole event for core classes, and the official
    objects inside extension classes."""
    document = official_json(event)
    if type(event).EXTENSION is None:
        validator = _class_validator(type(event).CLASS_NAME)
        return [error.message for error in validator.iter_errors(document)]
    errors = []
    for node in model_nodes(type(event)):
        if node.model in objects and node.name in document:
            validator = _object_validator(objects[node.model])
            errors.extend(error.message for error in validator.iter_errors(document[node.name]))
    return errors
