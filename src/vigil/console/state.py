"""One console's open resources: the database, the lake, the estate, accounts, the responder.

Made once by `create_app` and kept on `app.state.console`; routers reach it
through `deps.console_of`.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime

from vigil.config import ConfigError, load_settings
from vigil.console.auth.oidc import OidcClient
from vigil.console.auth.oidc_config import OidcConfigError, load_oidc_config
from vigil.console.auth.passwords import Passwords
from vigil.console.auth.service import Accounts
from vigil.console.auth.throttle import LoginThrottle
from vigil.console.auth.tokens import Tokens
from vigil.console.lakeread import SharedLake
from vigil.console.settings import ConsoleSettings
from vigil.estate import Estate, EstateFileError, load_estate
from vigil.respond.adapters.config import build_backends
from vigil.respond.build import build_responder
from vigil.respond.playbooks.engine import Responder
from vigil.respond.settings import ResponseSettings, load_response_settings
from vigil.store.database import Database
from vigil.store.lake import Lake


class ConsoleSetupError(Exception):
    """The data folder cannot be served: no configuration, a broken estate, no database."""


class Console:
    """What the routers share for the life of the app."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        try:
            config = load_settings(settings.data)
            self.estate: Estate | None = (
                load_estate(config.estate_path) if config.estate_path.exists() else None
            )
            oidc = settings.oidc or load_oidc_config(settings.data)
            secret = "" if oidc is None else oidc.client_secret(settings.data, os.environ)
        except (ConfigError, EstateFileError, OidcConfigError) as error:
            raise ConsoleSetupError(str(error)) from error
        self.database = Database.open(config.database_url)
        self.lake = Lake(config.lake_path)
        self.shared_lake = SharedLake(self.lake)
        self.accounts = Accounts(
            self.database,
            self.estate,
            settings.clock,
            settings.session_lifetime,
            LoginThrottle(settings.login_attempts, settings.login_window, settings.clock),
            Passwords(settings.password_cost),
        )
        self.tokens = Tokens(self.database, self.estate, settings.clock)
        self.oidc = None if oidc is None else OidcClient(oidc, secret, settings.clock)
        """OIDC sign-in (`console.yaml`'s `oidc` section), None when only local accounts."""
        self.cache: dict[str, tuple[datetime, object]] = {}
        """Short-lived results (store health) by key, with when they were made."""
        self.polls: dict[str, tuple[float, object]] = {}
        """Results concurrent requests share (the stream's poll), stamped with time.monotonic()."""
        self.polls_lock = threading.Lock()

    def now(self) -> datetime:
        return self.settings.clock()

    def response_settings(self) -> ResponseSettings:
        return load_response_settings(self.settings.data)

    def responder(self) -> Responder:
        """The playbook engine, as `vigil respond` builds it (respond.yaml, the pack, adapters).

        Raises the response stage's own errors (a broken respond.yaml or playbook).
        """
        settings = self.response_settings()
        if self.settings.backends is not None:
            backends = self.settings.backends(settings)
        else:
            backends = build_backends(settings.backends, os.environ)
        return build_responder(
            self.database,
            settings,
            self.settings.data,
            self.estate,
            backends,
            clock=self.settings.clock,
        )

    def close(self) -> None:
        self.shared_lake.close()
        if self.oidc is not None:
            self.oidc.close()
        self.database.close()
