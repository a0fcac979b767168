"""The simulator: a living retail estate with attacks, fraud and ground truth.

It writes raw telemetry in the formats real systems emit, so that ingest is
exercised exactly as in production, and the ground truth that evaluation reads.
"""

from vigil.sim.estate_gen import generate_estate
from vigil.sim.runner import SimResult, simulate
from vigil.sim.types import (
    Scenario,
    ScenarioParams,
    SimError,
    Source,
    TruthRecord,
    scenarios,
    sources,
)
from vigil.sim.world import World

__all__ = [
    "Scenario",
    "ScenarioParams",
    "SimError",
    "SimResult",
    "Source",
    "TruthRecord",
    "World",
    "generate_estate",
    "scenarios",
    "simulate",
    "sources",
]
