"""Zones files: the model, file:line errors, lint reporting everything at once, round trip."""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import BaseModel

from vigil.video.errors import ZoneConfigError
from vigil.video.zones import (
    CameraZones,
    Line,
    Thresholds,
    Zone,
    ZoneKind,
    ZoneLintError,
    ZonesFile,
    dump_zones,
    lint_zones,
    load_sample_zones,
    load_zones,
    parse_zones,
    sample_zones_text,
)

GOOD = dedent(
    """\
    version: 1
    cameras:
      - uid: cam-1
        width: 320
        height: 240
        thresholds:
          loiter_seconds: 45
        zones:
          - id: floor
            kind: area
            polygon: [[0, 0], [320, 0], [320, 240], [0, 240]]
          - id: till
            kind: checkout
            polygon: [[10, 10], [60, 10], [60, 60], [10, 60]]
            thresholds:
              loiter_seconds: null
              service_seconds: 40
          - id: shelf-a
            kind: shelf
            polygon: [[100, 20], [200, 20], [200, 80], [100, 80]]
            thresholds:
              loiter_seconds: 10
        lines:
          - id: door
            start: [160, 100]
            end: [160, 200]
            in_direction: right
    """
)


def test_a_good_file_loads_with_inherited_thresholds() -> None:
    zones = parse_zones(GOOD, "good.yaml")
    camera = zones.camera("cam-1")
    floor, till, shelf = camera.zones
    assert floor.kind is ZoneKind.AREA
    assert camera.zone_thresholds(floor).loiter_seconds == 45  # the camera's
    assert camera.zone_thresholds(till).loiter_seconds is None  # switched off
    assert camera.zone_thresholds(till).service_seconds == 40  # its own
    assert camera.zone_thresholds(shelf).loiter_seconds == 10
    assert camera.zone_thresholds(floor).service_seconds == 90  # built-in default


def test_unknown_camera_is_a_zone_config_error() -> None:
    with pytest.raises(ZoneConfigError, match="no camera 'cam-9'"):
        parse_zones(GOOD).camera("cam-9")


def test_round_trip_keeps_the_model_and_what_was_inherited() -> None:
    zones = parse_zones(GOOD)
    text = dump_zones(zones)
    again = parse_zones(text)
    assert again == zones
    assert dump_zones(again) == text
    assert "service_seconds" not in text.split("zones:")[0]  # inherited stays inherited
    assert "loiter_seconds: null" in text  # switched off stays off


def test_round_trip_of_an_edited_model() -> None:
    zones = parse_zones(GOOD)
    camera = zones.cameras[0]
    moved = camera.zones[0].model_copy(update={"polygon": [(0, 0), (300.5, 0), (300.5, 200)]})
    edited = ZonesFile(cameras=[camera.model_copy(update={"zones": [moved, *camera.zones[1:]]})])
    assert parse_zones(dump_zones(edited)) == edited
    assert "[300.5, 0]" in dump_zones(edited)


def test_the_sample_zones_load_and_round_trip() -> None:
    zones = load_sample_zones()
    camera = zones.cameras[0]
    assert (camera.width, camera.height) == (768, 576)
    kinds = {zone.kind for zone in camera.zones}
    assert {ZoneKind.AREA, ZoneKind.RESTRICTED, ZoneKind.ENTRANCE} <= kinds
    assert camera.lines
    assert parse_zones(dump_zones(zones)) == zones
    assert lint_zones(sample_zones_text()) == []


