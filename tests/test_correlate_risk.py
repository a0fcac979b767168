"""Risk: parts from severity, confidence, the estate's assets and segments, business context, ATT&CK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from correlate_helpers import make_alert
from vigil.correlate import Correlator, Incident, RiskLevel, RiskModel
from vigil.correlate.risk import WEIGHTS
from vigil.estate import Estate, load_sample_estate

CLOSED = datetime(2026, 11, 23, 11, tzinfo=UTC)
"""Monday 03:00 in store 031 (Los Angeles): closed."""
OPEN = datetime(2026, 11, 23, 20, tzinfo=UTC)
"""Monday 12:00 in store 031: trading, no peak."""
BLACK_FRIDAY = datetime(2026, 11, 27, 20, tzinfo=UTC)
"""Black Friday 12:00 in store 031: trading, peak level 3."""


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_sample_estate()


def _incident(
    estate: Estate | None, moment: datetime, entities: dict[str, str], **options: object
) -> Incident:
    minutes = (moment - datetime(2026, 11, 23, 11, tzinfo=UTC)) / timedelta(minutes=1)
    alert = make_alert("r.a", minutes, entities, **options)  # type: ignore[arg-type]
    [incident] = Correlator(estate=estate).update([alert]).incidents
    return incident


def _parts(incident: Incident) -> dict[str, tuple[float, str]]:
    return {part.name: (round(part.value, 3), part.reason) for part in incident.risk.parts}


def test_weights_add_up_to_a_hundred() -> None:
    assert sum(WEIGHTS.values()) == 100


@pytest.mark.parametrize(
    ("moment", "value", "reason"),
    [
        (CLOSED, 1.0, "store 031 closed"),
        (OPEN, 0.3, "store 031 trading normally"),
        (BLACK_FRIDAY, 1.0, "Black Friday peak in store 031"),
        (datetime(2026, 11, 26, 20, tzinfo=UTC), 1.0, "store 031 closed"),  # Thanksgiving
    ],
    ids=["closed", "open", "black-friday", "thanksgiving-closure"],
)
def test_business_context(estate: Estate, moment: datetime, value: float, reason: str) -> None:
    incident = _incident(estate, moment, {"store": "031", "device": "s031-pos-01"})
    assert _parts(incident)["context"] == (value, reason)


def test_the_same_alert_scores_higher_in_a_closed_store(estate: Estate) -> None:
    entities = {"store": "031", "device": "s031-pos-01"}
    closed = _incident(estate, CLOSED, entities)
    trading = _incident(estate, OPEN, entities)
    assert closed.risk.score - trading.risk.score == pytest.approx(
        0.7 * WEIGHTS["context"], abs=0.1
    )
    assert "store 031 closed" in closed.risk.explanation
    assert "closed" not in trading.risk.explanation


@pytest.mark.parametrize(
    ("entities", "segment", "asset"),
    [
        (
            {"store": "031", "ip": "10.31.10.77"},
            (1.0, "the cardholder data environment"),
            (0.5, "no known asset (counted as medium)"),
        ),
        (
            {"store": "031", "ip": "10.31.30.44"},
            (0.2, "guest Wi-Fi"),
            (0.5, "no known asset (counted as medium)"),
        ),
        (
            {"store": "031", "device": "s031-ped-01"},
            (1.0, "the cardholder data environment"),
            (1.0, "PIN pad lane 1 (s031-ped-01) is critical"),
        ),
        (
            {"store": "031", "ip": "10.31.11.11"},  # the address of POS lane 1
            (0.9, "the POS segment"),
            (0.75, "POS lane 1 (s031-pos-01) is high"),
        ),
        (
            {"store": "999", "device": "nowhere-1"},
            (0.5, "segment unknown (counted as medium)"),
            (0.5, "no known asset (counted as medium)"),
        ),
    ],
    ids=["cde-address", "guest-address", "cde-asset", "pos-asset-by-address", "unknown"],
)
def test_segment_and_asset(
    estate: Estate,
    entities: dict[str, str],
    segment: tuple[float, str],
    asset: tuple[float, str],
) -> None:
    parts = _parts(_incident(estate, OPEN, entities))
    assert parts["segment"] == segment
    assert parts["asset"] == asset


def test_cde_outranks_guest_wifi(estate: Estate) -> None:
    cde = _incident(estate, OPEN, {"store": "031", "ip": "10.31.10.77"})
    guest = _incident(estate, OPEN, {"store": "031", "ip": "10.31.30.44"})
    assert cde.risk.score - guest.risk.score == pytest.approx(0.8 * WEIGHTS["segment"], abs=0.1)
    assert "in the cardholder data environment" in cde.risk.explanation
    assert "in guest Wi-Fi" in guest.risk.explanation


def test_explanation_reads_like_the_example(estate: Estate) -> None:
    correlator = Correlator(estate=estate)
    base = {"store": "031", "device": "s031-ped-01"}
    changes = correlator.update(
        [
            make_alert("vendor.login", 0, {**base, "vendor": "rt-support"}, attack=("T1133",)),
            make_alert("pos.beacon", 10, base, attack=("T1071.001",), severity="critical"),
            make_alert("pos.exfil", 20, base, attack=("T1041",), severity="critical", score=0.9),
        ]
    )
    [incident] = changes.incidents
    risk = incident.risk
    assert risk.level is RiskLevel.CRITICAL
    assert risk.explanation == (
        "Critical: critical beacon, payment terminal in the cardholder data environment, "
        "store 031 closed, 3 tactics from initial access to exfiltration"
    )
    parts = _parts(incident)
    assert parts["severity"] == (1.0, "critical: Title of pos.beacon")
    assert parts["attack"] == (0.75, "3 tactics from initial access to exfiltration")
    assert parts["confidence"][0] == pytest.approx(1 - 0.2 * 0.2 * 0.1)
    assert parts["confidence"][1] == "3 rules agree (scores 0.80, 0.80, 0.90)"
    assert risk.score == pytest.approx(sum(p.points for p in risk.parts), abs=0.05)


@pytest.mark.parametrize(
    ("severity", "level"),
    [("informational", RiskLevel.LOW), ("medium", RiskLevel.MEDIUM), ("critical", RiskLevel.HIGH)],
)
def test_levels_without_an_estate(severity: str, level: RiskLevel) -> None:
    incident = _incident(None, OPEN, {"device": "d1"}, severity=severity)
    assert incident.risk.level is level
    assert _parts(incident)["context"] == (0.5, "no estate (counted as medium)")
    assert incident.risk.explanation.startswith(level.value.capitalize() + ": ")


def test_spread_over_stores() -> None:
    correlator = Correlator()
    correlator.update(
        [
            make_alert("r.a", 0, {"store": "031", "card": "411111******0001"}),
            make_alert("r.a", 5, {"store": "044", "card": "411111******0001"}),
        ]
    )
    [incident] = correlator.incidents()
    assert _parts(incident)["spread"] == (0.5, "2 stores")
    assert incident.risk.explanation.endswith("2 stores")


def test_risk_model_is_reusable_and_pure(estate: Estate) -> None:
    incident = _incident(estate, CLOSED, {"store": "031", "device": "s031-pos-01"})
    model = RiskModel(estate)
    assert model.score(incident) == model.score(incident) == incident.risk


def test_an_alert_after_closing_makes_the_incident_after_hours(estate: Estate) -> None:
    till = {"store": "031", "device": "s031-pos-01"}
    correlator = Correlator(estate=estate)
    correlator.update(
        [
            make_alert("pos.new_destination", 17.5 * 60, till),  # 20:30 in Portland: open
            make_alert("pos.exfil", 18.5 * 60, till),  # 21:30: closed
        ]
    )
    [incident] = correlator.incidents()
    assert _parts(incident)["context"] == (1.0, "store 031 closed")
    [opened] = Correlator(estate=estate).update([make_alert("r.a", 17.5 * 60, till)]).incidents
    assert _parts(opened)["context"] == (0.3, "store 031 trading normally")
