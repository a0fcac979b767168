"""Notify, ticket and edge commands through real adapters: a local HTTP receiver, a local
SMTP server (aiosmtpd) and the Mosquitto broker on 127.0.0.1:1883."""

from __future__ import annotations

import json
import queue
import random
import socket
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from paho.mqtt.enums import CallbackAPIVersion

from respond_http import Receiver, http_receiver
from vigil.respond import ExecutionContext, FailureKind, RetryPolicy, actions
from vigil.respond.adapters.formats import WebhookFormat
from vigil.respond.adapters.mqtt import MqttPublisher
from vigil.respond.adapters.smtp import SmtpNotifier
from vigil.respond.adapters.webhook import WebhookNotifier, WebhookTicketing
from vigil.respond.backends import Backends, Notifier
from vigil.respond.recording import FakeSleep

NOTICE = {
    "channel": "soc",
    "title": "POS malware at store 031",
    "text": "Lane 7 is beaconing to 203.0.113.7.",
    "severity": "high",
    "link": "https://vigil.example/incidents/inc-42",
    "facts": [{"name": "Store", "value": "031 Leeds"}, {"name": "Device", "value": "pos-031-07"}],
}


def _context(
    backends: Backends, key: str = "inc-42/notify", sleep: FakeSleep | None = None
) -> ExecutionContext:
    return ExecutionContext(
        backends=backends,
        key=key,
        incident_id="inc-42",
        sleep=sleep or FakeSleep(),
        rng=random.Random(5),
        retry=RetryPolicy(max_attempts=3, base_delay_seconds=0.5, attempt_timeout_seconds=5),
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as found:
        yield found


def _notify(receiver: Receiver, form: WebhookFormat, sleep: FakeSleep | None = None) -> Any:
    notifier = WebhookNotifier(f"{receiver.url}/hook?token=abc", form)
    try:
        return actions.get("notify")().run(
            NOTICE, _context(Backends(notifiers={"soc": notifier}), sleep=sleep)
        )
    finally:
        notifier.close()


# --- webhooks -------------------------------------------------------------------------------


def test_generic_json_webhook_carries_the_notice_and_the_key(receiver: Receiver) -> None:
    result = _notify(receiver, WebhookFormat.JSON)
    assert result.ok, result.detail
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook?token=abc"
    assert request.headers["idempotency-key"] == "inc-42/notify"
    assert request.json() == {
        "type": "vigil.notice",
        "key": "inc-42/notify",
        "title": NOTICE["title"],
        "text": NOTICE["text"],
        "severity": "high",
        "incident_id": "inc-42",
        "link": NOTICE["link"],
        "facts": NOTICE["facts"],
    }


def test_slack_webhook_gets_blocks_with_a_text_fallback(receiver: Receiver) -> None:
    assert _notify(receiver, WebhookFormat.SLACK).ok
    body = receiver.requests[0].json()
    assert body["text"] == "[high] POS malware at store 031"
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "section", "context", "actions"]
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": NOTICE["title"]}
    assert body["blocks"][2]["fields"][0] == {"type": "mrkdwn", "text": "*Store*\n031 Leeds"}
    assert body["blocks"][4]["elements"][0]["url"] == NOTICE["link"]


def test_teams_message_card_shape(receiver: Receiver) -> None:
    assert _notify(receiver, WebhookFormat.TEAMS_CARD).ok
    card = receiver.requests[0].json()
    assert card["@type"] == "MessageCard"
    assert card["@context"] == "https://schema.org/extensions"
    assert card["summary"] == card["title"] == NOTICE["title"]
    facts = card["sections"][0]["facts"]
    assert {"name": "Severity", "value": "high"} in facts
    assert {"name": "Device", "value": "pos-031-07"} in facts
    assert card["potentialAction"][0]["targets"][0]["uri"] == NOTICE["link"]


def test_teams_adaptive_card_shape(receiver: Receiver) -> None:
    assert _notify(receiver, WebhookFormat.TEAMS_ADAPTIVE).ok
    message = receiver.requests[0].json()
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["body"][0]["text"] == NOTICE["title"]
    assert {"title": "Incident", "value": "inc-42"} in card["body"][2]["facts"]
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Open incident",
        "url": NOTICE["link"],
    }


def test_a_500_is_retried_with_back_off_then_succeeds(receiver: Receiver) -> None:
    receiver.answer((500, b"upstream down"))
    sleep = FakeSleep()
    result = _notify(receiver, WebhookFormat.JSON, sleep)
    assert result.ok
    assert len(receiver.requests) == 2
    assert [a.failure.kind for a in result.attempts if a.failure] == [FailureKind.TRANSIENT]
    assert "HTTP 500 upstream down" in result.attempts[0].failure.message
    assert len(sleep.slept) == 1
    assert 0.4 <= sleep.slept[0] <= 0.6
    assert result.attempts[1].waited_seconds == sleep.slept[0]


def test_a_permanent_4xx_is_not_retried_and_says_why(receiver: Receiver) -> None:
    receiver.answer((400, b"invalid_payload"))
    result = _notify(receiver, WebhookFormat.SLACK)
    assert not result.ok
    assert len(receiver.requests) == 1
    assert result.failure.kind is FailureKind.PERMANENT
    assert "HTTP 400 invalid_payload" in result.failure.message
    assert "token=abc" not in result.failure.message


