"""The action registry: conformance of every action, the run guard, retries, rollbacks, config."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from pydantic import ValidationError

from vigil.respond import (
    ActionParams,
    ExecutionContext,
    FailureKind,
    MemoryLedger,
    ParamsError,
    RecordError,
    RepeatRefusedError,
    RetryPolicy,
    RiskLevel,
    RollbackError,
    actions,
    execution_key,
    load_result,
    load_rollback,
    rollback,
)
from vigil.respond.actions import Action
from vigil.respond.adapters.config import RespondConfig, build_backends
from vigil.respond.adapters.nftables import NftFirewall
from vigil.respond.adapters.scim import ScimDirectory
from vigil.respond.adapters.smtp import SmtpNotifier
from vigil.respond.adapters.webhook import WebhookNotifier
from vigil.respond.backends import BlockList, DirectoryUser
from vigil.respond.errors import AmbiguousError, ConfigError, PermanentError, TransientError
from vigil.respond.geo import CountryRanges
from vigil.respond.recording import FakeSleep, RecordingBackend

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

SAMPLES: dict[str, dict[str, Any]] = {
    "block_ip": {"address": "203.0.113.7", "expires_in": 3600},
    "unblock_ip": {"address": "203.0.113.7"},
    "block_range": {"network": "203.0.113.0/24", "expires_in": "PT1H"},
    "unblock_range": {"network": "203.0.113.0/24"},
    "quarantine_device": {"device": "10.31.2.7", "management": ["10.31.0.10"], "expires_in": 900},
    "release_device": {"device": "10.31.2.7", "management": ["10.31.0.10"]},
    "rate_limit": {"network": "198.51.100.0/24", "packets_per_second": 50, "expires_in": 600},
    "remove_rate_limit": {"network": "198.51.100.0/24", "packets_per_second": 50},
    "geo_block": {"country": "RU", "expires_in": 3600},
    "geo_unblock": {"country": "RU", "networks": ["77.88.0.0/18"]},
    "disable_user": {"user_name": "vendor-hvac"},
    "enable_user": {"user_id": "u-1"},
    "force_password_reset": {"user_name": "vendor-hvac"},
    "notify": {"channel": "ops", "title": "POS malware at 031", "text": "Lane 7 beaconing."},
    "open_ticket": {"title": "Reimage POS 031-07", "description": "Beaconing to 203.0.113.7."},
    "request_video_review": {
        "store": "031",
        "cameras": ["cam-3"],
        "start": "2026-11-27T08:00:00Z",
        "end": "2026-11-27T08:30:00Z",
        "reason": "refund without customer",
    },
    "iot_command": {
        "store": "031",
        "device": "door-1",
        "command": "lock",
        "undo_command": "unlock",
    },
}


def _context(backend: RecordingBackend, key: str = "inc-1/step", **kwargs: Any) -> ExecutionContext:
    return ExecutionContext(
        backends=backend.backends(),
        key=key,
        incident_id="inc-1",
        sleep=kwargs.pop("sleep", FakeSleep()),
        rng=random.Random(7),
        now=lambda: START,
        **kwargs,
    )


def _backend() -> RecordingBackend:
    return RecordingBackend(users=[DirectoryUser("u-1", "vendor-hvac", True)])


# --- conformance: every registered action -----------------------------------------------


def test_every_registered_action_has_a_sample() -> None:
    assert sorted(SAMPLES) == actions.names()


@pytest.mark.parametrize("name", actions.names())
def test_action_declares_signature_risk_and_undo(name: str) -> None:
    action = actions.get(name)
    assert action.name == name
    assert issubclass(action.params_model, ActionParams)
    assert action.params_model.model_config.get("extra") == "forbid"
    for field_name, field in action.params_model.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description"
    assert isinstance(action.risk, RiskLevel)
    assert action.blast_radius.strip()
    assert isinstance(action.repeatable, bool)
    ways = [action.inverse is not None, action.expires(), action.undoes is not None]
    assert any(ways) or action.irreversible, f"{name} has no inverse, expiry or reason"
    if action.inverse is not None:
        assert action.inverse in actions.names()
        inverse = actions.get(action.inverse)
        assert inverse.undoes == name or inverse is action
    if action.undoes is not None:
        assert actions.get(action.undoes).inverse == name


@pytest.mark.parametrize("name", actions.names())
def test_action_runs_on_the_recording_backend_and_rolls_back(name: str) -> None:
    backend = _backend()
    if name in {"enable_user"}:
        backend.users["u-1"] = DirectoryUser("u-1", "vendor-hvac", False)
    context = _context(backend)
    result = actions.get(name)().run(SAMPLES[name], context)
    assert result.ok, result.detail
    assert result.attempts[-1].failure is None
    assert result.changes, "an action that succeeds says what it changed"
    assert backend.calls, "the action went through its backend"
    assert load_result(result.model_dump_json()) == result
    if actions.get(name).expires():
        assert result.expires_at is not None
        assert result.expires_at > START
    if result.rollback is not None:
        handle = load_rollback(result.rollback.model_dump_json())
        assert handle == result.rollback
        assert rollback(result, context).ok


@pytest.mark.parametrize("name", actions.names())
def test_action_refuses_unknown_and_missing_parameters(name: str) -> None:
    action = actions.get(name)()
    with pytest.raises(ParamsError, match="nosuch"):
        action.run({**SAMPLES[name], "nosuch": 1}, _context(_backend()))
    with pytest.raises(ParamsError, match="invalid parameters"):
        action.run({}, _context(_backend()))


# --- parameter checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("block_range", {"network": "0.0.0.0/0", "expires_in": 60}, "wider than /8"),
        (
            "block_range",
            {"network": "10.0.0.1/24", "expires_in": 60},
            "not a valid IPv4 or IPv6 network",
        ),
        ("block_ip", {"address": "203.0.113.7", "expires_in": 0}, "greater than 0"),
        ("block_ip", {"address": "203.0.113.7", "expires_in": 31 * 86400}, "less than or equal"),
        ("block_ip", {"address": "not-an-ip", "expires_in": 60}, "address"),
        (
            "quarantine_device",
            {"device": "10.0.0.5", "management": ["fd00::1"], "expires_in": 60},
            "not IPv4",
        ),
        (
            "quarantine_device",
            {"device": "10.0.0.5", "management": [], "expires_in": 60},
            "at least 1",
        ),
        ("disable_user", {"user_id": "u-1", "user_name": "alice"}, "exactly one"),
        ("disable_user", {}, "exactly one"),
        ("geo_block", {"country": "Russia", "expires_in": 60}, "pattern"),
        ("iot_command", {"store": "031", "device": "a/#", "command": "lock"}, "pattern"),
        (
            "request_video_review",
            {**SAMPLES["request_video_review"], "end": "2026-11-28T09:00:00Z"},
            "24 hours",
        ),
        (
            "request_video_review",
            {**SAMPLES["request_video_review"], "start": "2026-11-27T08:00:00"},
            "timezone",
        ),
    ],
)
def test_bad_parameters_are_clear_errors(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        actions.get(name)().parse(params)


# --- the run guard: idempotency keys --------------------------------------------------------


def test_same_key_replays_the_recorded_result_without_running_again() -> None:
    backend = _backend()
    ledger = MemoryLedger()
    first = actions.get("notify")().run(SAMPLES["notify"], _context(backend, ledger=ledger))
    again = actions.get("notify")().run(SAMPLES["notify"], _context(backend, ledger=ledger))
    assert first.ok
    assert not first.replayed
    assert again.replayed
    assert again.changes == first.changes
    assert len(backend.sent) == 1


def test_same_key_with_other_parameters_is_refused() -> None:
    ledger = MemoryLedger()
    backend = _backend()
    actions.get("block_ip")().run(SAMPLES["block_ip"], _context(backend, ledger=ledger))
    with pytest.raises(RepeatRefusedError, match="other parameters"):
        actions.get("block_ip")().run(
            {"address": "203.0.113.8", "expires_in": 60}, _context(backend, ledger=ledger)
        )


def test_a_step_that_may_have_run_repeats_only_when_safe() -> None:
    """A claim without a result is a crash between acting and recording."""
    ledger = MemoryLedger()
    backend = _backend()
    notify, block = actions.get("notify")(), actions.get("block_ip")()
    ledger.claim("k-notify", "notify", notify.parse(SAMPLES["notify"]).model_dump_json())
    ledger.claim("k-block", "block_ip", block.parse(SAMPLES["block_ip"]).model_dump_json())
    with pytest.raises(RepeatRefusedError, match="must not repeat"):
        notify.run(SAMPLES["notify"], _context(backend, "k-notify", ledger=ledger))
    assert backend.sent == []
    assert block.run(SAMPLES["block_ip"], _context(backend, "k-block", ledger=ledger)).ok


def test_a_failed_step_may_run_again_under_its_key() -> None:
    ledger = MemoryLedger()
    backend = _backend()
    backend.fail("send", PermanentError("HTTP 400 bad channel"))
    failed = actions.get("notify")().run(SAMPLES["notify"], _context(backend, ledger=ledger))
    assert not failed.ok
    retried = actions.get("notify")().run(SAMPLES["notify"], _context(backend, ledger=ledger))
    assert retried.ok
    assert not retried.replayed


def test_execution_keys_are_stable_and_unambiguous() -> None:
    assert execution_key("inc-1", "contain-pos", "block") == execution_key(
        "inc-1", "contain-pos", "block"
    )
    assert execution_key("a/b", "c") != execution_key("a", "b/c")


# --- retries and failures --------------------------------------------------------------------


def test_transient_failures_are_retried_with_growing_back_off() -> None:
    backend = _backend()
    backend.fail("block", TransientError("nft busy"), TransientError("nft busy"))
    sleep = FakeSleep()
    policy = RetryPolicy(max_attempts=4, base_delay_seconds=1.0, multiplier=2.0, jitter=0.0)
    result = actions.get("block_ip")().run(
        SAMPLES["block_ip"], _context(backend, retry=policy, sleep=sleep)
    )
    assert result.ok
    assert [attempt.number for attempt in result.attempts] == [1, 2, 3]
    assert [a.failure.kind for a in result.attempts if a.failure] == [FailureKind.TRANSIENT] * 2
    assert sleep.slept == [1.0, 2.0]
    assert (BlockList.ADDRESS, ip_network("203.0.113.7/32")) in backend.blocked


def test_failure_after_every_attempt_shows_on_the_result() -> None:
    backend = _backend()
    backend.fail("set_active", *[TransientError("HTTP 503")] * 3)
    result = actions.get("disable_user")().run(
        SAMPLES["disable_user"], _context(backend, retry=RetryPolicy(max_attempts=3))
    )
    assert not result.ok
    assert result.failure is not None
    assert result.failure.kind is FailureKind.TRANSIENT
    assert len(result.attempts) == 3
    assert "failed after 3 attempt(s): HTTP 503" in result.detail
    assert result.rollback is None


@pytest.mark.parametrize(
    ("name", "operation", "error", "attempts"),
    [
        ("block_ip", "block", PermanentError("rule refused"), 1),
        ("notify", "send", AmbiguousError("timed out after sending"), 1),
        ("block_ip", "block", AmbiguousError("nft timed out"), 2),
    ],
)
def test_what_is_retried_depends_on_the_failure_and_the_action(
    name: str, operation: str, error: Exception, attempts: int
) -> None:
    backend = _backend()
    backend.fail(operation, error)  # type: ignore[arg-type]
    result = actions.get(name)().run(SAMPLES[name], _context(backend))
    assert len(result.attempts) == attempts
    assert result.ok is (attempts == 2)


def test_a_missing_backend_is_a_configuration_failure_not_retried() -> None:
    context = _context(_backend())
    result = actions.get("notify")().run({**SAMPLES["notify"], "channel": "nosuch"}, context)
    assert not result.ok
    assert result.failure is not None
    assert result.failure.kind is FailureKind.CONFIG
    assert "no notification channel 'nosuch'" in result.failure.message
    assert len(result.attempts) == 1


def test_back_off_is_capped_and_jitter_stays_in_its_band() -> None:
    policy = RetryPolicy(base_delay_seconds=1.0, multiplier=3.0, max_delay_seconds=5.0, jitter=0.2)
    rng = random.Random(1)
    delays = [policy.delay(retry, rng) for retry in range(1, 7)]
    assert 0.8 <= delays[0] <= 1.2
    assert 2.4 <= delays[1] <= 3.6
    assert all(4.0 <= delay <= 6.0 for delay in delays[2:])


# --- rollbacks -------------------------------------------------------------------------------


def test_disabling_a_user_who_was_already_disabled_leaves_nothing_to_roll_back() -> None:
    backend = RecordingBackend(users=[DirectoryUser("u-1", "vendor-hvac", False)])
    context = _context(backend)
    result = actions.get("disable_user")().run(SAMPLES["disable_user"], context)
    assert result.ok
    assert result.rollback is None
    assert result.changes == ()
    with pytest.raises(RollbackError, match="nothing that can be undone"):
        rollback(result, context)
    assert backend.users["u-1"].active is False


def test_disable_then_rollback_restores_the_user() -> None:
    backend = _backend()
    context = _context(backend)
    result = actions.get("disable_user")().run(SAMPLES["disable_user"], context)
    assert backend.users["u-1"].active is False
    assert result.rollback is not None
    assert result.rollback.action == "enable_user"
    assert rollback(result, context).ok
    assert backend.users["u-1"].active is True


def test_a_broken_rollback_handle_is_a_clear_error() -> None:
    with pytest.raises(RollbackError, match="not a rollback handle"):
        load_rollback('{"action": "nosuch", "params": {}, "key": "k"}')
    with pytest.raises(RollbackError, match="not a rollback handle"):
        load_rollback('{"action": "unblock_ip", "params": {"address": "x"}, "key": "k"}')


def test_a_broken_stored_result_is_a_clear_error() -> None:
    with pytest.raises(RecordError, match="not an action result"):
        load_result('{"action": "block_ip", "params": {"address": "203.0.113.7"}}')


def test_geo_block_uses_the_shipped_country_table() -> None:
    backend = _backend()
    result = actions.get("geo_block")().run(SAMPLES["geo_block"], _context(backend))
    expected = set(CountryRanges.sample().ranges("RU"))
    assert {network for (_, network) in backend.blocked} == expected
    assert ip_network("77.88.0.0/18") in expected
    assert result.rollback is not None
    assert set(result.rollback.params.networks) == expected  # type: ignore[attr-defined]


def test_country_table_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="no ranges for XX"):
        CountryRanges.sample().ranges("xx")
    with pytest.raises(ConfigError, match="line 3"):
        CountryRanges.from_rows([("10.0.0.0/8", "ZZ"), ("10.0.0.0/33", "ZZ")])


# --- configuration ---------------------------------------------------------------------------


def test_build_backends_reads_secrets_from_the_environment() -> None:
    config = RespondConfig.model_validate(
        {
            "gateways": {"store031": {"netns": "gw031"}},
            "scim": {"base_url": "http://127.0.0.1:1/v2", "token_env": "T_SCIM"},
            "channels": {
                "soc": {"type": "webhook", "url_env": "T_SLACK", "format": "slack"},
                "lp": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "sender": "v@x.example",
                    "recipients": ["a@x.example"],
                },
            },
        }
    )
    backends = build_backends(config, {"T_SCIM": "s3cret", "T_SLACK": "http://127.0.0.1:1/hook"})
    assert isinstance(backends.firewall("store031"), NftFirewall)
    assert isinstance(backends.notifier("soc"), WebhookNotifier)
    assert isinstance(backends.notifier("lp"), SmtpNotifier)
    directory = backends.need_directory()
    assert isinstance(directory, ScimDirectory)
    directory.close()
    backends.notifier("soc").close()  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="T_SLACK is not set"):
        build_backends(config, {"T_SCIM": "s3cret"})


def test_config_refuses_unknown_fields_and_channel_types() -> None:
    with pytest.raises(ValidationError, match="nosuch"):
        RespondConfig.model_validate({"nosuch": 1})
    with pytest.raises(ValidationError, match="pager"):
        RespondConfig.model_validate({"channels": {"x": {"type": "pager"}}})


def test_expiry_accepts_iso_durations() -> None:
    params = actions.get("block_range")().parse(SAMPLES["block_range"])
    assert params.expires_in == timedelta(hours=1)  # type: ignore[attr-defined]


def test_registry_holds_action_classes() -> None:
    assert all(issubclass(action, Action) for _, action in actions.items())
