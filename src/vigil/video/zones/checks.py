"""Cross-field checks of a zones file: small named functions, each yielding findings.

They read the YAML tree, not the validated model, so they run on every zone and
line that is valid on its own even when others in the file are broken: lint then
reports a duplicate id and a bad polygon at once. A finding is (path, message);
the loader turns paths into file:line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from vigil.video.zones.types import Line, Point, Zone

YamlPath = tuple[str | int, ...]
Finding = tuple[YamlPath, str]


def _cameras(tree: Any) -> Iterator[tuple[YamlPath, Any]]:
    cameras = tree.get("cameras")
    if isinstance(cameras, list):
        for index, camera in enumerate(cameras):
            if isinstance(camera, dict):
                yield ("cameras", index), camera


def _items(camera: Any) -> Iterator[tuple[YamlPath, Any]]:
    for key in ("zones", "lines"):
        items = camera.get(key)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    yield (key, index), item


def _valid(key: str, item: Any) -> Zone | Line | None:
    try:
        return Zone.model_validate(item) if key == "zones" else Line.model_validate(item)
    except ValidationError:
        return None


def _points(item: Zone | Line) -> list[tuple[YamlPath, Point]]:
    if isinstance(item, Zone):
        return [(("polygon", k), point) for k, point in enumerate(item.polygon)]
    return [(("start",), item.start), (("end",), item.end)]


def points_inside_frame(tree: Any) -> Iterator[Finding]:
    """Every corner and line end within the camera's width x height."""
    for camera_path, camera in _cameras(tree):
        width, height = camera.get("width"), camera.get("height")
        if not all(type(v) is int and v > 0 for v in (width, height)):
            continue  # the model check reports the size itself
        for item_path, raw in _items(camera):
            item = _valid(str(item_path[0]), raw)
            if item is None:
                continue
            for point_path, (x, y) in _points(item):
                if not (0 <= x <= width and 0 <= y <= height):
                    yield (
                        (*camera_path, *item_path, *point_path),
                        f"point ({x:g}, {y:g}) is outside the {width}x{height} frame",
                    )


def unique_ids(tree: Any) -> Iterator[Finding]:
    """Zone and line ids unique per camera: events carry them."""
    for camera_path, camera in _cameras(tree):
        ids = [
            ((*camera_path, *path, "id"), item["id"])
            for path, item in _items(camera)
            if isinstance(item.get("id"), str)
        ]
        counts = Counter(uid for _, uid in ids)
        for path, uid in ids:
            if counts[uid] > 1:
                yield path, f"id {uid!r} is used {counts[uid]} times on this camera"


def unique_cameras(tree: Any) -> Iterator[Finding]:
    """One entry per camera uid in a file."""
    uids = [(path, camera.get("uid")) for path, camera in _cameras(tree)]
    counts = Counter(uid for _, uid in uids if isinstance(uid, str))
    for path, uid in uids:
        if isinstance(uid, str) and counts[uid] > 1:
            yield (*path, "uid"), f"camera {uid!r} is listed {counts[uid]} times"


CHECKS: tuple[Callable[[Any], Iterator[Finding]], ...] = (
    unique_cameras,
    unique_ids,
    points_inside_frame,
)
