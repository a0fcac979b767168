"""Live detection: what ingest stores goes through the pack at once; alerts land in the database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from vigil.detect.engine import Engine
from vigil.detect.live import LiveDetection
from vigil.detect.loader import load_pack
from vigil.estate import load_sample_estate
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake
from vigil.store.models import Alert as AlertRow
from vigil.store.models import DeadLetter

LINE = (
    '{ip} - - [27/Nov/2026:14:{minute:02d}:{second:02d} +0000] "POST /api/payment/authorize HTTP/1.1" '
    '{status} 159 "https://shop.example/" "Mozilla/5.0"\n'
)


def test_card_testing_from_an_imported_log_raises_an_alert_as_it_is_stored(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    lines = [
        LINE.format(ip="203.0.113.50", minute=m, second=s, status=402)
        for m in range(3)
        for s in range(0, 60, 6)
    ]
    lines += [
        LINE.format(ip="198.51.100.7", minute=1, second=s, status=200) for s in range(0, 60, 10)
    ]
    log.write_text("".join(lines))
    estate = load_sample_estate()
    database = Database.open(sqlite_url(tmp_path))
    try:
        live = LiveDetection(Engine(load_pack(), estate), database)
        ingestor = Ingestor(Lake(tmp_path / "lake"), database, Enricher(estate), observe=live)
        import_path(log, ingestor, "web_access")
        with database.session() as session:
            rows = session.scalars(select(AlertRow).order_by(AlertRow.rule_uid)).all()
            assert [(row.rule_uid, row.store_uid) for row in rows] == [
                ("vigil.web.card_testing", None),  # one address, many declines
                ("vigil.web.decline_surge", None),  # most of the shop's payments declined
            ]
            assert "203.0.113.50" in (rows[0].explanation or "")
        assert live.alerts == 2
    finally:
        database.close()


def test_rows_later_than_the_watermark_become_dead_letters(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(LINE.format(ip="203.0.113.50", minute=30, second=0, status=200))
    late = tmp_path / "late.log"
    late.write_text(LINE.format(ip="203.0.113.51", minute=0, second=0, status=200))
    database = Database.open(sqlite_url(tmp_path))
    try:
        live = LiveDetection(Engine(load_pack()), database)
        ingestor = Ingestor(Lake(tmp_path / "lake"), database, observe=live)
        import_path(log, ingestor, "web_access")
        import_path(late, ingestor, "web_access")
        with database.session() as session:
            letters = [
                row
                for row in session.scalars(select(DeadLetter)).all()
                if row.source.startswith("detect:")
            ]
        assert [(row.source, "after the watermark" in row.reason) for row in letters] == [
            ("detect:http_activity", True)
        ]
        assert "203.0.113.51" in letters[0].raw
        assert live.late == 1
    finally:
        database.close()
