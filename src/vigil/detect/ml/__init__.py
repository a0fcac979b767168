"""Unsupervised detectors, the River way: hyperparameters in, `learn`/`score` on batches.

Importing this package registers every detector; a YAML rule names one with
`detector: {type: seasonal_baseline, ...}` and `build_detector` makes it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vigil.detect.ml.base import (
    DetectorConfig,
    DetectorInputError,
    build_detector,
    detector_configs,
    detectors,
)
from vigil.detect.ml.context import add_season_columns
from vigil.detect.ml.isolation import (
    HalfSpaceTrees,
    HalfSpaceTreesConfig,
    IsolationForestConfig,
    IsolationForestDetector,
)
from vigil.detect.ml.peers import PeerGroup, PeerGroupConfig, cashier_periods
from vigil.detect.ml.profile import DeviceProfile, DeviceProfileConfig
from vigil.detect.ml.seasonal import SeasonalBaseline, SeasonalBaselineConfig

AnyDetectorConfig = Annotated[
    SeasonalBaselineConfig
    | IsolationForestConfig
    | HalfSpaceTreesConfig
    | DeviceProfileConfig
    | PeerGroupConfig,
    Field(discriminator="type"),
]
"""A rule's `detector:` section, as a pydantic field type."""

__all__ = [
    "AnyDetectorConfig",
    "DetectorConfig",
    "DetectorInputError",
    "DeviceProfile",
    "DeviceProfileConfig",
    "HalfSpaceTrees",
    "HalfSpaceTreesConfig",
    "IsolationForestConfig",
    "IsolationForestDetector",
    "PeerGroup",
    "PeerGroupConfig",
    "SeasonalBaseline",
    "SeasonalBaselineConfig",
    "add_season_columns",
    "build_detector",
    "cashier_periods",
    "detector_configs",
    "detectors",
]
