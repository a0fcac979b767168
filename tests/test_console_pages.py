"""The console's screens: every page renders for a signed-in user, anonymous visitors go to
sign-in, untrusted text is escaped, and the static files are complete and self-contained."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from vigil.config import CONFIG_FILE, default_config_text, load_settings
from vigil.console import ConsoleSettings, create_app
from vigil.console.web import STATIC, mount
from vigil.console.web.router import TEMPLATES, safe_next
from vigil.console.web.types import PageUser, UnknownRoleError
from vigil.estate import sample_estate_text
from vigil.store.database import Database

ROOT = Path(__file__).resolve().parents[1]
JS = STATIC / "js"

# page key, path, an id its template must hold
PAGES = [
    ("estate", "/", "estate-body"),
    ("queue", "/queue", "queue-body"),
    ("incident", "/incidents/inc-42", "incident-timeline"),
    ("approvals", "/approvals", "approvals-list"),
    ("hunt", "/hunt", "hunt-table"),
    ("detections", "/detections", "det-yaml"),
    ("store", "/stores/s-001", "store-heatmap"),
    ("health", "/health", "health-sources"),
]


class FakeSessions:
    """Signed-in users by session cookie, standing in for the console's session store."""

    def __init__(self) -> None:
        self.users: dict[str, PageUser] = {}

    def __call__(self, request: Request) -> PageUser | None:
        return self.users.get(request.cookies.get("vigil_session", ""))


@pytest.fixture
def sessions() -> FakeSessions:
    return FakeSessions()


@pytest.fixture
def client(sessions: FakeSessions) -> TestClient:
    app = FastAPI()
    mount(app, sessions)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def sign_in(
    client: TestClient,
    sessions: FakeSessions,
    name: str = "ann",
    roles: tuple[str, ...] = ("analyst",),
) -> None:
    sessions.users["sid-1"] = PageUser(name, roles, "csrf-abc")
    client.cookies.set("vigil_session", "sid-1")


@pytest.mark.parametrize(("page", "path", "element"), PAGES)
def test_every_page_renders_for_a_signed_in_user(
    client: TestClient, sessions: FakeSessions, page: str, path: str, element: str
) -> None:
    sign_in(client, sessions)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    html = response.text
    assert f'data-page="{page}"' in html
    assert f'id="{element}"' in html
    assert '<meta name="csrf-token" content="csrf-abc">' in html
    assert 'src="/static/js/main.js"' in html
    assert "ann" in html
    assert 'id="sign-out"' in html


