"""What the runtime needs to analyse one camera, and what it reports about it.

`CameraSpec` is everything a worker process needs (it is pickled to the worker);
`CameraHealth` is what comes back, once a second and at the end; the worker's
messages are the small typed records below, never dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from vigil.events import VideoObservation
from vigil.video.behaviours import Footfall
from vigil.video.detectors import NanoDetConfig, VideoModelConfig
from vigil.video.pipeline import PipelineConfig
from vigil.video.snapshots import SnapshotConfig
from vigil.video.sources import SourceConfig
from vigil.video.zones import CameraZones


class OutputsConfig(BaseModel):
    """Files written for a camera besides its events: all of them blurred exports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: Path = Field(description="Folder for `<camera>.mp4` and `<camera>-heatmap.*`.")
    video: bool = Field(default=True, description="Write the annotated video.")
    heatmap: bool = Field(default=True, description="Write the heat map (PNG and grid JSON).")
    heatmap_cell: int = Field(default=16, ge=1, description="Heat map cell side, pixels.")


class CameraSpec(BaseModel):
    """One camera: where its frames come from, its zones, model and settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store_uid: str = Field(description="Store the camera is in, as in the estate.")
    source: SourceConfig = Field(description="Stream, file or folder, and analysis rate.")
    zones: CameraZones = Field(description="The camera's zones; its uid names the camera.")
    model: VideoModelConfig = Field(
        default_factory=NanoDetConfig, description="Detector; NanoDet from the model cache."
    )
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="Motion, tracking, privacy, behaviours."
    )
    snapshots: SnapshotConfig | None = Field(
        default=None, description="Keep blurred snapshots of notable events at the store."
    )
    outputs: OutputsConfig | None = Field(
        default=None, description="Also write an annotated video and a heat map."
    )

    @property
    def uid(self) -> str:
        return self.zones.uid


class CameraState(StrEnum):
    """Where a camera's analysis is."""

    STARTING = "starting"
    RUNNING = "running"
    ENDED = "ended"
    """The file or folder ended."""
    STOPPED = "stopped"
    """Stopped on request."""
    FAILED = "failed"
    """Could not start, or its source was given up."""


@dataclass(frozen=True)
class CameraHealth:
    """One camera's figures; rates are over the last report interval."""

    camera: str
    worker: int
    state: CameraState
    at: datetime
    frames_in: int = 0
    """Frames read from the source."""
    analysed: int = 0
    skipped: int = 0
    """Frames read but not due at the analysis rate (by timestamp)."""
    drops: int = 0
    """Due frames dropped because analysis fell behind a live source."""
    fps_in: float = 0.0
    fps_analysed: float = 0.0
    lag_seconds: float = 0.0
    """From reading the last analysed frame to its events being ready."""
    detector_runs: int = 0
    full_frames: int = 0
    region_frames: int = 0
    idle_frames: int = 0
    reconnects: int = 0
    errors: int = 0
    last_error: str | None = None
    cpu_seconds: float = 0.0
    """CPU time of this camera's reading and analysis threads."""
    events: dict[str, int] = field(default_factory=dict)
    """Events so far by activity name."""
    footfall: tuple[Footfall, ...] = ()


@dataclass(frozen=True)
class EventsMessage:
    """Events of one camera, in time order."""

    camera: str
    events: tuple[VideoObservation, ...]


@dataclass(frozen=True)
class HealthMessage:
    health: CameraHealth


@dataclass(frozen=True)
class WorkerExit:
    """A worker finished (its cameras ended or it was stopped); `error` if it crashed."""

    worker: int
    error: str | None = None


WorkerMessage = EventsMessage | HealthMessage | WorkerExit
