"""Video on the incident page: the observations of its stores and hours, their blurred
snapshots served through the API in the reader's scope, and nothing else on disk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from console_fixtures import (
    IN_STORE,
    SNAPSHOTS,
    ConsoleData,
    copy_of,
    settings_for,
    sign_in,
    snapshot_url,
)
from vigil.console import create_app
from vigil.console.video.service import snapshot_key
from vigil.video.behaviours.types import Activity, SnapshotRequest
from vigil.video.snapshots import SnapshotConfig, SnapshotStore


@dataclass
class Site:
    data: ConsoleData
    app: object

    def as_(self, user: str) -> TestClient:
        client = TestClient(self.app)  # type: ignore[arg-type]
        sign_in(client, user)
        return client

    def page_of(self, user: str, store: str) -> list[dict[str, object]]:
        """The video of each incident of `store`, as `user` reads them, in one list."""
        client = self.as_(user)
        found: list[dict[str, object]] = []
        for uid in self.data.incidents[store]:
            found += client.get(f"/api/incidents/{uid}").json()["video"]
        return found


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    data = copy_of(tmp_path_factory, "video", request.config.cache)
    app = create_app(settings_for(data.folder))
    with TestClient(app):
        yield Site(data, app)


def test_the_incident_page_links_the_snapshots_of_its_store_and_hours(site: Site) -> None:
    uid = site.data.incident_of(IN_STORE)  # a till in the checkout zone, 11:03 on 20 Nov
    video = site.as_("viewer-in").get(f"/api/incidents/{uid}").json()["video"]
    assert [(v["camera"], v["time"], v["activity"]) for v in video] == [
        ("s031-cam-04", "2026-11-20T11:01:00Z", "Loitering"),  # the till's zone first
        ("s031-cam-02", "2026-11-20T11:06:00Z", "Dwell"),
    ]
    assert [v["snapshot_url"] for v in video] == [snapshot_url(0), snapshot_url(1)]
    assert all(str(v["snapshot_uri"]).startswith("file:") for v in video)


def test_a_snapshot_is_the_blurred_jpeg_the_video_stage_wrote(site: Site) -> None:
    response = site.as_("viewer-in").get(snapshot_url(0))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"].startswith("private")
    relative = snapshot_url(0).split("/snapshots/", 1)[1]
    assert response.content == (site.data.folder / "snapshots" / relative).read_bytes()
    assert response.content[:2] == b"\xff\xd8"


def test_snapshots_follow_the_scope_of_their_store(site: Site) -> None:
    other = SNAPSHOTS.index(next(s for s in SNAPSHOTS if s[0] == "112"))
    assert site.as_("viewer-out").get(snapshot_url(0)).status_code == 404
    assert site.as_("viewer-in").get(snapshot_url(other)).status_code == 404
    assert site.as_("viewer-out").get(snapshot_url(other)).status_code == 200
    assert TestClient(site.app).get(snapshot_url(0)).status_code == 401  # type: ignore[arg-type]
    central = site.page_of("viewer-out", "112")
    assert {v["camera"] for v in central} == {"s112-cam-01"}
    assert all(v["snapshot_url"] == snapshot_url(other) for v in central)


def test_only_snapshots_an_observation_of_that_store_names_are_served(site: Site) -> None:
    client = site.as_("admin-in")
    folder = site.data.folder / "snapshots"
    stray = folder / "s031-cam-04" / "2026-11-20" / "110200000-loitering-9.jpg"
    stray.write_bytes((folder / snapshot_url(0).split("/snapshots/", 1)[1]).read_bytes())
    (site.data.folder / "secret.jpg").write_bytes(b"\xff\xd8 not for anyone")
    other = snapshot_url(3).split("/snapshots/", 1)[1]  # store 112's camera
    refused = [
        "/api/stores/031/snapshots/s031-cam-04/2026-11-20/110200000-loitering-9.jpg",
        f"/api/stores/031/snapshots/{other}",
        "/api/stores/999/snapshots/s031-cam-04/2026-11-20/110100000-loitering-0.jpg",
        "/api/stores/031/snapshots/..%2F..%2F/2026-11-20/secret.jpg",
        "/api/stores/031/snapshots/s031-cam-04/2026-11-20/..%2F..%2F..%2Fsecret.jpg",
        "/api/stores/031/snapshots/s031-cam-04/..%2F..%2F/secret.jpg",
    ]
    for path in refused:
        assert client.get(path).status_code == 404, path
    assert client.get(snapshot_url(0)).status_code == 200


def test_the_console_reads_the_layout_the_video_stage_writes(tmp_path: Path) -> None:
    store = SnapshotStore(SnapshotConfig(folder=tmp_path / "at-the-store"))
    moment = datetime(2026, 3, 4, 10, 11, 12, 345000, tzinfo=UTC)
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    request = SnapshotRequest(moment, "s031-cam-04", Activity.SHELF_SWEEP, image, None, 7, None)
    uri = store.path_for(request).resolve().as_uri()
    key = snapshot_key("031", "s031-cam-04", uri)
    assert key is not None
    assert (key.camera, key.day, key.name) == (
        "s031-cam-04",
        "2026-03-04",
        "101112345-shelf_sweep-7.jpg",
    )
    assert snapshot_key("031", "s031-cam-05", uri) is None  # another camera's folder
    assert snapshot_key("031", "s031-cam-04", "https://cdn.example/s031-cam-04/x.jpg") is None
    assert snapshot_key("031", "s031-cam-04", "file:///etc/passwd") is None
