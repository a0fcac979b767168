"""Run the configured network connectors until Ctrl-C or SIGTERM (`vigil ingest serve`).

`connectors.yaml` is a list of connector configs, each a discriminated union on
`type` (see `vigil.ingest.connectors`):

    - {type: syslog, name: firewalls, format: fortigate, transport: udp, port: 5514}
    - type: http
      name: push
      format: web_access
      port: 8088
      sources: [{name: web, token_env: VIGIL_TOKEN_WEB}]
    - {type: mqtt, name: iot, format: iot_mqtt, topics: ["stores/+/iot/+/telemetry"]}

`load_connectors` reports every problem of the file at once, each with its path
(`[1].sources.0.name: Field required`); unknown formats and duplicate names too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from vigil.ingest.connectors import Connector, ConnectorConfig, connectors
from vigil.ingest.parsers import parsers
from vigil.ingest.pipeline import ChunkReport, Ingestor
from vigil.ingest.types import IngestError

logger = logging.getLogger(__name__)


class ConnectorConfigError(IngestError):
    """The connectors file cannot be used; the message lists every problem."""


def config_union() -> Any:
    """The discriminated union of every registered connector's config."""
    models = tuple(plugin.config_model for _, plugin in connectors.items())
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007


def load_connectors(path: Path) -> list[ConnectorConfig]:
    """Validate a connectors YAML file; every problem is reported at once."""
    try:
        raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConnectorConfigError(f"{path}: {error.strerror or error}") from error
    except YAMLError as error:
        raise ConnectorConfigError(f"{path}: malformed YAML: {error}") from error
    if not isinstance(raw, list):
        raise ConnectorConfigError(f"{path}: expected a list of connectors")
    problems: list[str] = []
    try:
        adapter: TypeAdapter[list[ConnectorConfig]] = TypeAdapter(list[config_union()])  # type: ignore[misc,arg-type]
        configs = adapter.validate_python(raw)
    except ValidationError as error:
        for item in error.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
            problems.append(f"{where}: {item['msg']}")
        configs = []
    problems += [problem for i, c in enumerate(configs) for problem in _check(i, c)]
    names = [f"{config.type}:{config.name}" for config in configs]
    problems += [f"{name}: two connectors have this name" for name in _repeated(names)]
    if problems:
        raise ConnectorConfigError(f"{path}: " + "; ".join(problems))
    return configs


def _check(index: int, config: ConnectorConfig) -> list[str]:
    formats = [config.format, *(s.format or "" for s in getattr(config, "sources", []))]
    return [
        f"[{index}].format: unknown format {name!r}; known: {', '.join(parsers.names())}"
        for name in formats
        if name and name not in parsers.names()
    ]


def _repeated(names: Sequence[str]) -> list[str]:
    return sorted({name for name in names if names.count(name) > 1})


def build(configs: Sequence[ConnectorConfig], ingestor: Ingestor) -> list[Connector[Any]]:
    """The connectors of the configs (environment secrets are read here, at start-up)."""
    return [connectors.get(config.type)(config, ingestor) for config in configs]


async def serve(
    running: Sequence[Connector[Any]],
    stop: asyncio.Event,
    report: Callable[[list[ChunkReport]], None] | None = None,
    every: float = 10.0,
) -> list[ChunkReport]:
    """Run the connectors until `stop`, calling `report` with the counts every `every` s."""
    tasks = [asyncio.create_task(connector.run(stop)) for connector in running]

    def counts() -> list[ChunkReport]:
        return [report for connector in running for report in connector.reports()]

    stopper = asyncio.create_task(stop.wait())
    while True:
        done, _ = await asyncio.wait(
            [*tasks, stopper], timeout=every, return_when=asyncio.FIRST_COMPLETED
        )
        if done:
            break  # asked to stop, or a connector ended (failed): stop the others
        if report is not None:
            report(counts())
    stop.set()
    await stopper
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise IngestError(f"a connector failed: {result}") from result
    return counts()


def serve_forever(
    running: Sequence[Connector[Any]],
    report: Callable[[list[ChunkReport]], None] | None = None,
    every: float = 10.0,
) -> list[ChunkReport]:
    """`serve` in a fresh event loop, stopped by SIGINT or SIGTERM."""

    async def main() -> list[ChunkReport]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await serve(running, stop, report, every)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    return asyncio.run(main())


def summary(reports: Sequence[ChunkReport]) -> str:
    """One line of per-source counts: `syslog:fw 1,204 records, 1,200 events, 4 rejected`.

    Records dropped before parsing (syslog over UDP while behind, over the size
    limit) are added when there are any: `, 3 dropped`.
    """
    parts = [
        f"{r.source} {r.records:,} records, {r.total_events:,} events, {r.rejected:,} rejected"
        + (f", {r.dropped:,} dropped" if r.dropped else "")
        for r in reports
    ]
    return "; ".join(parts) or "no sources"
