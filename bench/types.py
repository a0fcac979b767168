"""What a benchmark reports."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure, with the reference implementation's figure when there is one."""

    name: str
    value: float
    unit: str
    reference: float | None = None
    reference_name: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def median_seconds(
    action: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None
) -> float:
    """Median wall time of `action` over `repeat` runs (setup is not timed)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
