"""Playbooks: the shipped pack, lint with file:line, the round trip, conditions, templates, dry run."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from correlate_helpers import make_alert
from respond_helpers import (
    BLACK_FRIDAY,
    CLOSED,
    TRADING,
    Clock,
    World,
    incident,
    playbook,
    pos_malware,
)
from vigil.cli_respond import app
from vigil.estate import Estate
from vigil.respond.modes import ResponseMode
from vigil.respond.playbooks import (
    ActionStep,
    Condition,
    IncidentFacts,
    Playbook,
    PlaybookLintError,
    Situation,
    TemplateError,
    check,
    lint_playbooks,
    load_pack,
    load_playbooks,
    pack_files,
)
from vigil.respond.playbooks.loader import parse_playbook
from vigil.respond.playbooks.prepare import step_retry
from vigil.respond.playbooks.templates import render
from vigil.respond.retry import RetryPolicy
from vigil.store.database import Database

# --- the pack -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use_case", "playbook_id", "actions"),
    [
        ("pos_malware", "pos-malware", {"quarantine_device", "block_ip", "notify"}),
        ("card_testing", "card-testing", {"rate_limit", "geo_block", "notify"}),
        ("credential_stuffing", "credential-stuffing", {"block_range", "notify"}),
        ("vendor_misuse", "vendor-misuse", {"disable_user", "block_ip", "notify"}),
        (
            "iot_botnet",
            "iot-compromise",
            {"quarantine_device", "iot_command", "block_ip", "notify"},
        ),
        (
            "rogue_firmware",
            "iot-compromise",
            {"quarantine_device", "iot_command", "block_ip", "notify"},
        ),
        ("insider_after_hours", "insider-after-hours", {"request_video_review", "notify"}),
        ("ddos", "ddos", {"rate_limit", "notify"}),
        ("guest_wifi_scan", "guest-wifi-abuse", {"block_ip", "notify"}),
    ],
)
def test_the_pack_has_a_playbook_per_main_incident_type(
    use_case: str, playbook_id: str, actions: set[str]
) -> None:
    found = [p for p in load_pack() if use_case in p.trigger.use_cases]
    assert [p.id for p in found] == [playbook_id]
    assert {s.action for s in found[0].steps if isinstance(s, ActionStep)} == actions


def test_pack_playbooks_round_trip_through_yaml() -> None:
    pack = load_pack()
    assert len(pack) == len(pack_files()) == 8
    for original in pack:
        bare = original.model_copy(update={"origin": ""})
        assert Playbook.model_validate(original.dump()) == bare
        text = io.StringIO()
        YAML(typ="rt").dump(original.dump(), text)
        again, problems = parse_playbook(YAML(typ="rt").load(text.getvalue()), "<dump>", 1)
        assert problems == []
        assert again is not None
        assert again.model_copy(update={"origin": ""}) == bare


# --- lint -----------------------------------------------------------------------------------

BROKEN = """\
id: broken
title: Broken on purpose
trigger: {use_cases: [pos_malware]}
steps:
  - id: first
    action: block_everything
  - id: second
    action: block_ip
    params:
      address: "{{ asset.nope }}"
      colour: red
      expires_in: forever
  - id: loop-a
    action: notify
    params: {channel: soc, title: t, text: x}
    next: loop-b
  - id: loop-b
    branch:
      - goto: loop-a
      - when: {store_open: true}
        goto: nowhere
      - goto: end
  - id: orphan
    action: notify
    params: {channel: soc, title: "{{ item }}", text: x}
---
id: second-document
title: Fine apart from one field
trigger: {}
steps:
  - id: only
    action: notify
    params: {channel: soc, title: t, text: x}
    colour: blue
