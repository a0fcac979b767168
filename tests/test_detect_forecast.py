"""Forecasts per store and kind, the DDoS deviation signal, and the policy level.

Synthetic hourly counts with a known daily and weekly shape (seeded Poisson
around a known truth), so the forecast can be held against the truth.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from vigil.detect.forecast import (
    DEVIATION_SCHEMA,
    FORECAST_SCHEMA,
    Forecast,
    Forecaster,
    ForecastError,
    PolicyLevel,
    deviation,
    policy_level,
    traffic_counts,
)
from vigil.estate import load_sample_estate
from vigil.estate.types import Estate, Peak

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
HISTORY_DAYS = 21
END = START + timedelta(days=HISTORY_DAYS)  # Monday 26 October 2026, 00:00 UTC
HOUR = timedelta(hours=1)
LA = "America/Los_Angeles"


SAMPLE = load_sample_estate()


def make_estate(*peaks: Peak) -> Estate:
    return SAMPLE.model_copy(update={"peaks": list(peaks)})


def truth(start: datetime, hours: int, base: float) -> tuple[list[datetime], np.ndarray]:
    """Expected counts: quiet nights, a busy afternoon, weekends 40 % busier (UTC)."""
    index = np.arange(hours) + int((start - START) / HOUR)
    hour, weekday = index % 24, (index // 24) % 7
    daily = 0.15 + np.clip(np.sin((hour - 8) / 24 * 2 * np.pi), 0, None)
    weekly = np.where(weekday >= 5, 1.4, 1.0)
    return [start + i * HOUR for i in range(hours)], base * daily * weekly


def counts(
    key: str,
    start: datetime,
    hours: int,
    base: float,
    seed: int,
    peaks: dict[date, float] | None = None,
) -> pl.DataFrame:
    """Seeded Poisson counts around the truth; `peaks` scale whole LA-local days."""
    times, mean = truth(start, hours, base)
    frame = pl.DataFrame(
        {"key": key, "time": times, "mean": mean},
        schema={"key": pl.String, "time": pl.Datetime("ms", "UTC"), "mean": pl.Float64},
    )
    scale = (
        pl.col("time")
        .dt.convert_time_zone(LA)
        .dt.date()
        .replace_strict(peaks or {}, default=1.0, return_dtype=pl.Float64)
    )
    rng = np.random.default_rng(seed)
    frame = frame.with_columns((pl.col("mean") * scale).alias("mean"))
    return frame.with_columns(pl.Series("value", rng.poisson(frame["mean"].to_numpy()), pl.Float64))


KEYS = {"031/web": 2000.0, "031/network": 400.0, "112/pos": 60.0}
TOLERANCE = {"031/web": 0.05, "031/network": 0.07, "112/pos": 0.15}
"""Relative error allowed against the truth: Poisson noise weighs more on small counts."""


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return pl.concat(
        counts(key, START, HISTORY_DAYS * 24, base, seed)
        for seed, (key, base) in enumerate(KEYS.items())
    ).drop("mean")


@pytest.fixture(scope="module")
def forecast(history: pl.DataFrame) -> Forecast:
    forecaster = Forecaster(make_estate())
    forecaster.fit(history)
    return forecaster.forecast(24)


def next_day(key: str, seed: int = 99) -> pl.DataFrame:
    return counts(key, END, 24, KEYS[key], seed)


# ------------------------------------------------------------------ forecast


def test_forecast_is_within_tolerance_of_the_truth(forecast: Forecast) -> None:
    assert forecast.frame.schema == FORECAST_SCHEMA
    assert forecast.keys == sorted(KEYS)
    assert forecast.start == END
    assert forecast.skipped == {}
    for key, base in KEYS.items():
        rows = forecast.frame.filter(pl.col("key") == key)
        _, expected = truth(END, 24, base)
        assert rows["time"].to_list() == [END + i * HOUR for i in range(24)]
        assert set(rows["model"]) == {"mstl_daily_weekly"}
        error = np.abs(rows["expected"].to_numpy() - expected).sum() / expected.sum()
        assert error < TOLERANCE[key], key
        inside = (rows["lower"].to_numpy() <= expected) & (expected <= rows["upper"].to_numpy())
        assert inside.mean() >= 0.9, key
        assert (rows["normal"].to_numpy() > 0).all()


def test_short_history_uses_the_daily_model() -> None:
    start = END - timedelta(days=7)  # Monday to Thursday, then Friday: all weekdays
    forecaster = Forecaster(make_estate())
    forecaster.fit(counts("031/web", start, 4 * 24, 2000.0, seed=5).drop("mean"))
    rows = forecaster.forecast(24).frame
    _, expected = truth(start + timedelta(days=4), 24, 2000.0)
    assert set(rows["model"]) == {"mstl_daily"}
    error = np.abs(rows["expected"].to_numpy() - expected).sum() / expected.sum()
    assert error < 0.06


def test_key_with_too_little_history_gets_no_forecast_and_says_why(
    history: pl.DataFrame,
) -> None:
    young = counts("127/web", END - timedelta(hours=30), 30, 500.0, seed=8).drop("mean")
    forecaster = Forecaster(make_estate())
    forecaster.fit(pl.concat([history.filter(pl.col("key") == "112/pos"), young]))
    result = forecaster.forecast(6)
    assert result.keys == ["112/pos"]
    assert result.skipped == {"127/web": "30 buckets of history, needs 48 (2 days)"}


def test_missing_buckets_count_as_zero_and_finer_counts_add_up() -> None:
    rows = counts("031/pos", START + timedelta(days=7), 14 * 24, 40.0, seed=3).drop("mean")
    halves = pl.concat(
        [
            rows.with_columns(pl.col("value") // 2),
            rows.with_columns(
                pl.col("time") + timedelta(minutes=30), pl.col("value") - pl.col("value") // 2
            ),
        ]
    ).filter(pl.col("value") > 0)
    whole, split = Forecaster(make_estate()), Forecaster(make_estate())
    whole.fit(rows)
    split.fit(halves)
    assert split.forecast(12).frame.equals(whole.forecast(12).frame)


def test_fit_is_deterministic(history: pl.DataFrame, forecast: Forecast) -> None:
    again = Forecaster(make_estate())
    again.fit(history)
    assert again.forecast(24).frame.equals(forecast.frame)


# ----------------------------------------------------------------- deviation


def test_ddos_spike_is_flagged_and_the_same_shape_normal_day_is_not(forecast: Forecast) -> None:
    normal = next_day("031/web").drop("mean")
    assert not deviation(forecast, normal)["flagged"].any()

    flood_at = END + 14 * HOUR
    attacked = normal.with_columns(
        pl.when(pl.col("time") == flood_at).then(14_200.0).otherwise("value").alias("value")
    )
    result = deviation(forecast, attacked)
    assert result.schema == DEVIATION_SCHEMA
    flagged = result.filter("flagged")
    assert flagged["time"].to_list() == [flood_at]
    assert re.fullmatch(
        r"store 031 web requests 14,200/h vs [\d,]+ expected \(upper [\d,]+\)",
        flagged["explanation"][0],
    )
    assert flagged["ratio"][0] > 5


def test_ddos_is_flagged_within_minutes_on_five_minute_buckets(forecast: Forecast) -> None:
    five = timedelta(minutes=5)
    rng = np.random.default_rng(11)
    hours, mean = truth(END, 24, KEYS["031/web"])
    times = [hour + i * five for hour in hours for i in range(12)]
    values = rng.poisson(np.repeat(mean / 12, 12)).astype(float)
    flood_at = END + 14 * HOUR + 2 * five  # 14:10 to 14:15
    values[times.index(flood_at)] = 1_500.0
    actual = pl.DataFrame(
        {"key": "031/web", "time": times, "value": values},
        schema={"key": pl.String, "time": pl.Datetime("ms", "UTC"), "value": pl.Float64},
    )
    result = deviation(forecast, actual, bucket=five)
    assert result.height == 24 * 12
    assert result.filter("flagged")["time"].to_list() == [flood_at]
    assert result.filter("flagged")["explanation"][0].startswith(
        "store 031 web requests 1,500/5min"
    )
    hourly = forecast.frame.filter(pl.col("key") == "031/web", pl.col("time") == END + 14 * HOUR)
    row = result.filter(pl.col("time") == flood_at)
    assert row["expected"][0] == pytest.approx(hourly["expected"][0] / 12)


def test_buckets_without_a_forecast_are_kept_and_never_flagged(forecast: Forecast) -> None:
    stray = pl.DataFrame(
        {"key": ["999/web", "031/web"], "time": [END, END + 48 * HOUR], "value": [1e6, 1e6]},
        schema={"key": pl.String, "time": pl.Datetime("ms", "UTC"), "value": pl.Float64},
    )
    result = deviation(forecast, stray)
    assert result["actual"].to_list() == [1e6, 1e6]
    assert result["expected"].null_count() == 2
    assert not result["flagged"].any()


def test_a_peak_day_is_not_flagged_when_the_calendar_says_peak() -> None:
    peak_day = date(2026, 10, 26)  # local to Los Angeles: 07:00 UTC on 26th to 07:00 on 27th
    black_friday = Peak(name="Black Friday", start=peak_day, level=3)
    history = counts("031/web", START, HISTORY_DAYS * 24, 2000.0, seed=1).drop("mean")
    actual = counts("031/web", END, 48, 2000.0, seed=2, peaks={peak_day: 3.0}).drop("mean")

    with_calendar, without = Forecaster(make_estate(black_friday)), Forecaster(make_estate())
    with_calendar.fit(history)
    without.fit(history)
    planned = with_calendar.forecast(48)
    on_peak = planned.frame.filter(pl.col("peak_level") == 3)
    assert on_peak["time"].min() == datetime(2026, 10, 26, 7, tzinfo=UTC)
    assert on_peak.height == 24
    assert set(on_peak["multiplier"]) == {3.0}

    assert not deviation(planned, actual)["flagged"].any()
    assert deviation(without.forecast(48), actual)["flagged"].sum() >= 6


def test_peak_multiplier_is_learned_from_past_peaks() -> None:
    past, coming = date(2026, 10, 17), date(2026, 10, 26)
    estate = make_estate(
        Peak(name="Autumn sale", start=past, level=2),
        Peak(name="Second sale", start=coming, level=2),
    )
    history = counts("031/web", START, HISTORY_DAYS * 24, 2000.0, seed=4, peaks={past: 2.5})
    forecaster = Forecaster(estate)
    forecaster.fit(history.drop("mean"))
    learned = forecaster.multipliers.filter(pl.col("key") == "031/web").rows()
    assert learned[0] == ("031/web", 0, 1.0, False)
    assert learned[2][1:] == (2, pytest.approx(2.5, rel=0.05), True)
    assert learned[3] == ("031/web", 3, 3.0, False)  # no level-3 past: the default

    planned = forecaster.forecast(48).frame.filter(pl.col("peak_level") == 2)
    _, expected = truth(planned["time"][0], 24, 2000.0)
    error = np.abs(planned["expected"].to_numpy() - 2.5 * expected).sum() / (2.5 * expected.sum())
    assert error < 0.08


def test_closed_day_expects_almost_nothing() -> None:
    estate = make_estate(Peak(name="Closed", start=date(2026, 10, 26), level=0, closed=True))
    forecaster = Forecaster(estate)
    forecaster.fit(counts("031/pos", START, HISTORY_DAYS * 24, 60.0, seed=6).drop("mean"))
    closed = forecaster.forecast(48).frame.filter("closed")
    assert closed.height == 24
    assert set(closed["multiplier"]) == {0.05}
    assert float(closed["expected"].sum()) < 0.06 * float(closed["normal"].sum())
    assert forecaster.forecast(48).frame.filter(~pl.col("closed"))["expected"].sum() > 500


def test_a_silent_key_expects_zero_and_a_few_requests_are_not_a_flood() -> None:
    silent = counts("044/network", START, HISTORY_DAYS * 24, 1.0, seed=7).drop("mean")
    forecaster = Forecaster(make_estate())
    forecaster.fit(silent.with_columns(pl.lit(0.0).alias("value")))
    planned = forecaster.forecast(2)
    assert planned.frame["expected"].to_list() == [0.0, 0.0]
    assert (planned.frame["upper"] > 0).all()
    few = frame_of(key=["044/network"], value=[12.0])
    many = frame_of(key=["044/network"], value=[400.0])
    assert deviation(planned, pl.concat([few, many.with_columns(pl.col("time") + HOUR)]))[
        "flagged"
    ].to_list() == [False, True]


# -------------------------------------------------------------- policy level

BLACK_FRIDAY = Peak(name="Black Friday", start=date(2026, 11, 27), level=3)


@pytest.mark.parametrize(
    ("at", "level", "reason"),
    [
        pytest.param("2026-11-25T07:30", 0, "no peak within 48 h", id="48.5h-before"),
        pytest.param("2026-11-25T08:30", 3, "Black Friday starts in 47 h", id="47.5h-before"),
        pytest.param("2026-11-27T07:59", 3, "Black Friday starts in 1 min", id="23:59-local"),
        pytest.param("2026-11-27T08:00", 3, "Black Friday is on (level 3)", id="local-midnight"),
        pytest.param("2026-11-28T04:00", 3, "Black Friday is on (level 3)", id="utc-next-day"),
        pytest.param("2026-11-28T07:59", 3, "Black Friday is on (level 3)", id="last-minute"),
        pytest.param("2026-11-28T08:00", 0, "no peak within 48 h", id="after"),
    ],
)
def test_policy_level_follows_the_local_calendar_of_a_los_angeles_store(
    at: str, level: int, reason: str
) -> None:
    moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
    result = policy_level(make_estate(BLACK_FRIDAY), "031", moment, timedelta(hours=48))
    assert (result.level, result.reason) == (level, reason)
    if level:
        assert result.peak == "Black Friday"
        assert result.starts_at == datetime(2026, 11, 27, 8, tzinfo=UTC)  # LA midnight


def test_policy_level_rises_when_the_forecast_is_far_above_normal() -> None:
    times = [END + i * HOUR for i in range(6)]
    frame = pl.DataFrame(
        {
            "key": "031/web",
            "time": times,
            "expected": 3_000.0,
            "lower": 2_500.0,
            "upper": 3_500.0,
            "normal": 1_200.0,
            "peak_level": 0,
            "closed": False,
            "multiplier": 1.0,
            "model": "mstl_daily_weekly",
        }
    ).cast(FORECAST_SCHEMA)
    surge = Forecast(frame, HOUR, 95, END)
    result = policy_level(make_estate(), "031", END, timedelta(hours=6), forecast=surge)
    assert result == PolicyLevel(
        2, "forecast 031/web volume 2.5x normal over the next 6 h", None, END
    )
    assert policy_level(make_estate(), "044", END, timedelta(hours=6), forecast=surge).level == 0


def test_policy_level_rejects_naive_times_and_unknown_stores() -> None:
    with pytest.raises(ForecastError, match="aware"):
        policy_level(make_estate(), "031", datetime(2026, 11, 25), timedelta(hours=48))
    with pytest.raises(ForecastError, match="no store '999'"):
        policy_level(make_estate(), "999", END, timedelta(hours=48))


# ------------------------------------------------------------ traffic counts


def test_traffic_counts_buckets_events_per_key() -> None:
    base = END + timedelta(minutes=1)
    events = pl.DataFrame(
        {
            "time": [base, base, base + timedelta(minutes=7), base + timedelta(minutes=31), base],
            "store.uid": ["031", "031", "031", "031", None],
            "traffic.bytes_in": [100, 200, 300, 400, 50],
        },
        schema={
            "time": pl.Datetime("ms", "UTC"),
            "store.uid": pl.String,
            "traffic.bytes_in": pl.Int64,
        },
    )
    five = timedelta(minutes=5)
    got = traffic_counts(events, ["store.uid"], five, kind="web")
    assert got.rows() == [
        ("031/web", END, 2.0),
        ("031/web", END + five, 1.0),
        ("031/web", END + 6 * five, 1.0),
        ("unknown/web", END, 1.0),
    ]
    volume = traffic_counts(events, ["store.uid"], HOUR, value_col="traffic.bytes_in")
    assert volume.rows() == [("031", END, 1000.0), ("unknown", END, 50.0)]


# ------------------------------------------------------------- edge and bad


def test_empty_input_gives_empty_results() -> None:
    empty = pl.DataFrame(
        schema={"key": pl.String, "time": pl.Datetime("ms", "UTC"), "value": pl.Float64}
    )
    forecaster = Forecaster(make_estate())
    forecaster.fit(empty)
    result = forecaster.forecast(24)
    assert result.frame.is_empty()
    assert result.frame.schema == FORECAST_SCHEMA
    assert (result.start, result.skipped) == (None, {})
    assert deviation(result, empty).schema == DEVIATION_SCHEMA
    assert deviation(result, empty).is_empty()
    events = pl.DataFrame(schema={"time": pl.Datetime("ms", "UTC"), "store.uid": pl.String})
    assert traffic_counts(events, ["store.uid"]).is_empty()


def frame_of(**columns: object) -> pl.DataFrame:
    base: dict[str, object] = {
        "key": ["031/web"],
        "time": pl.Series([END], dtype=pl.Datetime("ms", "UTC")),
        "value": [5.0],
    }
    base.update(columns)
    return pl.DataFrame({name: value for name, value in base.items() if value is not None})


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        pytest.param(frame_of(value=[-1.0]), "1 negative or non-finite values", id="negative"),
        pytest.param(frame_of(value=[float("nan")]), "non-finite", id="nan"),
        pytest.param(frame_of(value=pl.Series([None], dtype=pl.Float64)), "null values", id="null"),
        pytest.param(frame_of(value=["5"]), "must be numeric", id="text"),
        pytest.param(frame_of(time=[datetime(2026, 10, 26)]), "naive", id="naive"),
        pytest.param(
            frame_of(time=pl.Series([END]).dt.convert_time_zone("Europe/London")),
            "must be UTC, got Europe/London",
            id="london",
        ),
        pytest.param(frame_of(value=None), r"missing columns \['value'\]", id="missing"),
    ],
)
def test_bad_counts_get_a_clear_error(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ForecastError, match=message):
        Forecaster(make_estate()).fit(frame)


def test_bad_arguments_get_a_clear_error(forecast: Forecast) -> None:
    with pytest.raises(ForecastError, match="call fit"):
        Forecaster(make_estate()).forecast()
    with pytest.raises(ForecastError, match="must divide"):
        deviation(forecast, frame_of(), bucket=timedelta(minutes=45))
    with pytest.raises(ForecastError, match="divide a day"):
        Forecaster(make_estate(), bucket=timedelta(minutes=7))
    with pytest.raises(ForecastError, match="at or after until"):
        Forecaster(make_estate()).fit(frame_of(), until=END)
    with pytest.raises(ForecastError, match="must be UTC"):
        traffic_counts(frame_of().with_columns(pl.col("time").dt.replace_time_zone(None)), ["key"])
