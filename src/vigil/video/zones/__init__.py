"""Zones drawn per camera: areas of a kind, counting lines and behaviour thresholds.

`types` is the model, `loader` reads, lints and writes the YAML (every problem as
`file:line`, all at once), `checks` holds the cross-field checks.

    zones = load_zones(Path("zones.yaml"))
    camera = zones.camera("s031-cam-04")
"""

from vigil.video.zones.geometry import polygon_problem, segments_intersect
from vigil.video.zones.loader import (
    SAMPLE_ZONES,
    ZoneLintError,
    dump_zones,
    lint_zones,
    load_sample_zones,
    load_zones,
    parse_zones,
    sample_zones_text,
)
from vigil.video.zones.types import (
    QUEUE_KINDS,
    CameraZones,
    Direction,
    Line,
    Point,
    Thresholds,
    Zone,
    ZoneKind,
    ZonesFile,
)

__all__ = [
    "QUEUE_KINDS",
    "SAMPLE_ZONES",
    "CameraZones",
    "Direction",
    "Line",
    "Point",
    "Thresholds",
    "Zone",
    "ZoneKind",
    "ZoneLintError",
    "ZonesFile",
    "dump_zones",
    "lint_zones",
    "load_sample_zones",
    "load_zones",
    "parse_zones",
    "polygon_problem",
    "sample_zones_text",
    "segments_intersect",
]
