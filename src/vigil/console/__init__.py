"""The console: the web application security and loss-prevention teams work in.

An API first (FastAPI, typed schemas, the OpenAPI document committed at
docs/openapi.json); the screens in `web/` use only that API. Local accounts
(argon2), server-side sessions with CSRF tokens, API tokens for machines; four
cumulative roles, each scoped to stores and regions.

    app = create_app(ConsoleSettings(data=Path("vigil-data")))
"""

from vigil.console.app import create_app
from vigil.console.settings import ConsoleSettings

__all__ = ["ConsoleSettings", "create_app"]
