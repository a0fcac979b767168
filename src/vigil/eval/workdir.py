"""The evaluation's work folder: what a finished run left there, emptying it, ingest.

A run writes the warm-up's simulated telemetry to `warmup/`, the evaluated
span's to `eval/` (with `truth.jsonl` and `manifest.json`), both ingested into
`lake/` with `vigil.db` beside it, and the response drill's files to `respond/`.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from vigil.estate import Estate
from vigil.eval.report import EvalProgress
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

NOT_TELEMETRY = frozenset({"truth.jsonl", "manifest.json"})
"""Files a simulation writes that ingest is not meant to read."""


def same_run(
    workdir: Path, estate: Estate, seed: int, first: datetime, end: datetime, instances: int
) -> bool:
    """Whether `workdir` holds a finished run of this estate, seed, span and repetitions."""
    manifest = workdir / "eval" / "manifest.json"
    if not (workdir / "lake").is_dir() or not manifest.exists():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    warmup = workdir / "warmup" / "manifest.json"
    started = first
    if warmup.exists():
        started = datetime.fromisoformat(json.loads(warmup.read_text(encoding="utf-8"))["start"])
    return bool(
        data.get("seed") == seed
        and data.get("stores") == [store.uid for store in estate.stores]
        and datetime.fromisoformat(data["end"]) == end
        and started == first
        and max(Counter(data.get("scenarios") or [""]).values()) == instances
    )


def fresh_folders(workdir: Path) -> dict[str, Path]:
    """The run's folders under `workdir`, emptied."""
    folders = {name: workdir / name for name in ("warmup", "eval", "lake")}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
    (workdir / "vigil.db").unlink(missing_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    return folders


def ingest_runs(
    estate: Estate,
    lake: Lake,
    workdir: Path,
    folders: dict[str, Path],
    warmup: bool,
    notify: Callable[[EvalProgress], None],
) -> tuple[int, int, list[str]]:
    """Ingest the simulated files into `lake`: events stored, records rejected, files skipped."""
    database = Database.open(sqlite_url(workdir))
    stored = rejected = 0
    skipped: list[str] = []
    try:
        ingestor = Ingestor(lake, database, Enricher(estate))
        runs = [folders["warmup"], folders["eval"]] if warmup else [folders["eval"]]
        for done, folder in enumerate(runs):
            notify(EvalProgress("ingest", done, len(runs)))
            report = import_path(folder, ingestor)
            stored += report.total.total_events
            rejected += report.total.rejected
            skipped += [
                str(Path(name).relative_to(workdir))
                for name in report.unrecognised
                if Path(name).name not in NOT_TELEMETRY
            ]
        notify(EvalProgress("ingest", len(runs), len(runs)))
    finally:
        database.close()
    return stored, rejected, sorted(skipped)
