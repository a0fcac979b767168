"""Run the simulation: benign telemetry for every store, scenarios on top, files out.

Output folder: one file per source in its real format (`zeek/conn.log`,
`pos/transactions.jsonl`, ...), `truth.jsonl` (one ground-truth record per
injected scenario) and `manifest.json` (seed, span, counts per source).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from vigil.sim import scenarios as _scenarios  # noqa: F401 - registers the scenarios
from vigil.sim import sources as _sources  # noqa: F401 - registers the sources
from vigil.sim.types import Amendment, Scenario, SimError, TruthRecord, sources
from vigil.sim.world import World


@dataclass(frozen=True)
class SimResult:
    """What a run wrote."""

    out: Path
    counts: dict[str, int]
    bytes: dict[str, int]
    truth: list[TruthRecord]
    seconds: float
    timeline: pl.DataFrame | None = None
    """Every line of every source (ts, source, line) in time order, when asked for."""
    headers: dict[str, str] = field(default_factory=dict)
    """Text each source's file starts with, for sinks that write files."""

    @property
    def events(self) -> int:
        return sum(self.counts.values())


def simulate(
    world: World,
    chosen: Sequence[Scenario],
    out: Path,
    progress: Callable[[str], None] | None = None,
    timeline: bool = False,
) -> SimResult:
    """Generate every source for every store, add the scenarios, write the files."""
    started = time.perf_counter()
    injected, amendments, tagged = _inject(world, chosen)
    rows: dict[int, list[int]] = {}
    """Per scenario: rows it wrote, rows left after the other scenarios' amendments."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SimError(f"cannot create {out}: {error.strerror}") from error
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    headers: dict[str, str] = {}
    played: list[pl.DataFrame] = []
    wanted = {parent for _, cls in sources.items() for parent in cls.derives_from}
    parents: dict[str, pl.DataFrame] = {}
    # Sources that derive from others run after them (one level deep is all there is).
    for name, source_class in sorted(sources.items(), key=lambda item: bool(item[1].derives_from)):
        source = source_class()
        if source.per_store:
            benign = [source.generate(world, store) for store in world.estate.stores]
        else:
            benign = [source.generate_estate(world)]
        if source.derives_from:
            benign.append(source.derive(world, {p: parents[p] for p in source.derives_from}))
        span = world.span
        frames = [
            f.filter((pl.col("ts") >= span.start) & (pl.col("ts") < span.end)) for f in benign
        ]
        frames = _amended(
            [(-1, f) for f in frames] + injected.get(name, []),
            amendments.get(name, []),
            rows,
        )
        frame = pl.concat(frames, how="vertical").sort("ts", maintain_order=True)
        if name in wanted:
            parents[name] = frame
        lines = source.render(frame)
        headers[name] = source.header(world)
        if timeline:
            played.append(
                pl.DataFrame(
                    {"ts": frame["ts"], "source": [name] * frame.height, "line": lines},
                    schema={"ts": pl.Float64, "source": pl.String, "line": pl.String},
                )
            )
        path = out / source.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:  # lines go straight from polars to the file
            handle.write(headers[name].encode())
            lines.to_frame("line").write_csv(handle, include_header=False, quote_style="never")
            handle.write(source.footer(world).encode())
        counts[name] = frame.height
        sizes[name] = path.stat().st_size
        if progress is not None:
            progress(name)
    # A scenario whose every row another one removed (an attack in a store before it
    # opened) did not happen: its ground truth goes too, so nothing undetectable is scored.
    erased = {who for who, (wrote, left) in rows.items() if who >= 0 and wrote and not left}
    truth = [record for who, record in tagged if who not in erased]
    truth.sort(key=lambda record: (record.start, record.uid))
    with (out / "truth.jsonl").open("w", encoding="utf-8") as handle:
        for record in truth:
            handle.write(json.dumps(record.as_dict(), sort_keys=True) + "\n")
    manifest = {
        "seed": world.seed,
        "start": world.start.isoformat(),
        "end": world.end.isoformat(),
        "stores": [store.uid for store in world.estate.stores],
        "scenarios": [scenario.name for scenario in chosen],
        "sources": {
            name: {"path": sources.get(name).path, "events": counts[name], "bytes": sizes[name]}
            for name in counts
        },
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    merged = pl.concat(played).sort("ts", maintain_order=True) if timeline and played else None
    return SimResult(out, counts, sizes, truth, time.perf_counter() - started, merged, headers)


def _amended(
    tagged: list[tuple[int, pl.DataFrame]],
    amendments: list[tuple[int, Amendment]],
    rows: dict[int, list[int]],
) -> list[pl.DataFrame]:
    """Each frame with the amendments of every scenario but its author; counts rows per author.

    A scenario's amendments change the benign rows and other scenarios' rows, not its own
    (a store that has not opened yet sends nothing, whoever would have written it).
    """
    for who, frame in tagged:
        rows.setdefault(who, [0, 0])[0] += frame.height
    for author, amendment in amendments:
        tagged = [(who, f if who == author else amendment.apply(f)) for who, f in tagged]
    for who, frame in tagged:
        rows[who][1] += frame.height
    return [frame for _, frame in tagged]


def _inject(
    world: World, chosen: Sequence[Scenario]
) -> tuple[
    dict[str, list[tuple[int, pl.DataFrame]]],
    dict[str, list[tuple[int, Amendment]]],
    list[tuple[int, TruthRecord]],
]:
    """Every scenario's rows and amendments, by source and tagged with the scenario's
    position, and the ground truth."""
    injected: dict[str, list[tuple[int, pl.DataFrame]]] = {}
    amendments: dict[str, list[tuple[int, Amendment]]] = {}
    truth: list[tuple[int, TruthRecord]] = []
    for index, scenario in enumerate(chosen):
        injection = scenario.inject(world)
        for name, frames in injection.rows.items():
            injected.setdefault(name, []).extend((index, f) for f in frames)
        for name, changes in injection.amendments.items():
            amendments.setdefault(name, []).extend((index, c) for c in changes)
        repeat = scenario.params.instance
        truth.extend(
            (index, replace(record, uid=f"{record.uid}#{repeat}") if repeat else record)
            for record in injection.truth
        )
    unknown = (set(injected) | set(amendments)) - set(sources.names())
    if unknown:
        raise SimError(f"scenarios wrote to unknown sources: {', '.join(sorted(unknown))}")
    return injected, amendments, truth
