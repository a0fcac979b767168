"""The forecast rule: a flood far above the forecast is flagged, the normal day is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigil.detect.engine import Engine
from vigil.detect.loader import load_rules
from vigil.detect.rules.base import class_schema
from vigil.estate import load_sample_estate

START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # a Monday, well before Black Friday
RULE = """id: flood
title: Web flood
use_case: ddos
severity: critical
explanation: "{forecast}"
kind: forecast
class: http_activity
series: web
per_store: false
bucket: 5m
factor: 2.0
min_count: 200
min_days: 2
"""


def requests(hours: int, rng: np.random.Generator, flood_at: int | None = None) -> pl.DataFrame:
    """Hourly web requests with a daily shape (busy afternoons), one row per request."""
    times: list[datetime] = []
    for hour in range(hours):
        moment = START + timedelta(hours=hour)
        rate = 300 + 900 * max(0.0, np.sin((moment.hour - 6) / 24 * 2 * np.pi))
        count = int(rng.poisson(rate))
        times += [
            moment + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 3600, count))
        ]
        if flood_at is not None and hour == flood_at:
            times += [
                moment + timedelta(minutes=20, seconds=float(s)) for s in rng.uniform(0, 600, 20000)
            ]
    times.sort()
    schema = class_schema("http_activity")
    columns = [c for c in schema if not c.startswith("ctx.")]
    data = {c: [None] * len(times) for c in columns}
    data["time"] = times  # type: ignore[assignment]
    return pl.DataFrame(data, schema={c: schema[c] for c in columns})


@pytest.mark.slow
def test_flood_above_forecast_is_flagged_and_the_normal_day_is_not(tmp_path: Path) -> None:
    path = tmp_path / "flood.yaml"
    path.write_text(RULE)
    engine = Engine(load_rules([path]), load_sample_estate(), lateness=timedelta(0))
    stream = requests(4 * 24, np.random.default_rng(7), flood_at=3 * 24 + 14)
    alerts = []
    for _, hour in stream.group_by_dynamic("time", every="1h"):
        alerts += engine.process("http_activity", hour).alerts
    flagged = [alert.first_seen for alert in alerts]
    assert flagged, "the flood was not flagged"
    flood = START + timedelta(days=3, hours=14, minutes=20)
    assert all(
        flood - timedelta(minutes=5) <= moment < flood + timedelta(minutes=15) for moment in flagged
    )
    assert "expected" in alerts[0].explanation