@pytest.mark.parametrize(("page", "path", "element"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(
    client: TestClient, page: str, path: str, element: str
) -> None:
    response = client.get(f"{path}?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + re.sub(
        r"[^A-Za-z0-9_.~-]", lambda m: f"%{ord(m.group()):02X}", f"{path}?x=1"
    )


def test_sign_in_page_is_public_and_keeps_where_to_return(client: TestClient) -> None:
    response = client.get("/login", params={"next": "/queue?store=s-1"})
    assert response.status_code == 200
    assert 'data-page="login"' in response.text
    assert 'data-next="/queue?store=s-1"' in response.text
    assert 'id="setup-form"' in response.text
    assert 'id="sign-out"' not in response.text


def test_signed_in_user_skips_sign_in(client: TestClient, sessions: FakeSessions) -> None:
    sign_in(client, sessions)
    assert client.get("/login", params={"next": "/hunt"}).headers["location"] == "/hunt"
    assert client.get("/login", params={"next": "https://evil.example"}).headers["location"] == "/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/queue?store=s-1", "/queue?store=s-1"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("queue", "/"),
        ("/a\nb", "/"),
    ],
)
def test_return_path_stays_on_this_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_untrusted_text_in_the_page_is_escaped(client: TestClient, sessions: FakeSessions) -> None:
    sign_in(client, sessions, name='<script>alert("x")</script>')
    evil = '"><svg onload=alert(1)>'
    response = client.get("/incidents/" + quote(evil, safe=""))
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "<svg onload" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    assert 'data-incident="&#34;&gt;&lt;svg onload=alert(1)&gt;"' in response.text
    login = client.get("/login", params={"next": '/"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in login.text


def test_pages_stay_out_of_the_api_document(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert not {"/", "/queue", "/login", "/health", "/incidents/{uid}"} & set(paths)


def test_static_files_are_served_with_their_types(client: TestClient) -> None:
    css = client.get("/static/css/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    js = client.get("/static/js/pages/queue.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert client.get("/static/../router.py").status_code == 404


def _modules() -> list[Path]:
    return sorted(JS.rglob("*.js"))


def test_every_module_import_resolves() -> None:
    for module in _modules():
        for target in re.findall(r'from\s+"(\.{1,2}/[^"]+)"', module.read_text()):
            assert (module.parent / target).resolve().is_file(), (
                f"{module.name} imports missing {target}"
            )


def test_every_page_has_its_module_and_the_ids_it_uses() -> None:
    base = (TEMPLATES / "base.html").read_text()
    for page in [key for key, _path, _id in PAGES] + ["login"]:
        module = JS / "pages" / f"{page}.js"
        assert (
            "export function start" in module.read_text()
            or "export async function start" in module.read_text()
        )
        html = base + (TEMPLATES / f"{page}.html").read_text()
        for element in re.findall(r'byId\("([a-z0-9-]+)"\)', module.read_text()):
            assert f'id="{element}"' in html, f"{page}.js uses #{element}, missing from {page}.html"
    for shared in ("main.js", "prompt.js", "dom.js"):
        for element in re.findall(r'byId\("([a-z0-9-]+)"\)', (JS / shared).read_text()):
            assert f'id="{element}"' in base, f"{shared} uses #{element}, missing from base.html"


def test_scripts_never_parse_data_as_html() -> None:
    sinks = re.compile(
        r"innerHTML|outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*\"on"
    )
    for module in _modules():
        assert not sinks.search(module.read_text()), f"{module.name} uses an HTML sink"


def test_nothing_loads_from_the_internet() -> None:
    allowed = {"http://www.w3.org/2000/svg"}
    files = [*TEMPLATES.glob("*.html"), *STATIC.rglob("*.css"), *_modules()]
    for path in files:
        text = path.read_text()
        found = set(re.findall(r"https?://[^\s\"')`]+", text))
        assert found <= allowed, f"{path.name} refers to {found - allowed}"
        assert not re.search(r"""(src|href)=["']?//""", text), (
            f"{path.name} loads from another host"
        )


def test_templates_have_no_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "style=" not in text, template.name
        assert "<style" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


def test_roles_are_cumulative() -> None:
    admin = PageUser("root", ("admin",), "t")
    viewer = PageUser("val", ("viewer",), "t")
    assert admin.can("approver")
    assert viewer.can("viewer")
    assert not viewer.can("analyst")
    with pytest.raises(UnknownRoleError, match="unknown role 'owner'"):
        viewer.can("owner")


@pytest.mark.skipif(
    shutil.which("node") is None, reason="needs Node.js for the browser modules' tests"
)
def test_browser_modules_pass_their_tests() -> None:
    result = subprocess.run(
        ["node", "--test", "tests/js/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


@pytest.fixture
def console_app(tmp_path: Path) -> Iterator[TestClient]:
    """The real console over a fresh data folder (as `vigil init` leaves it: no accounts)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / CONFIG_FILE).write_text(default_config_text(), encoding="utf-8")
    (folder / "estate.yaml").write_text(sample_estate_text(), encoding="utf-8")
    settings = load_settings(folder)
    settings.lake_path.mkdir()
    Database.open(settings.database_url).close()
    app = create_app(ConsoleSettings(data=folder, allow_http=True))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


def test_first_run_then_every_page_with_the_real_sessions(console_app: TestClient) -> None:
    client = console_app
    assert client.get("/queue").headers["location"] == "/login?next=%2Fqueue"
    assert client.get("/api/setup").json() == {"needed": True}
    credentials = {"username": "root", "password": "a long first password"}
    assert client.post("/api/setup", json=credentials).status_code == 201
    login = client.post("/api/auth/login", json=credentials)
    assert login.status_code == 200
    token = login.json()["csrf_token"]
    for page, path, element in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert f'data-page="{page}"' in response.text
        assert f'id="{element}"' in response.text
        assert f'<meta name="csrf-token" content="{token}">' in response.text
        assert 'data-roles="viewer analyst approver admin"' in response.text
    assert client.get("/login").headers["location"] == "/"
    client.headers["X-CSRF-Token"] = token
    made = client.post("/api/users", json={"username": "val", "role": "viewer", "scopes": ["*"]})
    assert made.status_code == 201
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/").status_code == 303
    # A viewer gets the same shells, with only the viewer role for the scripts to honour.
    viewer = {"username": "val", "password": made.json()["password"]}
    assert client.post("/api/auth/login", json=viewer).status_code == 200
    page = client.get("/approvals")
    assert page.status_code == 200
    assert 'data-roles="viewer"' in page.text
    assert 'data-user="val"' in page.text
