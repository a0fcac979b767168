"""Annotated frames and clips: zones, counting lines, people with their track ids.

    image = draw(pipeline.exportable(analysed), camera, analysed.people, analysed.gate.region)
    with AnnotatedVideo(Path("out/cam.mp4"), fps=5, size=(768, 576)) as video:
        video.write(image)

Draw on a frame whose heads are already blurred (`VideoPipeline.exportable`): an
annotated frame is an export like any other.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
import supervision as sv

from vigil.video.capture import Image
from vigil.video.errors import VideoError
from vigil.video.motion import Region
from vigil.video.zones import CameraZones, ZoneKind

Colour = tuple[int, int, int]
ZONE_COLOURS: dict[ZoneKind, Colour] = {  # BGR
    ZoneKind.AREA: (230, 170, 60),
    ZoneKind.RESTRICTED: (40, 40, 230),
    ZoneKind.SHELF: (40, 200, 240),
    ZoneKind.QUEUE: (200, 80, 200),
    ZoneKind.CHECKOUT: (200, 80, 200),
    ZoneKind.ENTRANCE: (80, 220, 80),
}
LINE_COLOUR: Colour = (0, 140, 255)
PERSON_COLOUR: Colour = (255, 255, 255)
REGION_COLOUR: Colour = (160, 160, 160)
FONT = cv2.FONT_HERSHEY_SIMPLEX


class AnnotationError(VideoError):
    """An annotated video that cannot be written."""


def draw(
    image: Image,
    camera: CameraZones,
    people: sv.Detections,
    region: Region | None = None,
    time: datetime | None = None,
) -> Image:
    """A copy of the (already blurred) frame with zones, lines, the crop and people drawn."""
    out = image.copy()
    shaded = out.copy()
    for zone in camera.zones:
        polygon = np.round(np.asarray(zone.polygon)).astype(np.int32)
        cv2.fillPoly(shaded, [polygon], ZONE_COLOURS[zone.kind])
    cv2.addWeighted(shaded, 0.18, out, 0.82, 0, dst=out)
    for zone in camera.zones:
        polygon = np.round(np.asarray(zone.polygon)).astype(np.int32)
        colour = ZONE_COLOURS[zone.kind]
        cv2.polylines(out, [polygon], isClosed=True, color=colour, thickness=1)
        x, y = polygon.min(axis=0)
        _label(out, zone.id, (int(x) + 3, int(y) + 12), colour)
    for line in camera.lines:
        start = (round(line.start[0]), round(line.start[1]))
        end = (round(line.end[0]), round(line.end[1]))
        cv2.line(out, start, end, LINE_COLOUR, 2)
        middle = ((start[0] + end[0]) // 2, (start[1] + end[1]) // 2)
        dx, dy = line.in_direction.vector
        tip = (round(middle[0] + 18 * dx), round(middle[1] + 18 * dy))
        cv2.arrowedLine(out, middle, tip, LINE_COLOUR, 2, tipLength=0.4)
        _label(out, f"{line.id} in", (tip[0] + 2, tip[1] + 4), LINE_COLOUR)
    if region is not None and region.area < camera.width * camera.height:
        cv2.rectangle(out, (region.x0, region.y0), (region.x1 - 1, region.y1 - 1), REGION_COLOUR)
    ids = people.tracker_id if people.tracker_id is not None else [None] * len(people)
    for box, track in zip(people.xyxy.tolist(), ids, strict=True):
        x0, y0, x1, y1 = (round(value) for value in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), PERSON_COLOUR, 1)
        _label(out, "?" if track is None else f"#{track}", (x0, max(10, y0 - 3)), PERSON_COLOUR)
    if time is not None:
        _label(out, time.strftime("%Y-%m-%d %H:%M:%S UTC"), (6, camera.height - 8), PERSON_COLOUR)
    return out


def _label(image: Image, text: str, origin: tuple[int, int], colour: Colour) -> None:
    """Text with a dark outline, readable on grass and on tarmac."""
    cv2.putText(image, text, origin, FONT, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, 0.4, colour, 1, cv2.LINE_AA)


class AnnotatedVideo:
    """An MP4 (MPEG-4 Part 2, which every OpenCV build writes) of annotated frames."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.size = size
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            raise AnnotationError(f"OpenCV cannot write a video to {path}")
        self.frames = 0

    def write(self, image: Image) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            raise AnnotationError(f"{self.path}: frame {image.shape} is not {self.size}")
        self.writer.write(image)
        self.frames += 1

    def close(self) -> None:
        self.writer.release()

    def __enter__(self) -> AnnotatedVideo:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
