"""Vectorised geometry over all detections of a frame: anchors, zones, lines, boxes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vigil.video.zones import Point

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def bottom_centres(boxes: Floats) -> Floats:
    """Where a person stands: the middle of each box's bottom edge, (n, 2)."""
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]], axis=1)


def points_in_polygon(points: Floats, polygon: Sequence[Point]) -> Bools:
    """Even-odd test of (n, 2) points against one polygon, all points at once."""
    corners = np.asarray(polygon, dtype=np.float64)
    x, y = points[:, 0:1], points[:, 1:2]
    x1, y1 = corners[None, :, 0], corners[None, :, 1]
    x2, y2 = np.roll(x1, -1, axis=1), np.roll(y1, -1, axis=1)
    spans = (y1 > y) != (y2 > y)
    rise = np.broadcast_to(y2 - y1, spans.shape)
    slope = np.divide(x2 - x1, rise, out=np.zeros(spans.shape), where=spans)
    crossing = x1 + (y - y1) * slope
    hits = spans & (x < crossing)
    result: Bools = hits.sum(axis=1) % 2 == 1
    return result


def zone_membership(points: Floats, polygons: Sequence[Sequence[Point]]) -> Bools:
    """(zones, n): which points stand in which zone."""
    if not polygons:
        return np.zeros((0, len(points)), dtype=bool)
    return np.stack([points_in_polygon(points, polygon) for polygon in polygons])


def signed_distances(points: Floats, start: Point, end: Point) -> tuple[Floats, Floats]:
    """Distance of each point from the line (positive on its left, image axes) and
    where it projects along the segment (0 at start, 1 at end)."""
    origin = np.asarray(start, dtype=np.float64)
    along = np.asarray(end, dtype=np.float64) - origin
    length = float(np.hypot(along[0], along[1]))
    offset = points - origin
    distance = (along[0] * offset[:, 1] - along[1] * offset[:, 0]) / length
    position = (offset @ along) / (length * length)
    return distance, position


def box_overlap(boxes: Floats, integral: npt.NDArray[np.float64]) -> Floats:
    """Pixels of a mask inside each box, from the mask's integral image (h+1, w+1)."""
    height, width = integral.shape[0] - 1, integral.shape[1] - 1
    x0 = np.clip(np.floor(boxes[:, 0]), 0, width).astype(np.intp)
    y0 = np.clip(np.floor(boxes[:, 1]), 0, height).astype(np.intp)
    x1 = np.clip(np.ceil(boxes[:, 2]), 0, width).astype(np.intp)
    y1 = np.clip(np.ceil(boxes[:, 3]), 0, height).astype(np.intp)
    result: Floats = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return result


def box_areas(boxes: Floats) -> Floats:
    result: Floats = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(
        boxes[:, 3] - boxes[:, 1], 0, None
    )
    return result
