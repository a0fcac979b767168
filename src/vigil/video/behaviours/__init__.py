"""Store video behaviours: zones and tracks in, Video Observation events out.

One module per behaviour (or small group), each registered in `behaviours`;
`VideoEngine` runs them all on every frame of one camera.
"""

from vigil.video.behaviours import (  # noqa: F401  (registers each behaviour)
    crowding,
    dwell,
    lines,
    loitering,
    queue,
    restricted,
    shelf,
)
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.engine import VideoEngine
from vigil.video.behaviours.observe import SNAPSHOT_ACTIVITIES, ObservationFactory
from vigil.video.behaviours.types import (
    Activity,
    Footfall,
    FrameError,
    PathCount,
    PathSummary,
    Scene,
    SnapshotHook,
    SnapshotRequest,
    Transition,
    UnknownBehaviourError,
)

__all__ = [
    "SNAPSHOT_ACTIVITIES",
    "Activity",
    "Behaviour",
    "BehaviourContext",
    "Footfall",
    "FrameError",
    "ObservationFactory",
    "PathCount",
    "PathSummary",
    "Scene",
    "SnapshotHook",
    "SnapshotRequest",
    "Transition",
    "UnknownBehaviourError",
    "VideoEngine",
    "behaviours",
]
