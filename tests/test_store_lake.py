from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.events import EventBatch, NetworkActivity, OcsfEvent, PosTransaction
from vigil.store.errors import CorruptLakeFileError, LakeError, QueryRefusedError
from vigil.store.lake import Lake

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def flows(count: int, stores: tuple[str | None, ...] = ("031", "112")) -> EventBatch:
    events = [
        NetworkActivity(
            activity_id=6,
            time=START + timedelta(hours=7 * index),
            metadata={"product": {"name": "zeek"}},
            src_endpoint={"ip": f"10.31.11.{index % 250}"},
            traffic={"bytes_out": index},
            store=None
            if stores[index % len(stores)] is None
            else {"uid": stores[index % len(stores)]},
        )
        for index in range(count)
    ]
    return EventBatch.from_events(events)


def test_append_partitions_by_class_day_and_store(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    result = lake.append(flows(10, ("031", "112", None)))
    assert result.rows == 10
    relative = sorted(str(path.relative_to(tmp_path).parent) for path in result.files)
    assert "network_activity/day=2026-11-27/store=031" in relative
    assert "network_activity/day=2026-11-29/store=_none" in relative
    rows = lake.query(
        'SELECT store, count(*), sum("traffic.bytes_out") FROM network_activity GROUP BY ALL ORDER BY ALL'
    ).rows
    assert rows == [("031", 4, 18), ("112", 3, 12), ("_none", 3, 15)]


def test_same_batch_twice_is_stored_once(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    batch = flows(6)
    lake.append(batch)
    lake.append(batch)
    lake.append(batch, batch_id="replayed")
    lake.append(batch, batch_id="replayed")
    assert lake.query("SELECT count(*) FROM network_activity").rows == [(12,)]


def test_lake_round_trips_events(tmp_path: Path, sample_events: list[OcsfEvent]) -> None:
    lake = Lake(tmp_path)
    pos = [event for event in sample_events if isinstance(event, PosTransaction)]
    lake.append(EventBatch.from_events(pos))
    table = lake.query(
        'SELECT * EXCLUDE (day, store) FROM pos_transaction ORDER BY time, "transaction.uid" NULLS FIRST'
    ).table
    back = EventBatch(PosTransaction, table).events()
    assert sorted(back, key=lambda e: e.model_dump_json()) == sorted(
        pos, key=lambda e: e.model_dump_json()
    )


def test_empty_lake_answers_with_typed_empty_views(tmp_path: Path) -> None:
    result = Lake(tmp_path).query('SELECT count(*), max("traffic.bytes_out") FROM network_activity')
    assert result.rows == [(0, None)]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM network_activity", "only SELECT"),
        ("CREATE TABLE t AS SELECT 1", "only SELECT"),
        ("COPY (SELECT 1) TO 'x.csv'", "only SELECT"),
        ("ATTACH 'other.db'", "only SELECT"),
        ("INSTALL httpfs", "only SELECT"),
        ("SET enable_external_access = true", "only SELECT"),
        ("SELECT 1; DROP VIEW network_activity", "one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission"),
        ("SELECT * FROM read_text('/etc/hostname')", "Permission"),
        ("SELECT * FROM glob('/*')", "Permission"),
        ("SELEKT 1", "invalid SQL"),
        ("EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'", "only SELECT"),
        ("EXPLAIN ANALYZE DROP VIEW network_activity", "only SELECT"),
        ("EXPLAIN SELECT 1", "only SELECT"),
        ("PRAGMA enable_profiling", "only SELECT"),
        (
            "SELECT current_setting('allowed_directories'), * FROM read_csv('.tmp/x.csv')",
            "Permission",
        ),
    ],
)
def test_only_read_only_queries_inside_the_lake(tmp_path: Path, sql: str, message: str) -> None:
    lake = Lake(tmp_path)
    lake.append(flows(2))
    with pytest.raises(QueryRefusedError, match=message):
        lake.query(sql)


