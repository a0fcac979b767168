"""The event lake: Parquet files partitioned by class / day / store, read with DuckDB.

Layout: `<root>/<class>/day=YYYY-MM-DD/store=<uid>/part-<batch id>.parquet`. A
file is written under a temporary name and renamed into place, so a reader never
sees half a file; the name carries the batch id, so writing the same batch twice
(at-least-once delivery) replaces it instead of duplicating it.

Queries are read-only: one SELECT, over views named after the event classes,
with DuckDB's file access confined to the lake and its configuration locked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vigil.events import EVENT_CLASSES, EventBatch, OcsfEvent, short_name
from vigil.events.columns import arrow_schema
from vigil.store.errors import CorruptLakeFileError, LakeError, QueryRefusedError

logger = logging.getLogger(__name__)

UNKNOWN_STORE = "_none"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_PLAIN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")


def _name(raw: str) -> str:
    """A file-system-safe name, one-to-one: unsafe values get a hash suffix after '~'."""
    if _PLAIN.match(raw):
        return raw
    return f"{_SAFE.sub('_', raw)[:64]}~{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class AppendResult:
    """What one append wrote."""

    rows: int
    files: tuple[Path, ...]


@dataclass(frozen=True)
class BrokenFile:
    """A lake file that cannot be read."""

    path: Path
    reason: str


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a lake query."""

    columns: list[str]
    rows: list[tuple[object, ...]]
    table: pa.Table


def _run_ends(keys: pa.Table) -> list[int]:
    """The last row of each run of equal (day, store) keys."""
    if keys.num_rows < 2:
        return [keys.num_rows - 1]
    day_column, store_column = keys.column("day"), keys.column("store")
    changed = pc.or_(
        pc.not_equal(day_column[1:], day_column[:-1]),
        pc.not_equal(store_column[1:], store_column[:-1]),
    )
    return [*pc.indices_nonzero(changed).to_pylist(), keys.num_rows - 1]


