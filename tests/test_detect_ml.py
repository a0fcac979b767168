"""ML detectors: one conformance suite for every registered detector, then oracle tests.

Each detector has a sample factory below (config, seeded frame); a detector
registered without one fails `test_every_detector_has_a_sample`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigil.detect.ml import (
    DetectorInputError,
    add_season_columns,
    build_detector,
    cashier_periods,
    detector_configs,
    detectors,
)
from vigil.detect.ml.seasonal import SeasonalBaseline
from vigil.detect.types import Detector, RuleError
from vigil.estate.loader import load_sample_estate
from vigil.events.batch import batches_from_json_lines

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
GOLDEN_POS = Path(__file__).parent / "golden" / "ingest" / "vigil_pos" / "expected.ndjson"


def _ms(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("time").dt.cast_time_unit("ms"))


def seasonal_frame(seed: int, hours: int = 24 * 7 * 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "store.uid": np.repeat(["031", "044"], hours),
            "time": [START + timedelta(hours=h) for h in range(hours)] * 2,
            "value": rng.poisson(40, 2 * hours).astype(float),
            "timezone": ["America/Chicago"] * (2 * hours),
        }
    )
    return _ms(frame)


def flow_frame(seed: int, rows: int = 600) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return _ms(
        pl.DataFrame(
            {
                "src_endpoint.ip": rng.choice(["10.9.0.5", "10.9.0.6", "10.9.0.7"], rows),
                "dst_endpoint.ip": rng.choice(["52.1.1.1", "52.1.1.2"], rows),
                "dst_endpoint.port": rng.choice([443, 8883], rows),
                "connection_info.protocol_name": ["tcp"] * rows,
                "traffic.bytes_out": rng.lognormal(8, 0.4, rows).round(),
                "traffic.bytes_in": rng.lognormal(10, 0.4, rows).round(),
                "traffic.packets_out": rng.poisson(20, rows),
                "traffic.packets_in": rng.poisson(30, rows),
                "duration": rng.integers(100, 2_000, rows),
                "time": [START + timedelta(seconds=7 * i) for i in range(rows)],
                "device.os.version": ["4.2.1"] * rows,
            }
        )
    )


def peer_frame(seed: int, stores: int = 3, cashiers: int = 8) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = stores * cashiers
    transactions = rng.integers(60, 200, rows)
    return pl.DataFrame(
        {
            "store.uid": np.repeat([f"s{i}" for i in range(stores)], cashiers),
            "period": ["2026-11-27"] * rows,
            "cashier.uid": [f"c{i:03d}" for i in range(rows)],
            "transactions": transactions,
            "voids": rng.binomial(transactions, 0.02),
            "line_voids": rng.binomial(transactions, 0.05),
            "refunds": rng.binomial(transactions, 0.03),
            "no_sales": rng.binomial(transactions, 0.01),
            "discounts": rng.binomial(transactions, 0.1),
            "manual_entries": rng.binomial(transactions, 0.01),
        }
    )


SAMPLES: dict[str, tuple[dict[str, object], Callable[[int], pl.DataFrame]]] = {
    "seasonal_baseline": ({"type": "seasonal_baseline", "min_count": 2}, seasonal_frame),
    "isolation_forest": (
        {"type": "isolation_forest", "n_estimators": 25, "min_rows": 64, "random_state": 7},
        flow_frame,
    ),
    "half_space_trees": (
        {"type": "half_space_trees", "n_trees": 10, "window_size": 100, "random_state": 7},
        flow_frame,
    ),
    "device_profile": (
        {"type": "device_profile", "firmware": "device.os.version", "min_flows": 10},
        flow_frame,
    ),
    "peer_group": ({"type": "peer_group"}, peer_frame),
}
NAMES = sorted(SAMPLES)


def make(name: str) -> Detector:
    config, _ = SAMPLES[name]
    return build_detector(config, "rules/test.yaml:3")


def sample(name: str, seed: int = 0) -> pl.DataFrame:
    return SAMPLES[name][1](seed)


# Conformance: every registered detector --------------------------------------


def test_every_detector_has_a_sample() -> None:
    assert detectors.names() == NAMES
    assert detector_configs.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_config_fields_are_the_constructor_arguments(name: str) -> None:
    model = detector_configs.get(name)
    parameters = inspect.signature(detectors.get(name).__init__).parameters
    fields = {key: field for key, field in model.model_fields.items() if key != "type"}
    assert list(fields) == [key for key in parameters if key != "self"]
    defaults = model.model_validate({"type": name})
    for key, field in fields.items():
        assert field.description, f"{name}.{key} has no description"
        default = parameters[key].default
        expected = list(default) if isinstance(default, tuple) else default
        assert getattr(defaults, key) == expected, f"{name}.{key} default differs"


@pytest.mark.parametrize("name", NAMES)
def test_empty_frame_gives_empty_scores(name: str) -> None:
    detector = make(name)
    for empty in (sample(name).head(0), pl.DataFrame()):
        assert detector.learn(empty) is None
        scores = detector.score(empty)
        assert scores.dtype == pl.Float64
        assert scores.len() == 0
        assert detector.explain(empty).height == 0


@pytest.mark.parametrize("name", NAMES)
def test_score_before_learn_is_finite(name: str) -> None:
    frame = sample(name)
    scores = make(name).score(frame)
    assert scores.dtype == pl.Float64
    assert scores.len() == frame.height
    assert np.isfinite(scores.to_numpy()).all()


@pytest.mark.parametrize("name", NAMES)
def test_learn_returns_none_and_scores_are_finite_and_non_negative(name: str) -> None:
    detector = make(name)
    assert detector.learn(sample(name, 1)) is None
    frame = sample(name, 2)
    scores = detector.score(frame).to_numpy()
    assert scores.shape == (frame.height,)
    assert np.isfinite(scores).all()
    assert (scores >= 0).all()
    assert detector.explain(frame).height == frame.height


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_scores(name: str) -> None:
    first, second = make(name), make(name)
    for detector in (first, second):
        detector.learn(sample(name, 1))
        detector.learn(sample(name, 3))
    frame = sample(name, 2)
    assert first.score(frame).equals(second.score(frame))
    assert first.explain(frame).equals(second.explain(frame))


@pytest.mark.parametrize("name", NAMES)
def test_input_frame_is_not_mutated(name: str) -> None:
    frame = sample(name, 1)
    copy = frame.clone()
    detector = make(name)
    detector.learn(frame)
    detector.score(frame)
    detector.explain(frame)
    assert frame.equals(copy)
    assert frame.columns == copy.columns


@pytest.mark.parametrize("name", NAMES)
def test_scores_follow_row_order(name: str) -> None:
    detector = make(name)
    detector.learn(sample(name, 1))
    frame = sample(name, 2)
    reverse = frame.reverse()
    np.testing.assert_allclose(
        detector.score(reverse).to_numpy(), detector.score(frame).reverse().to_numpy()
    )


@pytest.mark.parametrize("name", NAMES)
def test_unknown_config_field_is_refused_with_origin(name: str) -> None:
    config, _ = SAMPLES[name]
    with pytest.raises(RuleError, match="colour") as caught:
        build_detector({**config, "colour": "red"}, "rules/pos.yaml:12")
    assert caught.value.file == "rules/pos.yaml"
    assert caught.value.line == 12


@pytest.mark.parametrize("name", NAMES)
def test_missing_column_is_a_clear_error(name: str) -> None:
    frame = sample(name)
    with pytest.raises(DetectorInputError, match="lacks column"):
        make(name).score(frame.select(frame.columns[:1]))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "'type' is required"),
        ({"type": "crystal_ball"}, "unknown detector 'crystal_ball'"),
        ({"type": "seasonal_baseline", "alpha": 2.0}, "alpha"),
        ({"type": "seasonal_baseline", "default_timezone": "Mars/Olympus"}, "time zone"),
        ({"type": "peer_group", "metrics": "voids"}, "metrics"),
    ],
)
def test_bad_configs_are_rule_errors(config: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        build_detector(config, "rules/x.yaml")


# seasonal_baseline ------------------------------------------------------------


def test_seasonal_spike_scores_above_every_normal_bucket() -> None:
    detector = SeasonalBaseline(min_count=3)
    detector.learn(seasonal_frame(0))
    later = seasonal_frame(1).with_columns(pl.col("time") + timedelta(weeks=3))
    spiked = later.with_columns(
        pl.when(pl.int_range(pl.len()) == 100).then(400.0).otherwise(pl.col("value")).alias("value")
    )
    scores = detector.score(spiked).to_numpy()
    assert scores.argmax() == 100
    assert scores[100] > 3 * np.delete(scores, 100).max()
    explained = detector.explain(spiked).row(100, named=True)
    assert explained["level"] == "slot"
    assert explained["deviation"] == pytest.approx(400.0 - explained["expected"])


def test_seasonal_warm_up_scores_zero() -> None:
    detector = SeasonalBaseline(min_count=600)  # 504 hours of history per store
    detector.learn(seasonal_frame(0))
    assert detector.score(seasonal_frame(1).with_columns(pl.lit(1e6).alias("value"))).max() == 0


def test_seasonal_closed_hours_compared_with_closed_history() -> None:
    """Night traffic of 30 is normal for an open store, alarming for a closed one."""
    rng = np.random.default_rng(5)
    hours = 24 * 7 * 4
    times = [START + timedelta(hours=h) for h in range(hours)]
    is_open = [8 <= t.hour < 20 for t in times]
    history = _ms(
        pl.DataFrame(
            {
                "store.uid": ["031"] * hours,
                "time": times,
                "is_open": is_open,
                "value": np.where(is_open, rng.poisson(30, hours), rng.poisson(1, hours)),
            }
        )
    )
    detector = SeasonalBaseline(regimes=["is_open"], min_count=3, default_timezone="UTC")
    detector.learn(history)
    night = _ms(
        pl.DataFrame(
            {
                "store.uid": ["031", "031", "031"],
                "time": [START + timedelta(weeks=4, hours=h) for h in (3, 3, 12)],
                "is_open": [False, True, True],  # the 2nd: open all night on a peak day
                "value": [30.0, 30.0, 30.0],
            }
        )
    )
    scores = detector.score(night).to_list()
    assert scores[0] > 10
    assert scores[2] < 3
    # an open night has no open history in that slot: the open-regime pool judges it
    assert scores[1] < 3
    assert detector.explain(night).get_column("level").to_list() == ["slot", "regime", "slot"]


def test_seasonal_direction_down_flags_drops() -> None:
    detector = SeasonalBaseline(min_count=3, direction="down")
    detector.learn(seasonal_frame(0))
    later = seasonal_frame(1).with_columns(pl.col("time") + timedelta(weeks=3))
    dropped = later.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(0.0).otherwise(pl.col("value")).alias("value")
    )
    assert detector.score(dropped).arg_max() == 7


def test_season_columns_match_the_estate() -> None:
    """Vectorised slot, is_open and peak level agree with `Estate.is_open` and `peak_on`."""
    estate = load_sample_estate()
    rng = np.random.default_rng(3)
    uids = [store.uid for store in estate.stores] + ["999"]
    start = datetime(2026, 11, 20, tzinfo=UTC)  # Thanksgiving, Black Friday, Christmas
    moments = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 60 * 24 * 45, 1500)]
    stores = [uids[i] for i in rng.integers(0, len(uids), 1500)]
    frame = _ms(pl.DataFrame({"store.uid": stores, "time": moments}))
    out = add_season_columns(frame, estate)
    for uid, moment, is_open, level, slot in zip(
        stores, moments, out["is_open"], out["peak_level"], out["slot"], strict=True
    ):
        if uid == "999":
            assert is_open is None
            continue
        store = estate.store(uid)
        local = store.local(moment)
        peak = estate.peak_on(store, local.date())
        assert is_open == estate.is_open(store, moment), (uid, moment)
        assert level == (peak.level if peak and not peak.closed else 0)
        assert slot == local.weekday() * 24 + local.hour


def test_peak_day_compared_with_peak_history() -> None:
    rng = np.random.default_rng(11)
    rows = []
    for week in range(6):
        for day in range(7):
            peak = 3 if day == 4 and week % 2 == 0 else 0  # every other Friday a peak
            base = 200 if peak else 50
            for hour in range(9, 18):
                moment = START + timedelta(weeks=week, days=day, hours=hour)
                rows.append(("031", moment, True, peak, float(rng.poisson(base))))
    history = _ms(
        pl.DataFrame(
            rows, schema=["store.uid", "time", "is_open", "peak_level", "value"], orient="row"
        )
    )
    detector = SeasonalBaseline(min_count=2)
    detector.learn(history)
    friday_noon = START + timedelta(weeks=6, days=4, hours=12)
    test = _ms(
        pl.DataFrame(
            {
                "store.uid": ["031", "031"],
                "time": [friday_noon, friday_noon],
                "is_open": [True, True],
                "peak_level": [3, 0],
                "value": [210.0, 210.0],
            }
        )
    )
    peak_score, normal_score = detector.score(test).to_list()
    assert peak_score < 3 < 10 < normal_score


# isolation_forest and half_space_trees ----------------------------------------


EXFILTRATION = {
    "traffic.bytes_out": 4e9,
    "traffic.bytes_in": 2e3,
    "traffic.packets_out": 3_000_000,
    "traffic.packets_in": 40,
    "duration": 7_200_000,
}


@pytest.mark.parametrize("name", ["isolation_forest", "half_space_trees"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flow_outlier_scores_above_every_normal_flow(name: str, seed: int) -> None:
    detector = make(name)
    detector.learn(flow_frame(seed, 2000))
    test = flow_frame(seed + 10, 500)
    odd = test.head(1).with_columns(
        *[pl.lit(value).cast(test.schema[key]).alias(key) for key, value in EXFILTRATION.items()]
    )
    scores = detector.score(pl.concat([test, odd])).to_numpy()
    assert scores[-1] > scores[:-1].max()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_isolation_forest_refits_on_a_bounded_reservoir() -> None:
    detector = build_detector(
        {"type": "isolation_forest", "reservoir_size": 300, "min_rows": 100, "refit_every": 500},
        "<test>",
    )
    detector.learn(flow_frame(0, 50))
    assert detector.score(flow_frame(1, 5)).max() == 0  # not fitted yet
    for seed in range(4):
        detector.learn(flow_frame(seed, 400))
    reservoir = detector.reservoir_  # type: ignore[attr-defined]
    assert reservoir.rows.shape == (300, 5)
    assert reservoir.seen == 1650
    assert detector.since_fit_ < 500  # type: ignore[attr-defined]


# device_profile ---------------------------------------------------------------


def _camera_flows(seed: int, rows: int, start: datetime) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return _ms(
        pl.DataFrame(
            {
                "src_endpoint.ip": ["10.31.40.21"] * rows,
                "dst_endpoint.ip": rng.choice(["10.31.40.2", "52.14.8.9"], rows),
                "dst_endpoint.port": [554] * rows,
                "connection_info.protocol_name": ["tcp"] * rows,
                "traffic.bytes_out": rng.lognormal(11, 0.2, rows).round(),
                "time": [start + timedelta(seconds=60 * i) for i in range(rows)],
                "device.os.version": ["2.800.0"] * rows,
            }
        )
    )


def test_camera_new_destination_firmware_and_volume() -> None:
    detector = build_detector(
        {"type": "device_profile", "firmware": "device.os.version"}, "rules/iot.yaml:1"
    )
    detector.learn(_camera_flows(0, 500, START))
    after = START + timedelta(minutes=500)
    test = _camera_flows(1, 40, after)
    odd = pl.concat(
        [
            test.head(1).with_columns(pl.lit("185.220.101.4").alias("dst_endpoint.ip")),
            test.head(1).with_columns(pl.lit(23, dtype=pl.Int64).alias("dst_endpoint.port")),
            test.head(1).with_columns(pl.lit("2.900.1").alias("device.os.version")),
            test.head(1).with_columns(pl.lit(5e8).alias("traffic.bytes_out")),
        ]
    ).with_columns(pl.col("time") + pl.duration(hours=pl.int_range(1, 5)))
    frame = pl.concat([test, odd])
    scores = detector.score(frame).to_numpy()
    assert scores[-4:].min() > scores[:-4].max()
    drift = detector.explain(frame).get_column("drift").to_list()
    assert drift[-4:] == ["new_destination", "new_destination", "firmware", "bytes"]
    assert set(drift[:-4]) <= {"", "bytes", "beacon"}


def test_device_beaconing_faster_than_its_period() -> None:
    detector = build_detector({"type": "device_profile", "min_flows": 10}, "<test>")
    history = _camera_flows(0, 300, START).with_columns(
        pl.lit("10.31.40.2").alias("dst_endpoint.ip")
    )
    detector.learn(history)
    burst_start = START + timedelta(minutes=301)
    burst = _camera_flows(2, 5, burst_start).with_columns(
        pl.lit("10.31.40.2").alias("dst_endpoint.ip"),
        pl.Series("time", [burst_start + timedelta(seconds=i) for i in range(5)]).dt.cast_time_unit(
            "ms"
        ),
    )
    explained = detector.explain(burst)
    assert explained.get_column("drift").to_list()[1:] == ["beacon"] * 4
    assert detector.score(burst).to_numpy()[1:].min() > 10


def test_unknown_device_is_not_scored_until_warm() -> None:
    detector = build_detector({"type": "device_profile"}, "<test>")
    detector.learn(_camera_flows(0, 5, START))
    assert detector.score(_camera_flows(1, 5, START)).max() == 0


# peer_group -------------------------------------------------------------------


def test_cashier_with_ten_times_the_void_rate_tops_the_list() -> None:
    frame = peer_frame(4)
    thief, busy = 5, 6
    voids = frame.get_column("voids").to_numpy().copy()
    transactions = frame.get_column("transactions").to_numpy().copy()
    voids[thief] = int(transactions[thief] * 0.2)  # 10x the 2 % of the others
    transactions[busy] = 900  # busy but normal
    voids[busy] = 18
    frame = frame.with_columns(pl.Series("voids", voids), pl.Series("transactions", transactions))
    detector = build_detector({"type": "peer_group"}, "<test>")
    detector.learn(peer_frame(1))
    scores = detector.score(frame).to_numpy()
    assert scores.argmax() == thief
    assert scores[busy] < 3
    explained = detector.explain(frame).row(thief, named=True)
    assert explained["metric"] == "voids"
    assert explained["peer_median"] == pytest.approx(0.02, abs=0.015)


def test_tiny_groups_do_not_explode() -> None:
    frame = pl.DataFrame(
        {
            "store.uid": ["s1", "s1"],
            "period": ["d", "d"],
            "transactions": [3, 2],
            "voids": [1, 0],
            "line_voids": [0, 0],
            "refunds": [0, 0],
            "no_sales": [0, 0],
            "discounts": [0, 0],
            "manual_entries": [0, 0],
        }
    )
    detector = build_detector({"type": "peer_group"}, "<test>")
    assert detector.score(frame).to_list() == [0.0, 0.0]  # nothing learned, no peers
    detector.learn(peer_frame(1))
    scores = detector.score(frame).to_numpy()
    assert np.isfinite(scores).all()
    assert scores.max() < 10


def test_cashier_periods_from_golden_pos_events() -> None:
    parsed = batches_from_json_lines(GOLDEN_POS.read_text().splitlines())
    frame = pl.from_arrow(parsed.batches[0].table)
    assert isinstance(frame, pl.DataFrame)
    periods = cashier_periods(frame)
    assert periods.get_column("transactions").sum() == frame.height
    assert periods.columns == [
        "store.uid",
        "period",
        "cashier.uid",
        "transactions",
        "voids",
        "line_voids",
        "refunds",
        "no_sales",
        "discounts",
        "manual_entries",
    ]
    activities = frame.get_column("activity_id")
    assert periods.get_column("refunds").sum() == (activities == 2).sum()
    assert periods.get_column("no_sales").sum() == (activities == 5).sum()
    assert (
        periods.get_column("line_voids").sum()
        == frame.get_column("transaction.void_count").fill_null(0).sum()
    )
    shifts = cashier_periods(frame, period="shift")
    assert shifts.get_column("transactions").sum() == frame.height
    assert all("/" in period for period in shifts.get_column("period").to_list())
    scores = build_detector({"type": "peer_group", "min_peers": 2}, "<test>").score(periods)
    assert not any(math.isnan(score) for score in scores.to_list())
