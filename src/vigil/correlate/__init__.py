"""Correlation: alerts folded into incidents, with risk that explains itself, timelines and evidence.

`Correlator.update(alerts)` folds a batch of detection alerts into incidents by
shared entities and time; `RiskModel` scores them with the estate's context;
`timeline` and `evidence` build the forensic timeline and the evidence bundle;
`service` keeps incidents in the operational database.
"""

from vigil.correlate.compression import Compression, compress
from vigil.correlate.config import CorrelateConfig, LinkSpec
from vigil.correlate.errors import (
    BundleError,
    BundleTamperedError,
    CorrelateConfigError,
    CorrelateError,
    IncidentStateError,
    TimelineError,
    UnknownIncidentError,
)
from vigil.correlate.fold import Correlator
from vigil.correlate.risk import RiskModel
from vigil.correlate.types import (
    Change,
    ChangeKind,
    Changes,
    EntityGraph,
    EntityRole,
    Incident,
    IncidentAlert,
    IncidentEntity,
    IncidentNote,
    IncidentStatus,
    Merge,
    Risk,
    RiskLevel,
    RiskPart,
    Timeline,
    TimelineEntry,
)

__all__ = [
    "BundleError",
    "BundleTamperedError",
    "Change",
    "ChangeKind",
    "Changes",
    "Compression",
    "CorrelateConfig",
    "CorrelateConfigError",
    "CorrelateError",
    "Correlator",
    "EntityGraph",
    "EntityRole",
    "Incident",
    "IncidentAlert",
    "IncidentEntity",
    "IncidentNote",
    "IncidentStateError",
    "IncidentStatus",
    "LinkSpec",
    "Merge",
    "Risk",
    "RiskLevel",
    "RiskModel",
    "RiskPart",
    "Timeline",
    "TimelineEntry",
    "TimelineError",
    "UnknownIncidentError",
    "compress",
]
