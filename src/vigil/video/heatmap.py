"""Heat maps: where people stood, as a grid of anchor counts over a camera's view.

Each analysed frame adds every person's anchor (bottom centre of the box) to a
grid of `cell`-pixel squares, so a cell's count is time spent there in frames.
Export the grid as numpy or JSON, or as a colour image blended over a frame.

    heat = HeatMap(768, 576, cell=16)
    heat.update(anchors)                       # (n, 2) pixels, once per frame
    heat.write_png(Path("heat.png"), frame)    # for the store manager
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigil.video.errors import VideoError

Image = npt.NDArray[np.uint8]


class HeatMapError(VideoError):
    """A heat map that cannot be built, read, drawn or written."""


class HeatMapData(BaseModel):
    """A heat map as data: the JSON form, and what the console draws from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(gt=0, description="Frame width, pixels.")
    height: int = Field(gt=0, description="Frame height, pixels.")
    cell: int = Field(gt=0, description="Side of a grid cell, pixels.")
    samples: int = Field(ge=0, description="Anchors added, in total.")
    counts: list[list[int]] = Field(description="Anchors per cell, row by row from the top.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        rows, cols = _grid_shape(self.width, self.height, self.cell)
        if len(self.counts) != rows or any(len(row) != cols for row in self.counts):
            raise ValueError(f"counts must be {rows} rows of {cols} cells")
        if sum(map(sum, self.counts)) != self.samples:
            raise ValueError("samples is not the sum of the counts")
        return self


def _grid_shape(width: int, height: int, cell: int) -> tuple[int, int]:
    return -(-height // cell), -(-width // cell)


class HeatMap:
    """Anchor counts per grid cell of one camera's frame."""

    def __init__(self, width: int, height: int, cell: int = 16) -> None:
        if width <= 0 or height <= 0 or cell <= 0:
            raise HeatMapError(f"a heat map needs positive sizes, not {width}x{height}/{cell}")
        self.width = width
        self.height = height
        self.cell = cell
        self.counts = np.zeros(_grid_shape(width, height, cell), dtype=np.int64)

    @property
    def samples(self) -> int:
        return int(self.counts.sum())

    def update(self, points: npt.NDArray[np.float64]) -> None:
        """Add (n, 2) anchors; points on or past the frame's edge go to the edge cell."""
        if len(points) == 0:
            return
        x = np.clip(points[:, 0], 0, self.width - 1)
        y = np.clip(points[:, 1], 0, self.height - 1)
        rows = (y // self.cell).astype(np.intp)
        cols = (x // self.cell).astype(np.intp)
        np.add.at(self.counts, (rows, cols), 1)

    def data(self) -> HeatMapData:
        return HeatMapData(
            width=self.width,
            height=self.height,
            cell=self.cell,
            samples=self.samples,
            counts=self.counts.tolist(),
        )

    def to_json(self) -> str:
        return self.data().model_dump_json()

    @classmethod
    def from_data(cls, data: HeatMapData) -> HeatMap:
        heat = cls(data.width, data.height, data.cell)
        heat.counts = np.asarray(data.counts, dtype=np.int64).reshape(heat.counts.shape)
        return heat

    @classmethod
    def from_json(cls, text: str) -> HeatMap:
        try:
            return cls.from_data(HeatMapData.model_validate_json(text))
        except ValidationError as error:
            raise HeatMapError(f"not a heat map: {error.errors()[0]['msg']}") from error

    def save_npy(self, path: Path) -> None:
        """The grid as a numpy file (rows x cols of int64)."""
        try:
            np.save(path, self.counts)
        except OSError as error:
            raise HeatMapError(f"cannot write {path}: {error.strerror}") from error

    def colours(self) -> Image:
        """The grid as a full-frame colour image (JET; log scale, so quiet cells show)."""
        peak = float(self.counts.max())
        scaled = np.log1p(self.counts) / np.log1p(peak) if peak > 0 else np.zeros(self.counts.shape)
        grid = np.round(scaled * 255).astype(np.uint8)
        big = cv2.resize(grid, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        return np.asarray(cv2.applyColorMap(big, cv2.COLORMAP_JET), dtype=np.uint8)

    def overlay(self, frame: Image, opacity: float = 0.5) -> Image:
        """The heat map blended over a frame; cells nobody stood in stay clear."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise HeatMapError(
                f"frame is {frame.shape} {frame.dtype}; the heat map is for "
                f"({self.height}, {self.width}, 3) uint8"
            )
        if not 0 <= opacity <= 1:
            raise HeatMapError(f"opacity must be between 0 and 1, not {opacity}")
        visited = np.repeat(np.repeat(self.counts > 0, self.cell, 0), self.cell, 1)
        weight = opacity * visited[: self.height, : self.width, None]
        blended = frame * (1.0 - weight) + self.colours() * weight
        result: Image = np.round(blended).astype(np.uint8)
        return result

    def write_png(self, path: Path, frame: Image, opacity: float = 0.5) -> None:
        """Save the overlay as a PNG (OpenCV)."""
        ok, encoded = cv2.imencode(".png", self.overlay(frame, opacity))
        if not ok:
            raise HeatMapError("OpenCV could not encode the heat map as PNG")
        try:
            path.write_bytes(encoded.tobytes())
        except OSError as error:
            raise HeatMapError(f"cannot write {path}: {error.strerror}") from error


__all__ = ["HeatMap", "HeatMapData", "HeatMapError"]