def _camera_with(item: str, section: str = "zones") -> str:
    body = dedent(item).strip("\n").replace("\n", "\n      ")
    return f"version: 1\ncameras:\n  - uid: cam-1\n    width: 320\n    height: 240\n    {section}:\n      {body}\n"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param(
            _camera_with("- id: a\n  kind: aisle\n  polygon: [[0, 0], [10, 0], [10, 10]]"),
            8,
            "'area', 'restricted', 'shelf', 'queue', 'checkout' or 'entrance'",
            id="unknown-kind",
        ),
        pytest.param(
            _camera_with("- id: a\n  kind: area\n  polygon: [[0, 0], [10, 10], [10, 0], [0, 10]]"),
            9,
            "crosses itself",
            id="self-intersecting",
        ),
        pytest.param(
            _camera_with("- id: a\n  kind: area\n  polygon: [[0, 0], [5, 5], [10, 10]]"),
            9,
            "no area",
            id="collinear",
        ),
        pytest.param(
            _camera_with("- id: a\n  kind: area\n  polygon: [[0, 0], [0, 0], [10, 10], [0, 10]]"),
            9,
            "corner 0 is repeated",
            id="repeated-corner",
        ),
        pytest.param(
            _camera_with(
                "- id: a\n  kind: area\n  polygon:\n  - [0, 0]\n  - [400, 0]\n  - [0, 10]"
            ),
            11,
            "point (400, 0) is outside the 320x240 frame",
            id="outside-frame",
        ),
        pytest.param(
            _camera_with(
                "- id: a\n  kind: area\n  colour: red\n  polygon: [[0, 0], [9, 0], [0, 9]]"
            ),
            9,
            "colour: unknown field",
            id="unknown-field",
        ),
        pytest.param(
            _camera_with(
                "- id: door\n  start: [0, 100]\n  end: [300, 100]\n  in_direction: left", "lines"
            ),
            7,
            "runs along the line",
            id="direction-along-line",
        ),
        pytest.param(
            _camera_with("- id: door\n  start: [5, 5]\n  end: [5, 5]\n  in_direction: up", "lines"),
            7,
            "start and end are the same point",
            id="zero-length-line",
        ),
        pytest.param(
            _camera_with(
                "- id: a\n  kind: area\n  polygon: [[0, 0], [9, 0], [0, 9]]\n  thresholds: {crowd_count: 0}"
            ),
            10,
            "crowd_count: Input should be greater than or equal to 1",
            id="bad-threshold",
        ),
        pytest.param("version: 1\ncameras: [\n", 3, "malformed YAML", id="malformed-yaml"),
        pytest.param("- just\n- a list\n", 1, "a zones file is a YAML mapping", id="not-a-mapping"),
    ],
)
def test_each_error_carries_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ZoneLintError) as caught:
        parse_zones(text, "store/zones.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("store/zones.yaml", line)
    assert fragment in problem.message
    assert str(problem).startswith(f"store/zones.yaml:{line}: ")


BROKEN = dedent(
    """\
    version: 1
    cameras:
      - uid: cam-1
        width: 320
        height: 240
        zones:
          - id: a
            kind: aisle
            polygon: [[0, 0], [10, 0], [10, 10]]
          - id: b
            kind: area
            polygon: [[0, 0], [10, 10], [10, 0], [0, 10]]
          - id: c
            kind: area
            polygon: [[0, 0], [10, 0], [10, 999]]
          - id: c
            kind: shelf
            polygon: [[20, 20], [30, 20], [30, 30]]
        lines:
          - id: a
            start: [0, 100]
            end: [50, 100]
            in_direction: down
      - uid: cam-1
        width: 0
        height: 240
    """
)


def test_lint_reports_every_problem_at_once() -> None:
    problems = lint_zones(BROKEN, "z.yaml")
    found = [(p.line, p.message.split(": ", 1)[0]) for p in problems]
    assert found == [
        (3, "cameras.0.uid"),  # the camera uid is listed twice
        (7, "cameras.0.zones.0.id"),  # zone a and line a
        (8, "cameras.0.zones.0.kind"),  # unknown kind
        (12, "cameras.0.zones.1.polygon"),  # crosses itself
        (13, "cameras.0.zones.2.id"),  # duplicate id c
        (15, "cameras.0.zones.2.polygon.2"),  # point outside the frame
        (16, "cameras.0.zones.3.id"),  # duplicate id c
        (20, "cameras.0.lines.0.id"),  # duplicate of zone a, though that zone is broken
        (24, "cameras.1.uid"),
        (25, "cameras.1.width"),
    ]
    with pytest.raises(ZoneLintError) as caught:
        parse_zones(BROKEN, "z.yaml")
    assert len(caught.value.problems) == len(problems)
    assert str(caught.value).count("z.yaml:") == len(problems)


def test_load_zones_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "zones.yaml"
    path.write_text(GOOD.replace("kind: shelf", "kind: shelves"), encoding="utf-8")
    with pytest.raises(ZoneLintError, match=re.escape(f"{path}:19: cameras.0.zones.2.kind")):
        load_zones(path)
    with pytest.raises(ZoneConfigError, match="cannot read"):
        load_zones(tmp_path / "missing.yaml")
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ZoneConfigError, match="not UTF-8"):
        load_zones(path)


@pytest.mark.parametrize("model", [ZonesFile, CameraZones, Zone, Line, Thresholds])
def test_every_field_is_described_for_docs_and_the_console(model: type[BaseModel]) -> None:
    undescribed = [name for name, field in model.model_fields.items() if not field.description]
    assert undescribed == []
