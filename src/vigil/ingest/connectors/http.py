"""HTTP ingest endpoint: `POST /ingest/{source}` (or `POST {path}` with `X-Vigil-Source`).

    - type: http
      name: push
      format: web_access          # default for sources that name none
      port: 8088
      sources:
        - {name: web, token_env: VIGIL_TOKEN_WEB}
        - {name: pos, format: vigil_pos, token_env: VIGIL_TOKEN_POS}

Bodies: a JSON array (`Content-Type: application/json`; each element is one
record, re-serialised as compact JSON), otherwise NDJSON or text lines (one record
per line; the whole body for a parser of whole documents); `Content-Encoding:
gzip` is undone with the size limit applied to the inflated bytes too.

Tokens: each source's token is read at start-up from the environment variable
that `token_env` names (never from the YAML) and compared in constant time. No
token: 401; a token of another source: 403. A source without `token_env` is open
(for a trusted network only).

Answers: 200 `{"stored": N, "rejected": M}`, sent only once the body's N records
are stored: the chunk holding them is written to the lake and its dead letters
and counts committed to the database (`Batcher.promise`). M of them could not be
parsed and are kept as dead letters (`vigil ingest status`), not lost, so they
are not to be sent again. 200 and not 202 because the request is done, not
queued; not 201 because no resource is created for the sender to fetch. A body
is cut into a chunk as soon as the source's batcher is idle, so an answer takes
as long as storing it (and, under load, the chunk being stored before it).
Errors: 400 bad gzip or JSON; 404 unknown source; 413 body too large; 429 with
`Retry-After` while the pipeline is behind, and 503 with `Retry-After` when the
chunk holding the body could not be stored (database down, disk full). After a
429 or a 503 nothing of that body is kept: what a failed attempt wrote to the
lake is removed, its database transaction rolled back, and the chunk is not
retried here (a resend arrives under a new batch id, so retrying as well would
store it twice), so the sender sends it again. Resending after any other failure
(a lost answer, the connection cut, `vigil ingest serve` killed before it
answered) can store a body twice: delivery is at least once. One more caveat: on
a failed attempt the live detection may already have seen the chunk's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import socket
import zlib
from collections.abc import Generator
from typing import Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from vigil.ingest.connectors.base import Batcher, Connector, ConnectorConfig, connectors
from vigil.ingest.framing import frame
from vigil.ingest.parsers import parsers
from vigil.ingest.pipeline import Ingestor
from vigil.ingest.types import IngestError

logger = logging.getLogger(__name__)


class MissingTokenError(IngestError):
    """A source's `token_env` names an environment variable that is unset or empty."""


class HttpSourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Source name: the URL's `{source}` or `X-Vigil-Source`.")
    format: str | None = Field(
        default=None, description="Parser for this source (default: the connector's)."
    )
    token_env: str | None = Field(
        default=None,
        description="Environment variable holding this source's bearer token; none: no token.",
    )


class HttpConfig(ConnectorConfig):
    type: Literal["http"] = Field(description="HTTP ingest endpoint.")
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8088, ge=0, le=65535, description="Port (0: any free port).")
    path: str = Field(
        default="/ingest", description="Path for POSTs that name the source in `X-Vigil-Source`."
    )
    sources: list[HttpSourceConfig] = Field(
        min_length=1, description="Sources accepted, each with its format and token."
    )
    max_body_bytes: int = Field(
        default=16 << 20, ge=1, description="Largest body, before and after gzip (else 413)."
    )
    retry_after_seconds: int = Field(
        default=1,
        ge=1,
        description="`Retry-After` sent with 429 while the pipeline is behind, and with 503.",
    )


class BadBodyError(IngestError):
    """A body that cannot be read: the status to answer and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def inflate(body: bytes, limit: int) -> bytes:
    """Undo gzip, refusing more than `limit` inflated bytes (a gzip bomb is a 413)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise BadBodyError(400, f"invalid gzip body: {error}") from error
    if len(data) > limit:
        raise BadBodyError(413, f"body is over {limit:,} bytes once inflated")
    if not inflater.eof:
        raise BadBodyError(400, "invalid gzip body: truncated")
    return data


