"""The console in a real browser: Debian's Chromium driven by Playwright, against the real app
served by uvicorn over the console fixture's data folder (tests/console_fixtures.py).

Sign-in, the queue (a live update arriving without a reload), an incident, an approval
on a phone-sized screen, and a hunt (filters and SQL). Each main screen is saved as a
PNG: into the folder `VIGIL_SCREENSHOTS` names (`docs/console` for the committed
ones), else into the test's temporary folder.

Playwright drives the system browser (`executable_path`); it never downloads one.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from console_fixtures import (
    EXTRA_ALERTS,
    IN_STORE,
    NOW,
    PASSWORD,
    REQUESTER,
    ConsoleData,
    copy_of,
    fixture_alert,
    settings_for,
)
from oidc_provider import PROVIDER_WARNINGS, running_provider, set_claims
from vigil.config import load_settings
from vigil.console import create_app
from vigil.console.auth.oidc_config import OidcConfig, RoleRule
from vigil.console.auth.types import Role
from vigil.correlate import service
from vigil.detect.sink import store_alerts
from vigil.estate import load_estate
from vigil.sim import generate_estate
from vigil.store.database import Database

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 20_000
"""Longest wait for something to show (a loaded machine is slow; nothing here is timed)."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (apt install chromium)"
    ),
]


class Served:
    """The console app on a free port of 127.0.0.1, in a thread."""

    def __init__(self, data: ConsoleData, **changes: object) -> None:
        self.data = data
        app = create_app(
            settings_for(data.folder, stream_poll=timedelta(milliseconds=200), **changes)
        )
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        )
        self.thread = threading.Thread(target=self.server.run, args=([self.listener],))

    def __enter__(self) -> Served:
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("the console did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.listener.close()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Served]:
    with Served(
        copy_of(tmp_path_factory, "e2e", getattr(request.config, "cache", None))
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("VIGIL_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Pages:
    """Opens pages in fresh browser contexts (no cookies) and closes them after the test, so
    no live stream outlives it. Each context's clock reads the fixture's `NOW`, so relative
    times ("5 min ago") read as they would have then."""

    def __init__(self, browser: Browser, served: Served) -> None:
        self.browser, self.served = browser, served
        self.contexts: list[BrowserContext] = []

    def open(self, viewport: ViewportSize = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, base_url=self.served.url)
        context.clock.set_fixed_time(NOW + timedelta(minutes=2))
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        return context.new_page()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser, served: Served) -> Iterator[Pages]:
    opened = Pages(browser, served)
    yield opened
    opened.close()


def sign_in(page: Page, username: str, target: str = "/queue") -> None:
    page.goto(target)
    page.wait_for_url("**/login?next=*")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{target}")


def save(page: Page, shots: Path, name: str, *, whole: bool = False) -> None:
    """A screenshot of the page (`whole`: all of it, not just the window), shrunk to a
    256-colour PNG (they are committed)."""
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=whole)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)


