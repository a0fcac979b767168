"""Syslog listener, UDP or TCP (optionally TLS): RFC 5424 and RFC 3164 messages.

    - type: syslog
      name: firewalls
      format: firewall      # CEF or FortiGate key=value, told apart per message
      transport: tcp        # udp | tcp
      host: 0.0.0.0
      port: 6514
      payload: message      # message | body

What the parser gets: the whole message, header included, unless `payload: body`.
Parsers of formats that travel in syslog (`fortigate`, `cef`, or `firewall` for
firewalls of both kinds on one port) read the header themselves (its time matters
to them); `body` is for formats that are merely carried by syslog, such as
Suricata EVE JSON sent through rsyslog: the header (RFC 5424 or RFC 3164) is then
cut off, vectorised per chunk (`syslog_header`), before the format's parser runs.
Either way a dead letter keeps the whole message.

TCP frames are cut per frame by the first byte (RFC 6587): a digit starts octet
counting (`LEN SP MSG`), anything else runs to the next newline; senders of both
kinds can share a port. A frame over `max_message_bytes` is skipped; an invalid
octet count turns the bytes up to the next newline into one record, which the
parser rejects into the dead letters, and the stream carries on. Bytes that are
not UTF-8 are read as Latin-1 (see `vigil.ingest.framing`).

Syslog has no acknowledgement, over TCP or TLS (RFC 5425, RFC 6587) as over UDP:
a sender cannot learn what was stored, so a message taken but not yet stored when
the process dies is lost (up to about `queue_chunks` chunks of `batch_records`). What
the listener can do it does: when the pipeline is behind, each connection stops
being read until it catches up (TCP back-pressure), and a chunk whose storage
fails is retried (`vigil.ingest.connectors.base`). UDP cannot push back, so
datagrams that arrive then are dropped. Dropped datagrams, datagrams over
`max_message_bytes` and skipped TCP frames are logged and counted in the source's
`dropped` total (`vigil ingest status`, the `vigil ingest serve` summary).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path
from typing import Literal, cast

import polars as pl
from pydantic import Field, model_validator

from vigil.ingest.connectors.base import Batcher, Connector, ConnectorConfig, connectors
from vigil.ingest.parsers import Parser
from vigil.ingest.pipeline import Ingestor
from vigil.ingest.types import ParseResult, RawRecords

logger = logging.getLogger(__name__)

RFC5424 = (
    r"(?s)^<(?P<pri>\d{1,3})>(?P<version>\d{1,2}) (?P<timestamp>\S+) (?P<hostname>\S+) "
    r"(?P<app_name>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: \x{FEFF}?(?P<msg>.*))?$"
)
RFC3164 = (
    r"(?s)^<(?P<pri>\d{1,3})>(?P<timestamp>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) "
    r"(?P<hostname>\S+) (?:(?P<app_name>[^:\[\s]{1,48})(?:\[(?P<procid>[^\]]*)\])?: ?)?"
    r"(?P<msg>.*)$"
)
HEADER_FIELDS = ("pri", "version", "timestamp", "hostname", "app_name", "procid", "msgid", "body")
OCTET_DIGITS = 10


class SyslogConfig(ConnectorConfig):
    type: Literal["syslog"] = Field(description="Syslog listener (RFC 5424 / RFC 3164).")
    transport: Literal["udp", "tcp"] = Field(
        default="udp", description="UDP datagrams, or TCP (octet-counted or newline frames)."
    )
    host: str = Field(default="0.0.0.0", description="Address to listen on.")  # noqa: S104
    port: int = Field(default=514, ge=0, le=65535, description="Port (0: any free port).")
    payload: Literal["message", "body"] = Field(
        default="message",
        description="What the parser gets: the whole message, or the text after the header.",
    )
    max_message_bytes: int = Field(
        default=65536, ge=480, description="Longer messages are skipped and counted."
    )
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate for syslog over TLS (TCP only)."
    )
    tls_key: Path | None = Field(default=None, description="PEM private key for the certificate.")

    @model_validator(mode="after")
    def tls_needs_tcp_and_both_files(self) -> SyslogConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        if self.tls_cert is not None and self.transport != "tcp":
            raise ValueError("TLS needs transport: tcp")
        return self


def syslog_header(text: pl.Series) -> pl.DataFrame:
    """The header fields of each message (null when absent) and its `body`.

    RFC 5424 first, then RFC 3164 (BSD); a message with neither header is all body.

    >>> syslog_header(pl.Series(["<134>1 2026-11-23T08:00:00Z fw01 app 12 - - hi"]))["body"][0]
    'hi'
    """
    frame = pl.DataFrame({"text": text})
    new = pl.col("text").str.extract_groups(RFC5424)
    old = pl.col("text").str.extract_groups(RFC3164)

    def pick(name: str) -> pl.Expr:
        newer = new.struct.field(name) if name != "body" else new.struct.field("msg")
        if name in {"version", "msgid"}:
            return newer
        older = old.struct.field(name) if name != "body" else old.struct.field("msg")
        return pl.coalesce(newer, older)

    is_new = new.struct.field("pri").is_not_null()
    columns = [pick(name).alias(name) for name in HEADER_FIELDS if name != "body"]
    body = (
        pl.when(is_new)
        .then(new.struct.field("msg").fill_null(""))
        .otherwise(pl.coalesce(old.struct.field("msg"), pl.col("text")))
    )
    return frame.select(*columns, body.alias("body")).with_columns(
        pl.col("pri").cast(pl.Int32), pl.col("version").cast(pl.Int32)
    )


def body_parser(inner: Parser) -> Parser:
    """`inner` run on each message's body instead of the whole message."""

    class SyslogBody(Parser):
        name = inner.name
        description = inner.description
        event_classes = inner.event_classes

        def parse(self, records: RawRecords) -> ParseResult:
            body = syslog_header(records.text).get_column("body")
            return inner.parse(RawRecords(records.source, body, records.first, records.unit))

    return SyslogBody()