def test_open_ticket_posts_generic_json_and_reads_the_id(receiver: Receiver) -> None:
    ticketing = WebhookTicketing(f"{receiver.url}/intake", token="tk-1")
    receiver.answer((201, b'{"id": "SEC-1042"}'))
    params = {
        "title": "Reimage POS 031-07",
        "description": "Beaconing.",
        "priority": "high",
        "store": "031",
        "labels": ["pos"],
    }
    try:
        result = actions.get("open_ticket")().run(
            params, _context(Backends(ticketing=ticketing), "inc-42/ticket")
        )
    finally:
        ticketing.close()
    assert result.ok
    assert result.changes[0].target == "ticket SEC-1042"
    body = receiver.requests[0].json()
    assert body["type"] == "vigil.ticket"
    assert body["store"] == "031"
    assert body["labels"] == ["pos"]
    assert receiver.requests[0].headers["authorization"] == "Bearer tk-1"


# --- SMTP -----------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("blocked@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _email(port: int, recipients: list[str]) -> Notifier:
    return SmtpNotifier("127.0.0.1", port, "vigil@acme.example", recipients)


def test_email_arrives_with_headers_and_body(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    notifier = _email(port, ["lp@acme.example", "soc@acme.example"])
    result = actions.get("notify")().run(NOTICE, _context(Backends(notifiers={"soc": notifier})))
    assert result.ok, result.detail
    [(envelope, message)] = box.messages
    assert envelope.mail_from == "vigil@acme.example"
    assert envelope.rcpt_tos == ["lp@acme.example", "soc@acme.example"]
    assert message["Subject"] == "[Vigil high] POS malware at store 031"
    assert message["X-Vigil-Key"] == "inc-42/notify"
    assert message["X-Vigil-Incident"] == "inc-42"
    assert message["Message-ID"].endswith("@acme.example>")
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode()
    assert "Lane 7 is beaconing" in text
    assert "Store: 031 Leeds" in text
    assert NOTICE["link"] in text


def test_a_refused_recipient_is_a_permanent_failure(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    result = actions.get("notify")().run(
        NOTICE, _context(Backends(notifiers={"soc": _email(port, ["blocked@acme.example"])}))
    )
    assert not result.ok
    assert result.failure.kind is FailureKind.PERMANENT
    assert "blocked@acme.example" in result.failure.message
    assert len(result.attempts) == 1
    assert box.messages == []


def test_an_unreachable_smtp_server_is_retried_then_reported() -> None:
    sleep = FakeSleep()
    notifier = _email(_free_port(), ["lp@acme.example"])
    result = actions.get("notify")().run(
        NOTICE, _context(Backends(notifiers={"soc": notifier}), sleep=sleep)
    )
    assert not result.ok
    assert result.failure.kind is FailureKind.TRANSIENT
    assert len(result.attempts) == 3
    assert len(sleep.slept) == 2


# --- MQTT -------------------------------------------------------------------------------------


def _subscribe(topic: str) -> tuple[mqtt.Client, queue.Queue[mqtt.MQTTMessage]]:
    got: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    ready: queue.Queue[bool] = queue.Queue()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"vigil-test-{uuid.uuid4().hex[:8]}"
    )
    client.on_message = lambda c, u, message: got.put(message)
    client.on_subscribe = lambda c, u, mid, reasons, props: ready.put(True)
    client.on_connect = lambda c, u, flags, reason, props: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    assert ready.get(timeout=5)
    return client, got


@pytest.mark.mqtt
def test_iot_command_reaches_the_gateway_topic() -> None:
    store = f"t{uuid.uuid4().hex[:6]}"
    client, got = _subscribe(f"vigil/{store}/iot/+/cmd")
    try:
        params = {
            "store": store,
            "device": "door-1",
            "command": "lock",
            "args": {"zone": "stockroom"},
        }
        result = actions.get("iot_command")().run(
            params, _context(Backends(publisher=MqttPublisher()), "inc-42/lock")
        )
        assert result.ok, result.detail
        message = got.get(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()
    assert message.topic == f"vigil/{store}/iot/door-1/cmd"
    assert message.qos == 1
    assert json.loads(message.payload) == {
        "request_id": "inc-42/lock",
        "incident_id": "inc-42",
        "command": "lock",
        "args": {"zone": "stockroom"},
    }


@pytest.mark.mqtt
def test_video_review_request_reaches_the_store_edge() -> None:
    store = f"t{uuid.uuid4().hex[:6]}"
    client, got = _subscribe(f"vigil/{store}/video/review")
    params = {
        "store": store,
        "cameras": ["cam-3", "cam-5"],
        "start": "2026-11-27T08:00:00Z",
        "end": "2026-11-27T08:30:00Z",
        "reason": "refund without customer",
    }
    try:
        result = actions.get("request_video_review")().run(
            params, _context(Backends(publisher=MqttPublisher()), "inc-42/video")
        )
        assert result.ok, result.detail
        payload = json.loads(got.get(timeout=5).payload)
    finally:
        client.disconnect()
        client.loop_stop()
    assert payload["request_id"] == "inc-42/video"
    assert payload["cameras"] == ["cam-3", "cam-5"]
    assert payload["start"] == "2026-11-27T08:00:00Z"


def test_an_unreachable_broker_is_a_transient_failure() -> None:
    result = actions.get("iot_command")().run(
        {"store": "031", "device": "door-1", "command": "lock"},
        _context(Backends(publisher=MqttPublisher(port=_free_port())), "inc-42/lock"),
    )
    assert not result.ok
    assert result.failure.kind is FailureKind.TRANSIENT
    assert len(result.attempts) == 3