def records_of(body: bytes, content_type: str, whole: bool) -> tuple[list[str], int]:
    """Records of a body, and how many were not UTF-8 (read as Latin-1)."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() == "application/json":
        try:
            items = json.loads(body)
        except (UnicodeDecodeError, ValueError) as error:
            raise BadBodyError(400, f"invalid JSON: {error}") from error
        if not isinstance(items, list):
            raise BadBodyError(400, "a JSON body must be an array of records")
        return [json.dumps(item, separators=(",", ":")) for item in items], 0
    framed = frame(body, "document" if whole else "line")
    return [text for text in framed.text.to_list() if text.strip()], framed.recoded


class _Source:
    def __init__(self, batcher: Batcher, token: bytes | None) -> None:
        self.batcher = batcher
        self.token = token


@connectors.register("http")  # type: ignore[arg-type]  # Connector is invariant in C
class HttpEndpoint(Connector[HttpConfig]):
    """Serves the ingest endpoint with uvicorn inside the connector's task."""

    config_model = HttpConfig

    def __init__(self, config: HttpConfig, ingestor: Ingestor) -> None:
        super().__init__(config, ingestor)
        self.sources: dict[str, _Source] = {}
        for source in config.sources:
            name = source.format or config.format
            batcher = Batcher(
                f"http:{source.name}",
                parsers.get(name)(),
                ingestor,
                config.batch_records,
                config.batch_seconds,
                config.queue_chunks,
                "record",
                refuse_failed=True,
            )
            self.sources[source.name] = _Source(batcher, _token(source))
        self.batchers = [source.batcher for source in self.sources.values()]
        self.app = self._app()

    def _app(self) -> FastAPI:
        app = FastAPI(title="Vigil ingest", docs_url=None, redoc_url=None, openapi_url=None)

        @app.post("/ingest/{source}", status_code=200)
        async def by_path(source: str, request: Request) -> JSONResponse:
            return await self.accept(source, request)

        @app.post(self.config.path, status_code=200)
        async def by_header(request: Request) -> JSONResponse:
            source = request.headers.get("x-vigil-source")
            if source is None:
                return _error(400, "name the source in the URL or the X-Vigil-Source header")
            return await self.accept(source, request)

        return app

    async def accept(self, name: str, request: Request) -> JSONResponse:
        source = self.sources.get(name)
        if source is None:
            return _error(404, f"unknown source {name!r}")
        refused = self._refused(source, request.headers.get("authorization"))
        if refused is not None:
            return refused
        if source.batcher.full:
            return self._busy()
        limit = self.config.max_body_bytes
        try:
            body = await _read(request, limit)
            if request.headers.get("content-encoding", "").lower() in {"gzip", "x-gzip"}:
                body = inflate(body, limit)
            whole = source.batcher.parser.framing == "document"
            records, recoded = records_of(body, request.headers.get("content-type", ""), whole)
        except BadBodyError as error:
            return _error(error.status, str(error))
        return await self._store(source, records, recoded)

    async def _store(self, source: _Source, records: list[str], recoded: int) -> JSONResponse:
        """Answer once the records are stored: 200, or 429 / 503 to send them again."""
        if not records:
            return JSONResponse({"stored": 0, "rejected": 0})
        receipt = source.batcher.promise(records, recoded)
        if receipt is None:
            return self._busy()
        stored = await receipt
        if not stored.stored:
            return self._unavailable()
        return JSONResponse({"stored": stored.records, "rejected": stored.rejected})

    def _refused(self, source: _Source, authorization: str | None) -> JSONResponse | None:
        if source.token is None:
            return None
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return _error(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        offered = given.strip().encode()
        if hmac.compare_digest(offered, source.token):
            return None
        others = [s.token for s in self.sources.values() if s.token is not None]
        if any(hmac.compare_digest(offered, token) for token in others):
            return _error(403, "this token is for another source")
        return _error(401, "invalid token", {"WWW-Authenticate": "Bearer"})

    def _busy(self) -> JSONResponse:
        seconds = self.config.retry_after_seconds
        return _error(429, "the pipeline is behind; retry later", {"Retry-After": str(seconds)})

    def _unavailable(self) -> JSONResponse:
        seconds = self.config.retry_after_seconds
        return _error(
            503, "the records could not be stored; send them again", {"Retry-After": str(seconds)}
        )

    async def run(self, stop: asyncio.Event) -> None:
        config = self.config
        listener = socket.create_server((config.host, config.port))
        self.port = int(listener.getsockname()[1])
        server = _Server(
            uvicorn.Config(
                self.app, log_level="warning", lifespan="off", access_log=False, workers=1
            )
        )
        drained = asyncio.Event()
        pipelines = [asyncio.create_task(b.run(drained)) for b in self.batchers]
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        logger.info("http ingest listening on %s:%d", config.host, self.port)
        self.ready.set()
        try:
            await asyncio.wait(
                [serving, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED"
            )
        finally:
            server.should_exit = True
            await serving
            listener.close()
            drained.set()
            await asyncio.gather(*pipelines)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `vigil ingest serve` owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadBodyError(413, f"body is over {limit:,} bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise BadBodyError(413, f"body is over {limit:,} bytes")
    return bytes(body)


def _token(source: HttpSourceConfig) -> bytes | None:
    if source.token_env is None:
        return None
    token = os.environ.get(source.token_env, "")
    if not token:
        raise MissingTokenError(
            f"source {source.name!r}: environment variable {source.token_env} is unset or empty"
        )
    return token.encode()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
