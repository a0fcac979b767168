"""A real OpenID provider for tests: oidc-provider-mock (built on authlib) served on loopback.

It publishes its discovery document and JWKS, shows an authorize form, issues codes
and RS256-signed ID tokens, and lets a test set a subject's claims with
`PUT /users/<sub>` (see `set_claims`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import werkzeug.serving

with warnings.catch_warnings():  # the provider imports authlib.jose, which warns of its age
    import authlib.deprecate  # turns its warnings on, so the filter below goes after it

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import oidc_provider_mock

PROVIDER_WARNINGS = "ignore:get_jwt_config.*is deprecated:DeprecationWarning"
"""For `pytest.mark.filterwarnings`: the provider calls an authlib hook that authlib now calls
old, in the provider's thread (where pytest's warnings-as-errors would answer 500)."""


@contextmanager
def running_provider(
    host: str = "127.0.0.1", token_lifetime: timedelta = timedelta(hours=1)
) -> Iterator[str]:
    """A provider on a free port of `host` (nonce required, like real ones); yields its issuer.

    Its issuer is the URL it is reached at, so reach it by the name given here.
    """
    app = oidc_provider_mock.app(require_nonce=True, access_token_max_age=token_lifetime)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def set_claims(issuer: str, sub: str, **claims: object) -> None:
    """Give a subject its claims at the provider (the ID token and userinfo carry them)."""
    response = httpx.put(f"{issuer}/users/{sub}", json=claims)
    response.raise_for_status()
