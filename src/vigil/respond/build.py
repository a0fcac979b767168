"""The one way to assemble a `Responder` from a data folder's response settings.

    responder = build_responder(database, settings, data, estate, backends)

Every entry point (the CLI, the console, `vigil ingest serve`, the live demo, the
evaluation's drill) builds its responder here, so playbooks, approval policy,
modes and retry always come from the same `respond.yaml`; callers differ only in
the adapters they pass (real ones, or the recording backend) and in time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from vigil.estate.types import Estate
from vigil.respond.backends import Backends
from vigil.respond.playbooks.engine import Responder
from vigil.respond.playbooks.loader import load_playbooks
from vigil.respond.playbooks.runtime import Runtime, utc_now
from vigil.respond.settings import ResponseSettings
from vigil.store.database import Database


def build_responder(
    database: Database,
    settings: ResponseSettings,
    data: Path,
    estate: Estate | None,
    backends: Backends,
    *,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> Responder:
    """Playbooks from `settings` (the pack and the folder's own), run against `backends`.

    Raises `PlaybookLintError` for a broken playbook file.
    """
    runtime = Runtime(
        database,
        backends,
        settings.approvals,
        settings.modes,
        estate,
        clock=clock,
        sleep=sleep,
        retry=settings.backends.retry,
    )
    return Responder(runtime, load_playbooks(settings.playbook_paths(data)))