def decode(message: bytes) -> tuple[str, bool]:
    """Text of a message, trailing line ends and NULs removed; (text, was not UTF-8)."""
    message = message.rstrip(b"\r\n\x00")
    try:
        return message.decode("utf-8"), False
    except UnicodeDecodeError:
        return message.decode("latin-1"), True


class TcpFrames:
    """Cuts one connection's byte stream into messages (RFC 6587, both framings)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.skip = 0  # bytes left of an oversized octet-counted frame
        self.skip_line = False  # dropping an oversized newline frame up to its end
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out: list[bytes] = []
        while self._next(out):
            pass
        return out

    def _next(self, out: list[bytes]) -> bool:  # noqa: PLR0911 - one exit per framing case
        """Take one frame (or skip bytes); False when more data is needed."""
        buffer = self.buffer
        if self.skip:
            taken = min(self.skip, len(buffer))
            del buffer[:taken]
            self.skip -= taken
            return not self.skip
        if self.skip_line:
            end = buffer.find(b"\n")
            if end < 0:
                buffer.clear()
                return False
            del buffer[: end + 1]
            self.skip_line = False
            return True
        if not buffer:
            return False
        if buffer[:1].isdigit():
            space = buffer.find(b" ", 0, OCTET_DIGITS + 1)
            if space < 0 and len(buffer) <= OCTET_DIGITS:
                return False
            if space > 0 and buffer[:space].isdigit():
                return self._counted(out, space, int(buffer[:space]))
            logger.warning("syslog: invalid octet count; reading up to the next newline")
        return self._line(out)

    def _counted(self, out: list[bytes], space: int, length: int) -> bool:
        if length > self.max_bytes:
            self.oversized += 1
            logger.warning("syslog: skipped a %d-byte message (over the limit)", length)
            del self.buffer[: space + 1]
            self.skip = length
            return True
        if len(self.buffer) < space + 1 + length:
            return False
        out.append(bytes(self.buffer[space + 1 : space + 1 + length]))
        del self.buffer[: space + 1 + length]
        return True

    def _line(self, out: list[bytes]) -> bool:
        end = self.buffer.find(b"\n")
        if end < 0:
            if len(self.buffer) > self.max_bytes:
                self.oversized += 1
                logger.warning("syslog: skipped a message over %d bytes", self.max_bytes)
                self.buffer.clear()
                self.skip_line = True
            return False
        frame = bytes(self.buffer[:end]).rstrip(b"\r")
        del self.buffer[: end + 1]
        if frame.strip():
            out.append(frame)
        return True


class _Session(asyncio.Protocol):
    """One TCP connection: frames in, paused while the pipeline is behind."""

    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener
        self.frames = TcpFrames(listener.config.max_message_bytes)
        self.waiting: list[str] = []
        self.waiting_recoded = 0
        self.transport: asyncio.Transport | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream server's transport
        self.listener.sessions.add(self)

    def data_received(self, data: bytes) -> None:
        skipped = self.frames.oversized
        texts, recoded = self.listener.texts(self.frames.feed(data))
        if self.frames.oversized > skipped:
            self.listener.batcher.drop(self.frames.oversized - skipped)
        self.waiting.extend(texts)
        self.waiting_recoded += recoded
        self.listener.hand_on(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.waiting:
            self.listener.sessions.discard(self)

    def pause(self) -> None:
        if self.transport is not None and not self.paused:
            self.transport.pause_reading()
            self.paused = True

    def resume(self) -> None:
        if self.transport is not None and self.paused:
            self.transport.resume_reading()
        self.paused = False


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        listener = self.listener
        if len(data) > listener.config.max_message_bytes:
            listener.oversized += 1
            listener.batcher.drop()
            if listener.oversized % 1000 == 1:
                logger.warning(
                    "%s: skipped a %d-byte datagram (over the limit); %d so far",
                    listener.batcher.source,
                    len(data),
                    listener.oversized,
                )
            return
        texts, recoded = listener.texts([data])
        if texts and not listener.batcher.offer(texts, recoded):
            listener.dropped += 1
            listener.batcher.drop()
            if listener.dropped % 1000 == 1:
                logger.warning(
                    "%s: pipeline behind, %d datagram(s) dropped so far",
                    listener.batcher.source,
                    listener.dropped,
                )


@connectors.register("syslog")  # type: ignore[arg-type]  # Connector is invariant in C
class SyslogListener(Connector[SyslogConfig]):
    """Receives syslog over UDP or TCP and hands the messages to the pipeline."""

    config_model = SyslogConfig

    def __init__(self, config: SyslogConfig, ingestor: Ingestor) -> None:
        super().__init__(config, ingestor)
        self.batcher = Batcher.for_config(config, self.ingestor, unit="message")
        if config.payload == "body":
            self.batcher.parser = body_parser(self.batcher.parser)
        self.batchers = [self.batcher]
        self.sessions: set[_Session] = set()
        self.dropped = 0
        self.oversized = 0

    def texts(self, messages: list[bytes]) -> tuple[list[str], int]:
        """The messages' texts (blank ones left out) and how many were not UTF-8."""
        out = []
        recoded = 0
        for message in messages:
            text, latin = decode(message)
            if text.strip():
                out.append(text)
                recoded += latin
        return out, recoded

    def hand_on(self, session: _Session) -> None:
        """Offer a connection's messages; pause it while the pipeline is behind."""
        if session.waiting and self.batcher.offer(session.waiting, session.waiting_recoded):
            session.waiting, session.waiting_recoded = [], 0
        if session.waiting or self.batcher.full:
            session.pause()
        elif session.paused:
            session.resume()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        closing: asyncio.BaseTransport | asyncio.Server
        if config.transport == "udp":
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(config.host, config.port)
            )
            self.port = int(transport.get_extra_info("sockname")[1])
            closing = transport
        else:
            server = await loop.create_server(
                lambda: _Session(self), config.host, config.port, ssl=self._tls()
            )
            self.port = int(server.sockets[0].getsockname()[1])
            closing = server
        logger.info("syslog %s listening on %s:%d", config.transport, config.host, self.port)
        drained = asyncio.Event()
        pipeline = asyncio.create_task(self.batcher.run(drained))
        self.ready.set()
        try:
            while not stop.is_set():
                self._resume_waiting()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.02)
        finally:
            closing.close()
            for session in list(self.sessions):
                if session.transport is not None:
                    session.transport.close()
            while any(session.waiting for session in self.sessions):
                self._resume_waiting()
                await asyncio.sleep(0.02)
            drained.set()
            await pipeline

    def _resume_waiting(self) -> None:
        for session in list(self.sessions):
            if session.waiting or session.paused:
                self.hand_on(session)
            if session.transport is None and not session.waiting:
                self.sessions.discard(session)

    def _tls(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None or self.config.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context
