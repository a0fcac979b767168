"""`vigil sim`: a simulated retail estate's raw telemetry, with attacks, fraud and ground truth."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import (
    estate_of,
    fail,
    out,
    progress_bar,
)
from vigil.plugins import PluginNotFoundError
from vigil.sim import SimError, World, generate_estate, scenarios, simulate, sources
from vigil.sim.stream import open_sink, stream


def sim_command(
    output_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the telemetry and ground truth.")
    ] = Path("sim-out"),
    stores: Annotated[
        int | None, typer.Option(min=1, max=4096, help="Generate an estate of N stores.")
    ] = None,
    estate_file: Annotated[
        Path | None, typer.Option("--estate", help="Estate YAML (instead of --stores).")
    ] = None,
    days: Annotated[float, typer.Option(min=0.01, max=366, help="Simulated days.")] = 1.0,
    start: Annotated[
        str, typer.Option(help="Start of simulated time (ISO 8601, UTC if no offset).")
    ] = "2026-11-23T08:00:00Z",
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 7,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help="Inject only these (repeatable); default: all."),
    ] = None,
    list_scenarios: Annotated[
        bool, typer.Option("--list-scenarios", help="List scenarios and exit.")
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="Also stream to this sink (repeatable): file:DIR, syslog+udp://HOST:PORT, "
            "syslog+tcp://HOST:PORT, http://HOST:PORT/PATH, mqtt://HOST:PORT; "
            "?sources=a,b limits it.",
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Stream at this many simulated seconds per second (3600: an hour a second).",
        ),
    ] = None,
) -> None:
    """Simulate a retail estate: raw telemetry per source, with attacks, fraud and ground truth."""

    if list_scenarios:
        table = Table("scenario", "label", "what happens")
        for name, scenario_class in scenarios.items():
            table.add_row(name, scenario_class.label, scenario_class.description)
        out.print(table)
        return
    if estate_file is not None and stores is not None:
        raise fail("give --stores or --estate, not both")
    if speed is not None and not to:
        raise fail("--speed paces streaming: give a sink with --to")
    estate = (
        estate_of(estate_file) if estate_file is not None else generate_estate(stores or 20, seed)
    )
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError as error:
        raise fail(f"--start {start!r} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        chosen = [scenarios.get(name)() for name in (scenario or scenarios.names())]
        world = World(estate, moment, days, seed)
        with progress_bar("sim", out) as progress:
            task = progress.add_task("sources", total=len(sources.names()))
            result = simulate(
                world,
                chosen,
                output_dir,
                progress=lambda name: progress.advance(task),
                timeline=bool(to),
            )
        if to and result.timeline is not None:
            paths = {name: cls.path for name, cls in sources.items()}
            sinks = [open_sink(url, paths, result.headers) for url in to]
            pace = f"at {speed:g}x" if speed else "as fast as the sinks take it"
            out.print(f"Streaming {result.events:,} lines to {', '.join(to)} {pace} ...")
            played = stream(result.timeline, sinks, world.span.start, speed)
            out.print(f"Streamed {played.lines:,} lines in {played.seconds:.1f} s.")
    except (PluginNotFoundError, SimError) as error:
        raise fail(str(error)) from error
    table = Table(
        "source",
        "file",
        "events",
        "bytes",
        "bytes/event",
        title=f"{len(estate.stores)} stores, {days:g} days, seed {seed}",
        title_justify="left",
    )
    for name, count in sorted(result.counts.items()):
        size = result.bytes[name]
        table.add_row(
            name,
            sources.get(name).path,
            f"{count:,}",
            f"{size:,}",
            f"{size / count:.0f}" if count else "-",
        )
    out.print(table)
    out.print(
        f"{result.events:,} events in {result.seconds:.1f} s ({result.events / result.seconds:,.0f}/s); "
        f"{len(result.truth)} scenario instances in {output_dir / 'truth.jsonl'}"
    )
