"""The console's HTML pages: server-rendered shells that the browser fills from the public API.

Every page but sign-in needs a signed-in user; an anonymous visitor is sent to
`/login?next=<the page>`. Pages carry a strict Content-Security-Policy (scripts and
styles from this origin only, no inline code), so a title that slips past escaping
still cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from vigil.console.web.types import PageUser, SessionReader
from vigil.events.registry import EVENT_CLASSES, short_name

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    """One entry of the left navigation."""

    page: str
    href: str
    label: str


NAV = (
    NavItem("estate", "/", "Estate"),
    NavItem("queue", "/queue", "Incidents"),
    NavItem("approvals", "/approvals", "Approvals"),
    NavItem("hunt", "/hunt", "Hunt"),
    NavItem("detections", "/detections", "Detections"),
    NavItem("health", "/health", "Health"),
)


SIGN_IN_REFUSALS = {
    "state": "That sign-in could not be matched to this browser: it expired, was used "
    "already, or was started elsewhere. Please sign in again.",
    "denied": "The identity provider did not sign you in (cancelled or refused).",
    "provider": "The identity provider cannot be reached or gave an unusable answer. "
    "Try again later, or sign in with a Vigil account.",
    "unverified": "The identity provider's answer failed verification, so it was not "
    "trusted. Please sign in again; tell an administrator if this keeps happening.",
    "no_role": "Your account at the identity provider has no Vigil role. Ask an administrator "
    "to add you to a group that gives one.",
    "no_scope": "Your account at the identity provider names no store or region of this "
    "estate. Ask an administrator to check your stores.",
    "account": "Your user name at the identity provider cannot be used here: it is missing, "
    "not a valid name, or already belongs to another Vigil account.",
    "disabled": "Your Vigil account is disabled.",
}
"""Why an OIDC sign-in was refused (the API's `oidc_error` reasons), as the sign-in page says it."""


def safe_next(value: str | None) -> str:
    """A same-origin path to return to after sign-in; anything else becomes `/` (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(char) < 32 for char in value):
        return "/"
    return value


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """Renders the shells; `reader` finds the session's user (engineer A's sessions)."""

    def __init__(self, reader: SessionReader) -> None:
        self.reader = reader
        self.templates = Jinja2Templates(env=_environment())
        self.event_classes = tuple(sorted(short_name(cls) for cls in EVENT_CLASSES))

    def render(
        self,
        request: Request,
        page: str,
        title: str,
        *,
        user: PageUser | None,
        data: dict[str, str] | None = None,
        error: str = "",
    ) -> Response:
        """The page's template with the navigation, the user and `data-*` values for its script."""
        context = {
            "page": page,
            "title": title,
            "user": user,
            "nav": NAV,
            "data": data or {},
            "event_classes": self.event_classes,
            "error": error,
        }
        response = self.templates.TemplateResponse(request, f"{page}.html", context)
        response.headers.update(SECURITY_HEADERS)
        return response

    def shell(
        self, request: Request, page: str, title: str, data: dict[str, str] | None = None
    ) -> Response:
        """The page for a signed-in user, or a redirect to sign-in that comes back here."""
        user = self.reader(request)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return self.render(request, page, title, user=user, data=data)


def page_router(reader: SessionReader) -> APIRouter:
    """The HTML routes; left out of the OpenAPI document, which describes the API only."""
    pages = Pages(reader)
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    @router.get("/login")
    def login(
        request: Request,
        next_page: str | None = Query(None, alias="next"),
        oidc_error: str | None = Query(None),
        signed_in: str | None = Query(None),
    ) -> Response:
        target = safe_next(next_page)
        if reader(request) is not None:
            return RedirectResponse(target, status_code=303)
        data = {"next": target, "signed-in": "oidc" if signed_in == "oidc" else ""}
        error = SIGN_IN_REFUSALS.get(oidc_error or "", "")
        return pages.render(request, "login", "Sign in", user=None, data=data, error=error)

    @router.get("/")
    def estate(request: Request) -> Response:
        return pages.shell(request, "estate", "Estate")

    @router.get("/queue")
    def queue(request: Request) -> Response:
        return pages.shell(request, "queue", "Incidents")

    @router.get("/incidents/{uid}")
    def incident(request: Request, uid: str) -> Response:
        return pages.shell(request, "incident", "Incident", {"incident": uid})

    @router.get("/approvals")
    def approvals(request: Request) -> Response:
        return pages.shell(request, "approvals", "Approvals")

    @router.get("/hunt")
    def hunt(request: Request) -> Response:
        return pages.shell(request, "hunt", "Hunt")

    @router.get("/detections")
    def detections(request: Request) -> Response:
        return pages.shell(request, "detections", "Detections")

    @router.get("/stores/{uid}")
    def store(request: Request, uid: str) -> Response:
        return pages.shell(request, "store", "Store", {"store": uid})

    @router.get("/health")
    def health(request: Request) -> Response:
        return pages.shell(request, "health", "Health")

    return router