def test_corrupt_file_is_named_and_nothing_else_is_damaged(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    result = lake.append(flows(8))
    victim = result.files[0]
    others = {path: path.read_bytes() for path in result.files[1:]}
    victim.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(CorruptLakeFileError, match=victim.name):
        lake.query("SELECT count(*) FROM network_activity")
    assert [item.path for item in lake.verify()] == [victim]
    assert {path: path.read_bytes() for path in result.files[1:]} == others
    assert lake.query("SELECT count(*) FROM pos_transaction").rows == [(0,)]
    with pytest.raises(LakeError, match="query failed") as caught:
        lake.query("SELECT no_such_column FROM pos_transaction")
    assert not isinstance(caught.value, CorruptLakeFileError)


def test_a_crash_before_the_rename_leaves_no_visible_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path)
    lake.append(flows(4))

    def crash(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", crash)
    with pytest.raises(LakeError, match="No space left"):
        lake.append(flows(6, ("044",)))
    monkeypatch.undo()
    assert lake.query("SELECT count(*) FROM network_activity").rows == [(4,)]
    assert lake.verify() == []
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".parquet")]
    assert leftovers == []  # the temporary file was removed


def test_settings_are_locked_and_nothing_spills(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    (setting,) = lake.query("SELECT current_setting('temp_directory')").rows[0]
    assert setting == ""
    with pytest.raises(QueryRefusedError):
        lake.query("SELECT * FROM read_csv('.tmp/x.csv')")


def test_unsafe_store_and_batch_names_never_collide(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.append(flows(4, ("031/a", "031_a")))
    assert lake.query(
        'SELECT count(*), count(DISTINCT "store.uid") FROM network_activity'
    ).rows == [(4, 2)]
    lake.append(flows(2, ("112",)), batch_id="seq/1")
    lake.append(flows(3, ("112",)), batch_id="seq_1")
    assert lake.query("SELECT count(*) FROM network_activity WHERE store = '112'").rows == [(5,)]
    assert all("/" not in path.name for path in lake.files())


def test_content_hash_ignores_chunking(tmp_path: Path) -> None:
    import pyarrow as pa

    lake = Lake(tmp_path)
    batch = flows(4)
    rechunked = EventBatch(
        NetworkActivity, pa.concat_tables([batch.table.slice(0, 1), batch.table.slice(1)])
    )
    lake.append(batch)
    lake.append(rechunked)
    assert lake.query("SELECT count(*) FROM network_activity").rows == [(4,)]


def test_rows_in_partition_order_or_shuffled_land_in_the_same_files(tmp_path: Path) -> None:
    # Rows already grouped by (day, store) are written without the sort; shuffled rows
    # are sorted first. Both must give the same partitions with the same rows.
    import pyarrow as pa

    batch = flows(12, ("031", "112", None))
    table = batch.table
    keys = [
        (str(time.date()), store or "")
        for time, store in zip(
            table.column("time").to_pylist(), table.column("store.uid").to_pylist(), strict=True
        )
    ]
    grouped = sorted(range(table.num_rows), key=lambda index: keys[index])
    in_order = EventBatch(NetworkActivity, table.take(pa.array(grouped)))
    ordered, shuffled = Lake(tmp_path / "ordered"), Lake(tmp_path / "shuffled")
    first = ordered.append(in_order, batch_id="b")
    second = shuffled.append(batch, batch_id="b")
    assert len(first.files) == len(second.files) == len(set(keys))
    assert sorted(path.relative_to(tmp_path / "ordered") for path in first.files) == sorted(
        path.relative_to(tmp_path / "shuffled") for path in second.files
    )
    query = 'SELECT day, store, "src_endpoint.ip", "traffic.bytes_out" FROM network_activity ORDER BY ALL'
    assert ordered.query(query).rows == shuffled.query(query).rows
    assert len(ordered.query(query).rows) == 12