def test_sign_in_refuses_a_wrong_password_and_returns_to_the_page_asked_for(
    pages: Pages, shots: Path
) -> None:
    page = pages.open()
    page.goto("/approvals")
    page.wait_for_url("**/login?next=%2Fapprovals")
    page.fill("#login-username", "analyst-in")
    page.fill("#login-password", "not the password")
    save(page, shots, "login")
    page.click("#login-form button[type=submit]")
    error = page.locator("#signin-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Wrong username or password."
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/approvals")
    assert page.locator(".who-name").inner_text() == "analyst-in"
    cookie = next(c for c in page.context.cookies() if c["name"] == "vigil_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"


@pytest.mark.filterwarnings(PROVIDER_WARNINGS)
def test_sign_in_with_an_oidc_provider_on_another_site(
    browser: Browser,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    shots: Path,
) -> None:
    """The provider is on another site (localhost; the console is on 127.0.0.1), as in real
    life: its redirect back cannot carry the SameSite=Strict session cookie, so the sign-in
    page picks the new session up and goes on to the page asked for."""
    with running_provider(host="localhost") as issuer:
        set_claims(issuer, "sub-olivia", preferred_username="olivia", groups=["soc-analysts"])
        config = OidcConfig(
            name="Contoso SSO",
            issuer=issuer,
            client_id="vigil-console",
            client_secret_file="oidc-secret",
            roles=[RoleRule(value="soc-analysts", role=Role.ANALYST, scopes=[IN_STORE])],
        )
        data = copy_of(tmp_path_factory, "e2e-oidc", getattr(request.config, "cache", None))
        (data.folder / "oidc-secret").write_text("e2e-secret\n")
        # the provider stamps its tokens with the real time, so this console keeps it too
        with Served(data, oidc=config, clock=lambda: datetime.now(UTC)) as served:
            context = browser.new_context(viewport=DESKTOP, base_url=served.url)
            context.set_default_timeout(WAIT_MS)
            try:
                page = context.new_page()
                page.goto("/queue")
                page.wait_for_url("**/login?next=*")
                link = page.locator("#oidc-link")
                link.wait_for(state="visible")
                assert link.inner_text() == "Sign in with Contoso SSO"
                save(page, shots, "login-oidc")
                link.click()
                page.wait_for_url(f"{issuer}/oauth2/authorize?*")
                page.fill("input[name=sub]", "sub-olivia")
                page.click("button[type=submit]:has-text('Authorize')")
                page.wait_for_url(f"{served.url}/queue")
                assert page.locator(".who-name").inner_text() == "olivia"
                page.locator("#queue-body tr").first.wait_for()
            finally:
                context.close()


def _open_incident(served: Served) -> str:
    """A new incident in store 031, folded from a fresh alert as the pipeline would."""
    settings = load_settings(served.data.folder)
    database = Database.open(settings.database_url)
    try:
        before = {item.uid for item in service.list_incidents(database, limit=10_000)}
        alert = fixture_alert(
            replace(
                EXTRA_ALERTS[0],
                time=NOW - timedelta(minutes=3),
                entities={"store": IN_STORE, "device": "s031-pos-09", "ip": "203.0.113.99"},
                explanation="Terminal s031-pos-09 opened 9 connections to 203.0.113.99, an "
                "address no till in the estate has contacted before.",
            )
        )
        store_alerts(database, [alert])
        service.correlate_stored(database, load_estate(settings.estate_path))
        after = {item.uid for item in service.list_incidents(database, limit=10_000)}
    finally:
        database.close()
    (fresh,) = after - before
    return fresh


def test_the_queue_shows_a_new_incident_live_without_a_reload(
    pages: Pages, served: Served, shots: Path
) -> None:
    page = pages.open()
    sign_in(page, "admin-in")
    rows = page.locator("#queue-body tr")
    rows.first.wait_for()
    page.locator("#queue-live[data-state=live]").wait_for()
    shown = rows.count()
    save(page, shots, "queue")
    page.evaluate("window.notReloaded = true")
    fresh = _open_incident(served)
    row = page.locator(f'#queue-body tr[data-uid="{fresh}"]')
    row.wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert rows.count() == shown + 1
    assert IN_STORE in row.inner_text()


def test_bulk_assignment_from_the_queue_without_a_reload(pages: Pages, served: Served) -> None:
    page = pages.open()
    sign_in(page, "analyst-in")
    rows = page.locator("#queue-body tr")
    rows.first.wait_for()
    page.evaluate("window.notReloaded = true")
    picked = [rows.nth(n).get_attribute("data-uid") for n in range(2)]
    for uid in picked:
        page.locator(f'#queue-body tr[data-uid="{uid}"] input.pick').check()
    page.locator("#queue-selected", has_text="2 selected").wait_for()
    page.click("#bulk-assign-me")
    for uid in picked:
        page.locator(f'#queue-body tr[data-uid="{uid}"]', has_text="analyst-in").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#queue-bulk").is_hidden()  # the selection is done with


def test_the_estate_tile_map_shows_two_thousand_stores(
    pages: Pages,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    shots: Path,
) -> None:
    data = copy_of(tmp_path_factory, "e2e-estate", getattr(request.config, "cache", None))
    estate = generate_estate(2000, seed=7)
    (data.folder / "estate.yaml").write_text(
        json.dumps(estate.model_dump(mode="json", exclude_none=True))
    )
    with Served(data) as wide:
        page = Pages(pages.browser, wide).open()
        try:
            sign_in(page, "admin-in", "/")
            page.locator("#estate-spacer [role=row]").first.wait_for()
            assert page.locator("#estate-spacer [role=row]").count() < 60  # drawn: those in view
            page.check("#estate-view-tiles")
            tiles = page.locator("#estate-tiles a.tile")
            tiles.first.wait_for()
            assert tiles.count() == 2000
            assert page.locator("#estate-tiles .tile-region").count() == len(estate.regions)
            save(page, shots, "estate-tiles")
            region = estate.regions[0]
            page.select_option("#estate-region", region.uid)
            page.wait_for_function(
                f"() => document.querySelectorAll('#estate-tiles a.tile').length === {len(region.stores)}"
            )
            first = tiles.first.get_attribute("data-uid")
            assert first in {store.uid for store in region.stores}
            tiles.first.click()
            page.wait_for_url(f"**/stores/{first}")
        finally:
            page.context.close()


def test_the_incident_page_explains_with_timeline_graph_and_evidence(
    pages: Pages, served: Served, shots: Path
) -> None:
    uid = served.data.incident_of(IN_STORE)
    page = pages.open()
    sign_in(page, "analyst-in", f"/incidents/{uid}")
    page.locator("#incident-timeline li").first.wait_for()
    assert page.locator("#incident-explanation").inner_text().strip()
    assert page.locator("#incident-alerts tr").count() > 1
    page.locator("#incident-graph svg").wait_for()
    assert page.locator("#incident-head").inner_text().strip()
    thumbnail = page.locator("#incident-video figure img").first
    thumbnail.wait_for()
    thumbnail.scroll_into_view_if_needed()  # thumbnails load lazily, when in view
    page.wait_for_function(
        "() => [...document.querySelectorAll('#incident-video img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    assert page.locator("#incident-video figure").first.get_attribute("data-camera") == (
        "s031-cam-04"  # the till's checkout camera first
    )
    page.evaluate("window.scrollTo(0, 0)")
    save(page, shots, "incident", whole=True)
    page.fill("#comment-text", "Checked the till's network log with the store.")
    page.click("#comment-form button[type=submit]")
    page.locator("#incident-comments", has_text="Checked the till's network log").wait_for()


def test_an_approver_approves_with_a_reason_on_a_phone(
    pages: Pages, served: Served, shots: Path
) -> None:
    pending = served.data.approvals[0]
    page = pages.open(PHONE)
    sign_in(page, "approver-in", "/approvals")
    card = page.locator(f'article.approval[data-uid="{pending}"]')
    card.wait_for()
    save(page, shots, "approvals-phone")
    card.locator("button.approve").click()
    dialog = page.locator("#prompt")
    dialog.wait_for(state="visible")
    page.fill("#prompt-input", "Confirmed with the store manager by phone.")
    page.click("#prompt-ok")
    card.wait_for(state="detached")
    decided = page.locator("#approvals-decided")
    assert "Confirmed with the store manager by phone." in decided.inner_text()


def test_the_requester_cannot_approve_their_own_request(pages: Pages, served: Served) -> None:
    pending = served.data.approvals[-1]
    page = pages.open(PHONE)
    sign_in(page, REQUESTER, "/approvals")
    card = page.locator(f'article.approval[data-uid="{pending}"]')
    card.wait_for()
    assert card.locator("button.approve").count() == 0
    assert "another approver must decide it" in card.inner_text()


def test_a_hunt_with_filters_and_with_sql(pages: Pages, served: Served, shots: Path) -> None:
    page = pages.open()
    sign_in(page, "analyst-in", "/hunt")
    page.select_option("#hunt-class", "pos_transaction")
    page.fill("#hunt-filters .f-field", "store.uid")
    page.fill("#hunt-filters .f-value", IN_STORE)
    page.click("#hunt-search button[type=submit]")
    table = page.locator("#hunt-table tbody tr")
    table.first.wait_for()
    assert page.locator("#hunt-chart svg").count() == 1
    save(page, shots, "hunt")
    page.click("#tab-sql")
    page.fill(
        "#hunt-sql-text",
        'SELECT "store.uid" AS store, count(*) AS n FROM pos_transaction GROUP BY ALL',
    )
    page.click("#hunt-sql button[type=submit]")
    page.get_by_role("columnheader", name="n", exact=True).wait_for()
    stores = page.locator("#hunt-table tbody tr td:first-child").all_inner_texts()
    assert stores == [IN_STORE]  # the analyst's scope, whatever the SQL asked
    page.fill("#hunt-sql-text", "DROP TABLE pos_transaction")
    page.click("#hunt-sql button[type=submit]")
    page.locator("#notice", has_text="Query refused").wait_for()


@pytest.mark.parametrize(
    ("name", "path", "ready"),
    [
        ("estate", "/", "#estate-spacer [role=row]"),
        ("detections", "/detections", "#det-table tbody tr"),
        ("store", f"/stores/{IN_STORE}", "#store-pos tbody tr"),
        ("health", "/health", "#health-letters tbody tr code"),  # after the sources
    ],
)
def test_the_other_screens_render_for_an_admin(
    pages: Pages, shots: Path, name: str, path: str, ready: str
) -> None:
    page = pages.open()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "admin-in", path)
    page.locator(ready).first.wait_for()
    page.wait_for_load_state("networkidle")
    save(page, shots, name)
    assert errors == []
