"""The live loop: ingest stores a batch, detection alerts, correlation folds, playbooks start."""

from __future__ import annotations

from pathlib import Path

from vigil.correlate import service
from vigil.correlate.fold import Correlator
from vigil.detect.engine import Engine
from vigil.detect.live import LiveDetection
from vigil.detect.loader import load_pack
from vigil.estate import load_sample_estate
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.respond.approvals import ApprovalStatus
from vigil.respond.live import LiveResponse
from vigil.respond.playbooks import load_playbooks
from vigil.respond.playbooks.engine import Responder
from vigil.respond.playbooks.runtime import Runtime
from vigil.respond.recording import RecordingBackend
from vigil.respond.settings import ResponseSettings
from vigil.respond.store import ResponseStore
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

LINE = (
    '{ip} - - [27/Nov/2026:14:{minute:02d}:{second:02d} +0000] "POST /api/payment/authorize '
    'HTTP/1.1" {status} 159 "https://shop.example/" "Mozilla/5.0"\n'
)


def test_a_card_testing_burst_becomes_one_incident_whose_playbook_waits_for_approval(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            LINE.format(ip="203.0.113.50", minute=m, second=s, status=402)
            for m in range(3)
            for s in range(0, 60, 6)
        )
    )
    estate = load_sample_estate()
    database = Database.open(sqlite_url(tmp_path))
    try:
        settings = ResponseSettings()
        backend = RecordingBackend()
        runtime = Runtime(database, backend.backends(), settings.approvals, settings.modes, estate)
        responder = Responder(runtime, load_playbooks(settings.playbook_paths(tmp_path)))
        respond = LiveResponse(database, Correlator(None, estate), responder)
        live = LiveDetection(Engine(load_pack(), estate), database, then=respond)
        ingestor = Ingestor(Lake(tmp_path / "lake"), database, Enricher(estate), observe=live)
        import_path(log, ingestor, "web_access")

        assert live.alerts == 2  # one address declined again and again; most payments declined
        stored = service.list_incidents(database)
        assert len(stored) == 1  # both alerts are one card-testing burst
        assert {a.rule_uid for a in stored[0].alerts} == {
            "vigil.web.card_testing",
            "vigil.web.decline_surge",
        }
        assert respond.runs >= 1
        assert respond.failures == 0
        # Assisted mode by default: nothing ran, an approver is asked.
        pending = ResponseStore(database).approvals(statuses=[ApprovalStatus.PENDING])
        assert pending
        assert all(request.incident_uid == stored[0].uid for request in pending)
        assert backend.calls == []

        # The same alerts again (a replayed batch) start nothing new.
        runs = respond.runs
        import_path(log, ingestor, "web_access")
        assert len(service.list_incidents(database)) == 1
        assert len(ResponseStore(database).approvals(statuses=[ApprovalStatus.PENDING])) == len(
            pending
        )
        assert respond.runs >= runs
    finally:
        database.close()