"""


def test_lint_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    playbooks, errors = lint_playbooks([path])
    assert playbooks == []
    found = sorted((error.line or 0, error.message) for error in errors)
    assert all(error.file == str(path) for error in errors)
    expected = [
        (6, "unknown action 'block_everything'"),
        (10, "unknown variable 'asset.nope'"),
        (11, "block_ip has no parameter 'colour'"),
        (12, "params.expires_in: Input should be a valid timedelta"),
        (13, "steps form a cycle: loop-a -> loop-b -> loop-a"),
        (19, "only the last case may leave out `when`"),
        (21, "no step 'nowhere' to go to"),
        (23, "step 'orphan' is never reached"),
        (25, "`item` is only defined in a step with `for_each`"),
        (34, "steps.0.colour: unknown field"),
    ]
    assert len(found) == len(expected), found
    for (line, text), (want_line, want_text) in zip(found, expected, strict=True):
        assert line == want_line, (line, text)
        assert want_text in text, text


def test_a_literal_parameter_is_validated_at_load(tmp_path: Path) -> None:
    path = tmp_path / "literal.yaml"
    path.write_text(
        "id: literal\ntitle: T\ntrigger: {use_cases: [ddos]}\nsteps:\n"
        "  - id: block\n    action: block_ip\n    params:\n"
        "      address: 203.0.113.7\n      expires_in: forever\n"
    )
    with pytest.raises(PlaybookLintError) as caught:
        load_playbooks([path])
    [error] = caught.value.errors
    assert (error.line, error.message.split(":")[0]) == (9, "params.expires_in")
    assert str(error).startswith(f"{path}:9: ")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("id: x\ntitle: [unclosed\n", 3, "malformed YAML"),
        ("- just\n- a list\n", 1, "a playbook is a YAML mapping"),
        (
            "id: x\ntitle: T\ntrigger: {}\nsteps:\n  - {id: a, action: notify, params: {channel: c, title: t, text: x}}\n",
            3,
            "the trigger needs use_cases or rules",
        ),
        (
            "id: Bad Id\ntitle: T\ntrigger: {use_cases: [a]}\nsteps: []\n",
            1,
            "id: String should match pattern",
        ),
        (
            "id: x\ntitle: T\ntrigger: {use_cases: [a]}\nsteps:\n  - {id: a, action: notify, approval: {expires_in: 10m, escalate_after: 20m}, params: {channel: c, title: t, text: x}}\n",
            5,
            "escalate_after must come before expires_in",
        ),
    ],
)
def test_bad_playbooks(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    _, errors = lint_playbooks([path])
    assert [(e.line, message in e.message) for e in errors][:1] == [(line, True)], [
        str(e) for e in errors
    ]


def test_duplicate_playbook_ids_across_files(tmp_path: Path) -> None:
    body = "title: T\ntrigger: {use_cases: [a]}\nsteps:\n  - {id: a, action: notify, params: {channel: c, title: t, text: x}}\n"
    (tmp_path / "a.yaml").write_text("id: same\n" + body)
    (tmp_path / "b.yaml").write_text("id: same\n" + body)
    playbooks, errors = lint_playbooks([tmp_path])
    assert len(playbooks) == 2
    assert [e.message for e in errors] == [
        f"playbook id 'same' is also used at {tmp_path / 'a.yaml'}:1"
    ]
    assert errors[0].file == str(tmp_path / "b.yaml")


# --- conditions and templates ---------------------------------------------------------------


def _situation(estate: Estate | None, when: datetime, **entities: tuple[str, ...]) -> Situation:
    facts = IncidentFacts(
        uid="inc-1",
        title="POS lane 1 beacons",
        status="new",
        severity=5,
        risk=82.0,
        risk_level="critical",
        use_case="pos_malware",
        use_cases=frozenset({"pos_malware"}),
        rules=frozenset({"vigil.pos.new_destination"}),
        tags=frozenset({"exfiltration", "T1041"}),
        stores=("031",),
        entities={
            "store": ("031",),
            "device": ("s031-pos-01",),
            "ip": ("10.31.11.11", "203.0.113.9"),
            **entities,
        },
        opened_at=CLOSED,
        first_seen=CLOSED - timedelta(minutes=5),
        last_seen=CLOSED + timedelta(minutes=30),
    )
    return Situation(facts, when, estate, frozenset({"default", "031"}))


@pytest.mark.parametrize(
    ("condition", "when", "holds"),
    [
        ({"store_open": True}, TRADING, True),
        ({"store_open": True}, CLOSED, False),
        ({"store_open": False}, CLOSED, True),
        ({"min_peak_level": 2}, TRADING, False),
        ({"min_peak_level": 2}, BLACK_FRIDAY, True),
        ({"max_peak_level": 0}, BLACK_FRIDAY, False),
        ({"asset_segment": ["pos"]}, TRADING, True),
        ({"asset_segment": ["iot"]}, TRADING, False),
        ({"asset_kind": ["pos_terminal"], "min_asset_criticality": "high"}, TRADING, True),
        ({"min_asset_criticality": "critical"}, TRADING, False),
        ({"min_severity": "critical", "min_risk": 80}, TRADING, True),
        ({"min_risk": 90}, TRADING, False),
        ({"has_entity": ["ip", "device"], "has_public_ip": True}, TRADING, True),
        ({"has_entity": ["user"]}, TRADING, False),
        ({"use_case": ["pos_malware"], "store": ["031"], "region": ["west"]}, TRADING, True),
        ({"region": ["east"]}, TRADING, False),
        ({"any": [{"store_open": True}, {"min_peak_level": 3}]}, CLOSED, False),
        ({"any": [{"store_open": True}, {"min_peak_level": 3}]}, BLACK_FRIDAY, True),
        ({"not": {"store_open": True}}, CLOSED, True),
        ({}, CLOSED, True),
    ],
)
def test_conditions(
    estate: Estate, condition: dict[str, object], when: datetime, holds: bool
) -> None:
    verdict = check(Condition.model_validate(condition), _situation(estate, when))
    assert verdict.holds is holds, verdict.reasons


def test_conditions_say_why_and_assume_trading_without_an_estate(estate: Estate) -> None:
    verdict = check(Condition(store_open=True, min_peak_level=3), _situation(estate, BLACK_FRIDAY))
    assert verdict.reasons == (
        "store 031 is open",
        "peak level 3 (Black Friday is on (level 3) until 28 Nov)",
    )
    assert check(Condition(store_open=True), _situation(None, CLOSED)).holds


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ asset.ip }}", "10.31.11.11"),
        (
            "{{ store.management }}",
            ["10.31.60.1", "10.31.60.11", "10.31.60.12", "10.31.60.13", "10.31.60.2"],
        ),
        ("{{ public_ips }}", ["203.0.113.9"]),
        ("{{ public_ip | subnet }}", "203.0.113.0/24"),
        ("{{ public_ip | host }}", "203.0.113.9/32"),
        ("{{ store.gateway }}", "031"),
        (
            "POS {{ asset.name }} at {{ store.name }} ({{ store.region }})",
            "POS POS lane 1 at Portland Pearl (west)",
        ),
        ("{{ entities.ip | join }}", "10.31.11.11, 203.0.113.9"),
        ("{{ incident.review_start }}", (CLOSED - timedelta(minutes=15)).isoformat()),
        ("{{ incident.severity }}/{{ incident.risk }}", "critical/82"),
    ],
)
def test_templates(estate: Estate, template: str, expected: object) -> None:
    assert render(template, _situation(estate, TRADING)) == expected


def test_country_filter_and_missing_values(estate: Estate) -> None:
    situation = _situation(estate, TRADING, ip=("77.88.1.2",))
    assert render("{{ public_ip | country }}", situation) == "RU"
    with pytest.raises(TemplateError, match=r"no country for 203\.0\.113\.9"):
        render("{{ public_ip | country }}", _situation(estate, TRADING))
    with pytest.raises(TemplateError, match="the incident has no user entity"):
        render("{{ entity.user }}", _situation(estate, TRADING))
    # A message may name what the incident lacks: a notification never fails for it.
    assert render("Users: {{ entities.user | join }}.", _situation(estate, TRADING)) == (
        "Users: none named."
    )
    with pytest.raises(TemplateError, match="the estate does not know"):
        render("{{ store.management }}", _situation(None, TRADING))


# --- dry run --------------------------------------------------------------------------------


def test_dry_run_shows_approval_while_trading_and_automatic_after_hours(
    database: Database, estate: Estate
) -> None:
    world = World(database, estate, Clock(TRADING))
    found = pos_malware(database, estate)
    responder = world.responder(load_pack())
    [trading] = responder.plan(found.uid)
    assert trading.playbook_id == "pos-malware"
    assert [(s.step_id, s.outcome) for s in trading.steps] == [
        ("quarantine", "would wait for approval"),
        ("block-c2", "would run"),
        ("notify-soc", "would run"),
    ]
    quarantine = trading.steps[0]
    assert quarantine.approval is not None
    assert quarantine.approval.why == "approval needed: store 031 is open"
    assert quarantine.detail.startswith("quarantined POS lane 1 (10.31.11.11)")
    assert trading.steps[1].detail == "blocked 203.0.113.9/32"
    world.clock.now = CLOSED + timedelta(hours=1)
    [night] = responder.plan(found.uid)
    assert night.steps[0].outcome == "would run"
    assert night.steps[0].approval is not None
    assert night.steps[0].approval.why == "automatic: store 031 is closed"
    assert world.backend.calls == []
    assert responder.rt.store.runs() == []


def test_dry_run_in_detect_only_mode_and_a_branch_at_peak(
    database: Database, estate: Estate
) -> None:
    world = World(database, estate, Clock(BLACK_FRIDAY))
    alert = make_alert(
        "vigil.web.card_testing", 0, {"store": "031", "ip": "77.88.1.2"}, use_case="card_testing"
    )
    found = incident(database, estate, [alert])
    [peak] = world.responder(load_pack()).plan(found.uid)
    assert [(s.step_id, s.outcome) for s in peak.steps] == [
        ("rate-limit", "would run"),
        ("peak-check", "branch"),
        ("notify-soc", "would run"),
    ]
    assert peak.steps[1].detail.startswith("go to notify-soc: peak level 3")
    world.clock.now = TRADING
    [normal] = world.responder(load_pack()).plan(found.uid)
    assert [s.step_id for s in normal.steps] == [
        "rate-limit",
        "peak-check",
        "geo-block",
        "notify-soc",
    ]
    assert normal.steps[2].outcome == "would wait for approval"
    assert "geo-blocked RU" in normal.steps[2].detail
    [held] = world.responder(load_pack(), mode=ResponseMode.DETECT_ONLY).plan(found.uid)
    assert {s.outcome for s in held.steps} == {"held", "branch"}
    assert held.steps[0].detail == (
        "detect-only mode: would run rate_limit expires_in=PT2H, network=77.88.1.2/32, "
        "packets_per_second=5, burst=10, gateway=default, reason=card testing, incident "
        + found.uid
    )


def test_a_playbook_can_be_written_inline() -> None:
    written = playbook(
        "id: inline\ntitle: T\ntrigger: {rules: ['vigil.pos.*']}\nsteps:\n"
        "  - {id: tell, action: notify, params: {channel: soc, title: t, text: x}}\n"
    )
    assert written.trigger.rules == ["vigil.pos.*"]


# --- CLI ------------------------------------------------------------------------------------


def test_cli_lints_and_lists(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    data.mkdir()
    result = runner.invoke(app, ["playbooks", "lint", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "8 playbook(s), no problems" in result.output
    listed = runner.invoke(app, ["playbooks", "list", "--data", str(data)])
    assert listed.exit_code == 0
    assert "pos-malware" in listed.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    failed = runner.invoke(app, ["playbooks", "lint", str(broken)])
    assert failed.exit_code == 1
    assert f"{broken}:6: unknown action 'block_everything'" in failed.output.replace("\n", "")
    assert "10 problem(s); 0 playbook(s) load cleanly" in failed.output


def test_a_step_sets_its_own_timeout_and_retries() -> None:
    written = playbook(
        "id: patient\ntitle: T\ntrigger: {use_cases: [ddos]}\nsteps:\n"
        "  - {id: tell, action: notify, timeout: 20s, retries: 1,"
        " params: {channel: soc, title: t, text: x}}\n"
        "  - {id: again, action: notify, params: {channel: soc, title: t, text: x}}\n"
    )
    first, second = (s for s in written.steps if isinstance(s, ActionStep))
    base = RetryPolicy(max_attempts=5, attempt_timeout_seconds=3)
    assert step_retry(base, first).model_dump() == {
        **base.model_dump(),
        "max_attempts": 2,
        "attempt_timeout_seconds": 20.0,
    }
    assert step_retry(base, second) == base
