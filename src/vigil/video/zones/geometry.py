"""Polygon checks for zones: crossing edges, repeated corners, no area (vectorised)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _orientation(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Sign of the turn a -> b -> c, row-wise: 1 left, -1 right, 0 collinear."""
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return np.sign(cross)


def _on_segment(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Whether collinear point c lies within the box of segment a-b, row-wise."""
    low = np.minimum(a, b)
    high = np.maximum(a, b)
    return np.asarray(np.all((low <= c) & (c <= high), axis=1), dtype=bool)


def segments_intersect(
    p1: npt.NDArray[np.float64],
    p2: npt.NDArray[np.float64],
    q1: npt.NDArray[np.float64],
    q2: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Row-wise: does segment p1-p2 touch segment q1-q2 (touching and overlap count)."""
    o1, o2 = _orientation(p1, p2, q1), _orientation(p1, p2, q2)
    o3, o4 = _orientation(q1, q2, p1), _orientation(q1, q2, p2)
    proper = (o1 != o2) & (o3 != o4)
    touching = (
        ((o1 == 0) & _on_segment(p1, p2, q1))
        | ((o2 == 0) & _on_segment(p1, p2, q2))
        | ((o3 == 0) & _on_segment(q1, q2, p1))
        | ((o4 == 0) & _on_segment(q1, q2, p2))
    )
    return np.asarray(proper | touching, dtype=bool)


def polygon_problem(points: npt.NDArray[np.float64]) -> str | None:
    """Why a polygon is not simple (repeated corner, no area, crossing edges), or None."""
    count = len(points)
    following = np.roll(points, -1, axis=0)
    repeated = np.flatnonzero(np.all(points == following, axis=1))
    if repeated.size:
        return f"corner {int(repeated[0])} is repeated"
    i, j = np.triu_indices(count, k=2)
    keep = ~((i == 0) & (j == count - 1))  # the first and last edges share a corner
    i, j = i[keep], j[keep]
    hits = segments_intersect(points[i], following[i], points[j], following[j])
    if hits.any():
        first = int(np.flatnonzero(hits)[0])
        return f"the polygon crosses itself (edge {int(i[first])} meets edge {int(j[first])})"
    area = 0.5 * float(np.sum(points[:, 0] * following[:, 1] - following[:, 0] * points[:, 1]))
    if area == 0:
        return "the polygon has no area (its corners are on one line)"
    return None
