"""Run benchmarks, print a table, write `bench/results/<name>.json`.

python -m bench                 # every benchmark, default sizes
python -m bench lake --events 2000000
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import console, correlate, detect, ingest, lake, sigma, sim, tracking, video
from bench.types import Figure

BENCHMARKS = {
    "detect": detect.run,
    "ingest": ingest.run,
    "lake": lake.run,
    "sim": sim.run,
    "sigma": sigma.run,
    "tracking": tracking.run,
    "correlate": correlate.run,
    "video": video.run,
    "console": console.run,
}
RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run")
    parser.add_argument("--events", type=int, default=1_000_000, help="events per benchmark")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is kept")
    args = parser.parse_args()
    console = Console()
    for name in args.names or list(BENCHMARKS):
        figures: list[Figure] = BENCHMARKS[name](args.events, args.repeat)
        table = Table(
            title=f"bench {name} ({args.events:,} events, {args.repeat} runs)",
            title_justify="left",
        )
        for column in ("figure", "value", "unit", "reference", "ratio"):
            table.add_column(column, justify="right" if column != "figure" else "left")
        for figure in figures:
            reference = "" if figure.reference is None else f"{figure.reference:,.0f}"
            ratio = "" if figure.reference is None else f"{figure.value / figure.reference:.2f}"
            table.add_row(figure.name, f"{figure.value:,.0f}", figure.unit, reference, ratio)
        console.print(table)
        RESULTS.mkdir(exist_ok=True)
        output = RESULTS / f"{name}.json"
        output.write_text(
            json.dumps(
                {
                    "benchmark": name,
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "events": args.events,
                    "repeat": args.repeat,
                    "machine": {
                        "python": platform.python_version(),
                        "cpu": platform.processor() or platform.machine(),
                    },
                    "figures": [figure.as_dict() for figure in figures],
                },
                indent=2,
            )
        )
        console.print(f"[dim]wrote {output}[/]")


if __name__ == "__main__":
    main()
