"""MQTT subscriber: messages of the stores' brokers, as the `iot_mqtt` parser reads them.

    - type: mqtt
      name: iot
      format: iot_mqtt
      host: broker.store031.example
      topics: ["stores/+/iot/+/telemetry", "stores/+/iot/+/events"]

Each message becomes one record `{"ts": <receive time, ISO 8601 UTC>, "topic": ...,
"payload": <the payload as JSON>}` (see `vigil.ingest.parsers.iot`). A payload
that is not JSON is kept as a JSON string (UTF-8, else Latin-1), so the parser
rejects it into the dead letters with its topic instead of it being lost.

Subscriptions are QoS 1 on a persistent session (`clean_session: false`), made
again on every (re)connection; paho reconnects with back-off between
`reconnect_min_seconds` and `reconnect_most_seconds`.

A message is acknowledged (PUBACK) only once it is stored: the client runs with
paho's manual acknowledgement (`Client(manual_ack=True)`, `Client.ack`), and the
ack is sent when the chunk holding the message is in the lake and the database
(`Batcher.promise`). A chunk whose storage fails is retried (the broker keeps
the messages unacknowledged meanwhile); one given up at shutdown is never
acknowledged, so the broker delivers it again on the next connection of the same
persistent session (`clean_session: true` throws that away). Delivery is at
least once: a message stored but not yet acknowledged when the process dies
comes again. The subscription is QoS 1, so the broker sends QoS 2 messages as
QoS 1 (paho would send PUBREC for a QoS 2 message before it is stored, and keeps
that state in memory only), and QoS 0 messages were never to be acknowledged.
The broker sends at most its `max_inflight_messages` unacknowledged messages
(Mosquitto: 20) before it waits; the batcher cuts a chunk of waiting messages as
soon as it is idle (`Batcher.promise`), so those never wait on `batch_seconds`.
While the pipeline is behind, the network thread waits in the message callback:
no more messages are read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import Field

from vigil.ingest.connectors.base import Batcher, Connector, ConnectorConfig, Receipt, connectors
from vigil.ingest.pipeline import Ingestor

logger = logging.getLogger(__name__)

QOS = 1
WAIT_STEP = 0.02


class MqttConfig(ConnectorConfig):
    type: Literal["mqtt"] = Field(description="MQTT subscriber.")
    host: str = Field(default="127.0.0.1", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    topics: list[str] = Field(
        min_length=1, description="Topic filters to subscribe to (QoS 1), wildcards allowed."
    )
    client_id: str | None = Field(
        default=None, description="MQTT client id (default: `vigil-<name>`); keeps the session."
    )
    clean_session: bool = Field(
        default=False, description="Start afresh on connect (loses messages queued while away)."
    )
    username_env: str | None = Field(
        default=None, description="Environment variable holding the broker user name."
    )
    password_env: str | None = Field(
        default=None, description="Environment variable holding the broker password."
    )
    keepalive_seconds: int = Field(default=30, ge=5, description="MQTT keep-alive interval.")
    reconnect_min_seconds: int = Field(default=1, ge=1, description="First reconnection delay.")
    reconnect_most_seconds: int = Field(
        default=60, ge=1, description="Longest reconnection delay (the back-off doubles up to it)."
    )


def record_of(topic: str, payload: bytes, received: datetime) -> str:
    """The `iot_mqtt` record of one message; a payload that is not JSON becomes a string."""
    try:
        body: Any = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        try:
            body = payload.decode("utf-8")
        except UnicodeDecodeError:
            body = payload.decode("latin-1")
    stamp = received.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"ts": stamp, "topic": topic, "payload": body}, separators=(",", ":"))


@connectors.register("mqtt")  # type: ignore[arg-type]  # Connector is invariant in C
class MqttSubscriber(Connector[MqttConfig]):
    """Subscribes to the configured topics and hands each message to the pipeline."""

    config_model = MqttConfig

    def __init__(self, config: MqttConfig, ingestor: Ingestor) -> None:
        super().__init__(config, ingestor)
        self.batcher = Batcher.for_config(config, ingestor, unit="message")
        self.batchers = [self.batcher]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False
        self.unacked = 0
        """Messages handed on and not yet acknowledged (read on the event loop only)."""
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        config = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id or f"vigil-{config.name}",
            clean_session=config.clean_session,
            manual_ack=True,
        )
        if config.username_env is not None:
            client.username_pw_set(
                os.environ.get(config.username_env),
                os.environ.get(config.password_env) if config.password_env else None,
            )
        client.reconnect_delay_set(config.reconnect_min_seconds, config.reconnect_most_seconds)
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        return client

    def _connected(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            logger.warning("mqtt %s: connection refused: %s", self.config.name, reason)
            return
        logger.info(
            "mqtt %s: connected to %s:%d", self.config.name, self.config.host, self.config.port
        )
        client.subscribe([(topic, QOS) for topic in self.config.topics])

    def _subscribed(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: object,
    ) -> None:
        failed = [str(reason) for reason in reasons if reason.is_failure]
        if failed:
            logger.error("mqtt %s: subscription refused: %s", self.config.name, ", ".join(failed))
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.ready.set)

    def _disconnected(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if not self.stopping:
            logger.warning("mqtt %s: disconnected (%s); reconnecting", self.config.name, reason)

    def _message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        """Runs on paho's thread; waits until the batcher takes the record (not its storage)."""
        record = record_of(message.topic, bytes(message.payload), datetime.now(UTC))
        loop = self.loop
        while loop is not None and not self.stopping:
            future = asyncio.run_coroutine_threadsafe(
                self._promise(record, message.mid, message.qos), loop
            )
            try:
                if future.result(timeout=5):
                    return
            except (concurrent.futures.TimeoutError, RuntimeError):
                future.cancel()
        logger.error(
            "mqtt %s: stopped before a message of %s was taken; not acknowledged",
            self.config.name,
            message.topic,
        )

    async def _promise(self, record: str, mid: int, qos: int) -> bool:
        """Hand the record on, to be acknowledged once stored; False if stopping first."""
        while not self.stopping:
            receipt = self.batcher.promise([record])
            if receipt is None:
                await asyncio.sleep(WAIT_STEP)
                continue
            receipt.add_done_callback(partial(self._settled, mid, qos))
            if qos > 0:
                self.unacked += 1
            return True
        return False

    def _settled(self, mid: int, qos: int, receipt: asyncio.Future[Receipt]) -> None:
        if qos == 0:
            return
        self.unacked -= 1
        if receipt.cancelled() or not receipt.result().stored:
            logger.warning(
                "mqtt %s: message %d not stored nor acknowledged: the broker sends it again",
                self.config.name,
                mid,
            )
            return
        self.client.ack(mid, qos)

    async def run(self, stop: asyncio.Event) -> None:
        self.loop = asyncio.get_running_loop()
        drained = asyncio.Event()
        pipeline = asyncio.create_task(self.batcher.run(drained))
        self.client.connect_async(self.config.host, self.config.port, self.config.keepalive_seconds)
        self.client.loop_start()
        try:
            await stop.wait()
        finally:
            # Takes no more messages, stores what it took and acknowledges it, then leaves.
            self.stopping = True
            drained.set()
            await pipeline
            self.client.disconnect()
            await asyncio.to_thread(self.client.loop_stop)
