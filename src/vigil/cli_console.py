"""`vigil console ...`: serve the web console, create accounts, write the OpenAPI document."""

from __future__ import annotations

import getpass
import ipaddress
import json
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_support import fail, out
from vigil.console.app import build_api, create_app
from vigil.console.auth.types import AuthError, Role
from vigil.console.errors import ConsoleError
from vigil.console.settings import ConsoleSettings
from vigil.console.state import Console, ConsoleSetupError
from vigil.store.errors import StoreError

app = typer.Typer(help="The web console: serve it, create accounts.", no_args_is_help=True)

DataDir = Annotated[
    Path, typer.Option("--data", "-d", help="Data folder.", envvar="VIGIL_DATA", show_default=True)
]
LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    """Whether the console only listens on this machine (http is then acceptable)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def openapi_text() -> str:
    """The OpenAPI document of the API, as committed at docs/openapi.json."""
    return json.dumps(build_api().openapi(), indent=2, ensure_ascii=False) + "\n"


@app.command("serve")
def serve(
    data: DataDir = Path("vigil-data"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--insecure-cookies",
            help="Secure session cookie (default: on, except when listening on loopback).",
        ),
    ] = None,
) -> None:
    """Serve the console with uvicorn (behind TLS unless it listens on loopback)."""
    import uvicorn

    secure = not is_loopback(host) if secure_cookies is None else secure_cookies
    try:
        console_app = create_app(ConsoleSettings(data=data, allow_http=not secure))
    except (ConsoleSetupError, StoreError) as error:
        raise fail(str(error)) from error
    out.print(f"Vigil console on http://{host}:{port} (data {data})")
    uvicorn.run(console_app, host=host, port=port, log_level="info", proxy_headers=False)


@app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role, typer.Option(help="viewer, analyst, approver or admin.")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help="Store uid, region:<uid>, or * (repeatable).")
    ],
    data: DataDir = Path("vigil-data"),
) -> None:
    """Create an account; its generated password is printed this once."""
    try:
        console = Console(ConsoleSettings(data=data))
    except (ConsoleSetupError, StoreError) as error:
        raise fail(str(error)) from error
    try:
        user, password = console.accounts.create_user(
            name, None, role, scope, f"cli {getpass.getuser()}"
        )
    except (AuthError, ConsoleError) as error:
        raise fail(str(error)) from error
    finally:
        console.close()
    out.print(f"Created {user.username} ({user.role}, scope {', '.join(user.scopes)}).")
    out.print(f"Password (shown once): {password}", highlight=False, markup=False)


@app.command("openapi")
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write here instead of printing.")] = None,
) -> None:
    """The OpenAPI document of the console API (commit it at docs/openapi.json)."""
    text = openapi_text()
    if output is None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}")
