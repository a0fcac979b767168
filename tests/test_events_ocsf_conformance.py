"""Events Vigil emits are checked against the official OCSF 1.8.0 schema."""

from __future__ import annotations

import jsonschema
import pytest
from pydantic import BaseModel

from ocsf_check import OFFICIAL_OBJECT, official_json
from vigil.events import EVENT_CLASSES, OcsfEvent, ocsf
from vigil.events.base import StoreRef
from vigil.events.columns import model_nodes

CORE_CLASSES = [cls for cls in EVENT_CLASSES if cls.EXTENSION is None]


@pytest.mark.parametrize("model", list(OFFICIAL_OBJECT), ids=lambda m: m.__name__)
def test_object_attributes_exist_in_ocsf(model: type[BaseModel]) -> None:
    official = ocsf.object_attributes(OFFICIAL_OBJECT[model])
    ours = {node.name for node in model_nodes(model)}
    assert ours - set(official) == set()
    required = {name for name, spec in official.items() if spec.get("requirement") == "required"}
    assert required <= ours, f"{model.__name__} lacks required {required - ours}"


@pytest.mark.parametrize("cls", CORE_CLASSES, ids=lambda c: c.CLASS_NAME)
def test_class_attributes_exist_in_ocsf(cls: type[OcsfEvent]) -> None:
    official = ocsf.class_attributes(cls.CLASS_NAME)
    ours = {node.name for node in model_nodes(cls)} - {"store"}
    assert ours - set(official) == set()
    required = {
        name
        for name, spec in official.items()
        if spec.get("requirement") == "required" and not spec.get("profiles")
    }
    assert required <= ours
    assert ocsf.dictionary()["classes"][cls.CLASS_NAME]["uid"] == cls.CLASS_UID


def test_core_sample_events_validate_against_official_schema(
    sample_events: list[OcsfEvent],
) -> None:
    validators = {
        cls: jsonschema.Draft202012Validator(ocsf.class_json_schema(cls.CLASS_NAME))
        for cls in CORE_CLASSES
    }
    checked = 0
    for event in sample_events:
        validator = validators.get(type(event))
        if validator is None:
            continue
        errors = [error.message for error in validator.iter_errors(official_json(event))]
        assert errors == [], f"{type(event).__name__}: {errors}"
        checked += 1
    assert checked > 300


def test_extension_events_use_official_objects(sample_events: list[OcsfEvent]) -> None:
    """Extension classes are ours, but the OCSF objects inside them must be valid OCSF."""
    checked = 0
    for event in sample_events:
        if type(event).EXTENSION is None:
            continue
        document = official_json(event)
        for node in model_nodes(type(event)):
            if node.model in OFFICIAL_OBJECT and node.name in document:
                schema = ocsf.object_json_schema(OFFICIAL_OBJECT[node.model])
                jsonschema.Draft202012Validator(schema).validate(document[node.name])
                checked += 1
    assert checked > 100


def test_a_finding_validates_against_official_schema() -> None:
    from vigil.events import DetectionFinding, IncidentFinding

    meta = {"product": {"name": "Vigil", "vendor_name": "Vigil"}}
    finding_info = {
        "uid": "f-1",
        "title": "POS terminal uploads to a new destination",
        "analytic": {"uid": "pos-new-destination", "name": "retail", "type_id": 1},
        "attacks": [{"technique": {"uid": "T1041", "name": "Exfiltration Over C2 Channel"}}],
    }
    detection = DetectionFinding(
        activity_id=1,
        time=0,
        metadata=meta,
        severity_id=4,
        finding_info=finding_info,
        evidences=[{"data": {"bytes_out": 2300000}, "dst_endpoint": {"ip": "203.0.113.9"}}],
        store=StoreRef(uid="031"),
        risk_score=80,
    )
    incident = IncidentFinding(
        activity_id=1,
        time=0,
        metadata=meta,
        severity_id=4,
        finding_info_list=[finding_info],
        assignee_group={"name": "SOC"},
    )
    for event in (detection, incident):
        schema = ocsf.class_json_schema(type(event).CLASS_NAME)
        jsonschema.Draft202012Validator(schema).validate(official_json(event))
