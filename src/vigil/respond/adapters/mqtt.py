"""MQTT publisher for commands to store edges and IoT gateways (paho-mqtt, QoS 1).

Each `publish` connects, waits for the broker's CONNACK, publishes with QoS 1 and
returns once the broker's PUBACK came back, then disconnects: response actions
are rare, and a fresh connection never carries a stale session. A refused or
unreachable broker is transient (nothing was sent); a missing PUBACK is
ambiguous (the broker may have the message), so only actions that are safe to
repeat try again. Credentials come from the caller, never from the payload.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from vigil.respond.errors import AmbiguousError, PermanentError, TransientError

logger = logging.getLogger(__name__)

QOS = 1
NOT_AUTHORISED = frozenset({134, 135})
"""MQTT 5 reason codes (bad user name or password, not authorised); 4 and 5 in MQTT 3.1.1."""


class MqttPublisher:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        client_prefix: str = "vigil-respond",
    ) -> None:
        self.host = host
        self.port = port
        self.client_prefix = client_prefix
        self._credentials = (username, password) if username is not None else None

    def publish(self, topic: str, payload: bytes, limit: float) -> None:
        deadline = time.monotonic() + limit
        where = f"MQTT {self.host}:{self.port}"
        connected = threading.Event()
        refused: list[ReasonCode] = []

        def on_connect(
            client: mqtt.Client,
            userdata: object,
            flags: mqtt.ConnectFlags,
            reason: ReasonCode,
            properties: object,
        ) -> None:
            if reason.is_failure:
                refused.append(reason)
            connected.set()

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.client_prefix}-{uuid.uuid4().hex[:12]}",
            clean_session=True,
        )
        if self._credentials is not None:
            client.username_pw_set(*self._credentials)
        client.on_connect = on_connect
        client.connect_timeout = limit
        try:
            client.connect(self.host, self.port, keepalive=max(5, int(limit) + 5))
        except OSError as error:
            raise TransientError(f"{where}: cannot connect ({type(error).__name__})") from None
        client.loop_start()
        try:
            if not connected.wait(max(0.0, deadline - time.monotonic())):
                raise TransientError(f"{where}: no CONNACK within {limit:.1f} s")
            if refused:
                reason = refused[0]
                error_class = PermanentError if reason.value in NOT_AUTHORISED else TransientError
                raise error_class(f"{where}: connection refused: {reason}")
            info = client.publish(topic, payload, qos=QOS)
            try:
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as error:
                raise TransientError(f"{where}: not queued: {error}") from None
            if not info.is_published():
                raise AmbiguousError(f"{where}: no PUBACK for {topic} within {limit:.1f} s")
            logger.info("published %d bytes to %s", len(payload), topic)
        finally:
            client.disconnect()
            client.loop_stop()