def _batch_id(table: pa.Table) -> str:
    """A content hash: the same rows always land in the same file name."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())  # one batch, however the rows were chunked
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:32]


class Lake:
    """Append event batches as Parquet; run read-only SQL over them."""

    def __init__(self, root: Path, memory_limit: str = "2GB") -> None:
        self.root = root
        self.memory_limit = memory_limit
        self._unavailable: set[str] = set()

    def class_dir(self, event_class: type[OcsfEvent]) -> Path:
        return self.root / short_name(event_class)

    def append(self, batch: EventBatch, batch_id: str | None = None) -> AppendResult:
        """Write a batch, one file per (day, store) partition. Idempotent per batch id."""
        if len(batch) == 0:
            return AppendResult(0, ())
        table = batch.table
        batch_id = _name(batch_id) if batch_id else _batch_id(table)
        # Columns null in every row are left out of the file (most of a wide OCSF class
        # is empty for any one source); the class view restores them as typed NULLs.
        keep = [
            name for name in table.column_names if table.column(name).null_count < table.num_rows
        ]
        days = table.column("time").cast(pa.date32())
        stores = pc.fill_null(table.column("store.uid"), UNKNOWN_STORE)
        table = table.select(keep)
        keys = pa.table({"day": days, "store": stores})
        ends = _run_ends(keys)
        if len(ends) > 1 and len(ends) > len(keys.group_by(["day", "store"]).aggregate([])):
            # A partition comes back after another (events out of order): sort once by
            # partition key, then write zero-copy slices. Files in time order (most logs)
            # are already one run per partition and skip the sort.
            order = pc.sort_indices(keys, [("day", "ascending"), ("store", "ascending")])
            table, keys = table.take(order), keys.take(order)
            ends = _run_ends(keys)
        # Polars writes Parquet in about two thirds of pyarrow's time for these wide,
        # string-heavy tables; the file's column types are the same as pyarrow's.
        frame = pl.DataFrame(table)
        day_column, store_column = keys.column("day"), keys.column("store")
        written = []
        start = 0
        for end in ends:
            day, store = day_column[start].as_py().isoformat(), store_column[start].as_py()
            directory = self.class_dir(batch.event_class) / f"day={day}" / f"store={_name(store)}"
            part = frame.slice(start, end + 1 - start)
            written.append(self._write(part, directory / f"part-{batch_id}.parquet"))
            start = end + 1
        return AppendResult(table.num_rows, tuple(written))

    def _write(self, frame: pl.DataFrame, path: Path) -> Path:
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(temporary, compression="zstd", compression_level=1)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
            temporary.replace(path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise LakeError(f"cannot write {path}: {error.strerror or error}") from error
        return path

    def files(self, event_class: type[OcsfEvent] | None = None) -> Iterator[Path]:
        classes = (event_class,) if event_class else EVENT_CLASSES
        for cls in classes:
            yield from sorted(self.class_dir(cls).glob("day=*/store=*/*.parquet"))

    def partition_files(
        self, event_class: type[OcsfEvent], days: Iterable[date], stores: Iterable[str] | None
    ) -> list[Path]:
        """The files of these days, of these stores only (every store when `stores` is None):
        a reader that needs a few partitions lists and opens no others."""
        found: list[Path] = []
        for day in sorted(set(days)):
            folder = self.class_dir(event_class) / f"day={day.isoformat()}"
            if stores is None:
                found += sorted(folder.glob("store=*/*.parquet"))
                continue
            for store in sorted(set(stores)):
                found += sorted((folder / f"store={_name(store)}").glob("*.parquet"))
        return found

    def verify(self, event_class: type[OcsfEvent] | None = None) -> list[BrokenFile]:
        """Every file (of one class, or all) that cannot be read, with the reason."""
        broken = []
        for path in self.files(event_class):
            try:
                pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
            except (pa.ArrowInvalid, OSError) as error:
                broken.append(BrokenFile(path, str(error)))
        return broken

    def _blame(self, sql: str, error: duckdb.Error) -> list[BrokenFile]:
        """The unreadable files behind a failed query: ones it names, or ones of the
        classes it queries whose view could not be created."""
        message = str(error)
        blamed = []
        for cls in EVENT_CLASSES:
            name = short_name(cls)
            mentioned = re.search(rf"\b{re.escape(name)}\b", sql) is not None
            for item in self.verify(cls):
                if str(item.path) in message or (mentioned and name in self._unavailable):
                    blamed.append(item)
        return blamed

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per event class, confined to the lake."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._unavailable = set()
        root = self.root.resolve()
        connection = duckdb.connect(
            config={
                "threads": 2,
                "memory_limit": self.memory_limit,
                # No spilling: a query that needs more memory fails instead of writing files.
                "temp_directory": "",
                "max_temp_directory_size": "0B",
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        for cls in EVENT_CLASSES:
            name = short_name(cls)
            if any(True for _ in self.files(cls)):
                pattern = str(root / name / "*" / "*" / "*.parquet").replace("'", "''")
                source = f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true, hive_types = {{'day': DATE, 'store': VARCHAR}})"
                try:
                    # Built from class names and the lake's own (quoted) path, never user input.
                    view = f'CREATE VIEW "{name}" AS {_empty_select(cls)} UNION ALL BY NAME SELECT * FROM {source}'  # noqa: S608
                    connection.execute(view)
                except duckdb.Error as error:
                    # A damaged file in one class must not block queries of the others;
                    # a query that needs this view fails and names the file.
                    logger.warning("lake view %s unavailable: %s", name, _first_line(error))
                    self._unavailable.add(name)
            else:
                connection.execute(f'CREATE VIEW "{name}" AS {_empty_select(cls)}')
        quoted = str(root).replace("'", "''")
        # Footers read once per file version, not per query: a connection kept open (the
        # console's) plans each query without re-reading them.
        connection.execute("SET parquet_metadata_cache = true")
        connection.execute(f"SET allowed_directories = ['{quoted}/']")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        return connection

    def query(self, sql: str, limit: int | None = None) -> QueryResult:
        """Run one read-only SELECT; refuse anything else."""
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as error:
            raise QueryRefusedError(f"invalid SQL: {_first_line(error)}") from error
        if len(statements) != 1:
            raise QueryRefusedError(f"expected one statement, got {len(statements)}")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise QueryRefusedError(
                f"only SELECT queries are allowed, not {statements[0].type.name}"
            )
        connection = None
        try:
            connection = self.connect()
            relation = connection.sql(sql)
            if relation is None:
                raise QueryRefusedError("the statement returned no rows")
            if limit is not None:
                relation = relation.limit(limit)
            table = relation.to_arrow_table()
        except duckdb.PermissionException as error:
            raise QueryRefusedError(f"refused: {_first_line(error)}") from error
        except duckdb.Error as error:
            blamed = self._blame(sql, error)
            if blamed:
                names = ", ".join(str(item.path) for item in blamed)
                raise CorruptLakeFileError(
                    f"unreadable Parquet file(s) in the lake: {names}"
                ) from error
            raise LakeError(f"query failed: {_first_line(error)}") from error
        finally:
            if connection is not None:
                connection.close()
        return QueryResult(
            table.column_names, [tuple(row.values()) for row in table.to_pylist()], table
        )


def _empty_select(event_class: type[OcsfEvent]) -> str:
    """A typed, empty SELECT with the class's columns, for classes with no files yet."""
    schema = arrow_schema(event_class)
    empty = pa.Table.from_batches([], schema=schema)
    relation = duckdb.from_arrow(empty)
    columns = ", ".join(
        f'CAST(NULL AS {dtype}) AS "{name}"'
        for name, dtype in zip(relation.columns, relation.dtypes, strict=True)
    )
    return f"(SELECT {columns}, CAST(NULL AS DATE) AS day, CAST(NULL AS VARCHAR) AS store LIMIT 0)"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
