"""OpenID Connect sign-in: the Authorization Code flow with PKCE, `state` and `nonce`.

`start` remembers a pending sign-in under its `state`, bound to a random value the
browser keeps in a cookie, and returns the provider's authorize URL. `finish` takes
the provider's callback: the state must be pending and bound to the same browser,
the code is exchanged (with the PKCE verifier) for an ID token, and the token must
carry a valid signature by one of the issuer's published keys (RS256 or ES256 only)
and the right `iss`, `aud`, `exp`, `iat` and `nonce`. The provider's metadata come
from its discovery document; its keys are fetched again when a token names an
unknown key id (key rotation).

Pending sign-ins live in this process (one console process serves a data folder);
each is used once and forgotten after ten minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from vigil.console.auth.oidc_config import OidcConfig
from vigil.console.auth.types import OidcIdentity, OidcRefusal, OidcRefusedError

ALGORITHMS = ("RS256", "ES256")
PENDING_LIFETIME = timedelta(minutes=10)
MAX_PENDING = 10_000
"""Sign-ins started and not finished that are kept; past this the oldest are dropped."""
LEEWAY_S = 60
"""Clock skew allowed between this console and the provider, in seconds."""


@dataclass(frozen=True)
class Provider:
    """What the discovery document says about the provider (the parts the flow needs)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


@dataclass(frozen=True)
class Started:
    """A sign-in under way: where to send the browser, and the value its cookie must keep."""

    url: str
    browser: str


@dataclass(frozen=True)
class Pending:
    """A started sign-in, under its state: what the callback and token checks need."""

    nonce: str
    verifier: str
    browser_hash: str
    redirect_uri: str
    next_page: str
    started: datetime


@dataclass(frozen=True)
class Finished:
    """A verified identity and the page the person wanted."""

    identity: OidcIdentity
    next_page: str


class OidcClient:
    """This console as a relying party of one provider."""

    def __init__(
        self,
        config: OidcConfig,
        secret: str,
        clock: Callable[[], datetime],
        http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.secret = secret
        self.clock = clock
        self.http = http or httpx.Client(timeout=config.timeout_s, follow_redirects=False)
        self._provider: Provider | None = None
        self._keys: KeySet | None = None
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._lock = threading.Lock()

    # -- the two legs of the flow ------------------------------------------------------

    def start(self, redirect_uri: str, next_page: str) -> Started:
        """A new pending sign-in and the provider's authorize URL for it."""
        provider = self.provider()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier, browser = secrets.token_urlsafe(48), secrets.token_urlsafe(32)
        pending = Pending(nonce, verifier, _digest(browser), redirect_uri, next_page, self.clock())
        with self._lock:
            self._forget_old()
            self._pending[state] = pending
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.config.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": _challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in provider.authorization_endpoint else "?"
        return Started(f"{provider.authorization_endpoint}{separator}{query}", browser)

    def finish(self, state: str, code: str, browser: str | None) -> Finished:
        """Check the callback against its pending sign-in and return the verified identity."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or self.clock() - pending.started > PENDING_LIFETIME:
            raise OidcRefusedError(OidcRefusal.STATE, "no pending sign-in has this state")
        if browser is None or not hmac.compare_digest(_digest(browser), pending.browser_hash):
            raise OidcRefusedError(OidcRefusal.STATE, "the sign-in was started in another browser")
        tokens = self._exchange(code, pending)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefusedError(OidcRefusal.PROVIDER, "the token response has no id_token")
        claims = self.verify_id_token(id_token, pending.nonce)
        access_token = tokens.get("access_token")
        if isinstance(access_token, str):
            claims = {**self._userinfo(access_token, str(claims["sub"])), **claims}
        username = claims.get(self.config.username_claim)
        if not isinstance(username, str) or not username:
            raise OidcRefusedError(
                OidcRefusal.ACCOUNT, f"the provider sent no {self.config.username_claim!r} claim"
            )
        identity = OidcIdentity(str(claims["iss"]), str(claims["sub"]), username, claims)
        return Finished(identity, pending.next_page)

    def verify_id_token(self, token: str, nonce: str) -> dict[str, object]:
        """The claims of an ID token whose signature, issuer, audience, times and nonce hold."""
        try:
            try:
                decoded = jwt.decode(token, self.keys(), algorithms=list(ALGORITHMS))
            except InvalidKeyIdError:
                decoded = jwt.decode(token, self.keys(refresh=True), algorithms=list(ALGORITHMS))
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self.clock().timestamp()),
                leeway=LEEWAY_S,
                iss={"essential": True, "value": self.provider().issuer},
                aud={"essential": True, "value": self.config.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise OidcRefusedError(OidcRefusal.UNVERIFIED, f"ID token refused: {error}") from error
        claims: dict[str, object] = dict(decoded.claims)
        audience = claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.config.client_id:
            raise OidcRefusedError(OidcRefusal.UNVERIFIED, "ID token for several audiences, no azp")
        return claims

    # -- the provider ------------------------------------------------------------------

    def provider(self) -> Provider:
        """The provider's endpoints from its discovery document (read once, then kept)."""
        if self._provider is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = self._get_json(url)
            if document.get("issuer") != self.config.issuer:
                raise OidcRefusedError(
                    OidcRefusal.PROVIDER,
                    f"the discovery document names issuer {document.get('issuer')!r}, "
                    f"not {self.config.issuer!r}",
                )
            try:
                self._provider = Provider(
                    issuer=str(document["issuer"]),
                    authorization_endpoint=str(document["authorization_endpoint"]),
                    token_endpoint=str(document["token_endpoint"]),
                    jwks_uri=str(document["jwks_uri"]),
                    userinfo_endpoint=_optional_str(document.get("userinfo_endpoint")),
                )
            except KeyError as error:
                raise OidcRefusedError(
                    OidcRefusal.PROVIDER, f"the discovery document lacks {error}"
                ) from error
        return self._provider

    def keys(self, refresh: bool = False) -> KeySet:
        """The issuer's signing keys (its JWKS), fetched again when `refresh`."""
        if self._keys is None or refresh:
            document = self._get_json(self.provider().jwks_uri)
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as error:
                raise OidcRefusedError(OidcRefusal.PROVIDER, f"unusable JWKS: {error}") from error
        return self._keys

    def _exchange(self, code: str, pending: Pending) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
        }
        # client_secret_basic: both parts form-encoded first (RFC 6749, 2.3.1)
        auth = httpx.BasicAuth(quote(self.config.client_id, safe=""), quote(self.secret, safe=""))
        try:
            response = self.http.post(
                self.provider().token_endpoint,
                data=form,
                auth=auth,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise OidcRefusedError(OidcRefusal.PROVIDER, f"token endpoint: {error}") from error
        if response.status_code != 200:
            raise OidcRefusedError(
                OidcRefusal.PROVIDER, f"token endpoint answered {response.status_code}"
            )
        return _json_object(response)

    def _userinfo(self, access_token: str, subject: str) -> dict[str, object]:
        """Claims from the userinfo endpoint (none if it has none); its `sub` must match."""
        url = self.provider().userinfo_endpoint
        if url is None:
            return {}
        try:
            response = self.http.get(url, headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError as error:
            raise OidcRefusedError(OidcRefusal.PROVIDER, f"userinfo: {error}") from error
        if response.status_code != 200:
            return {}
        claims = _json_object(response)
        if claims.get("sub") != subject:
            raise OidcRefusedError(OidcRefusal.UNVERIFIED, "userinfo is about another subject")
        return claims

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise OidcRefusedError(OidcRefusal.PROVIDER, f"{url}: {error}") from error
        if response.status_code != 200:
            raise OidcRefusedError(OidcRefusal.PROVIDER, f"{url} answered {response.status_code}")
        return _json_object(response)

    def _forget_old(self) -> None:
        """Drop expired pending sign-ins, and the oldest ones past `MAX_PENDING` (lock held)."""
        limit = self.clock() - PENDING_LIFETIME
        while self._pending and (
            len(self._pending) >= MAX_PENDING or next(iter(self._pending.values())).started < limit
        ):
            self._pending.popitem(last=False)

    def close(self) -> None:
        self.http.close()


def _challenge(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636, 4.2)."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError as error:
        raise OidcRefusedError(OidcRefusal.PROVIDER, f"{response.url}: not JSON") from error
    if not isinstance(document, dict):
        raise OidcRefusedError(OidcRefusal.PROVIDER, f"{response.url}: not a JSON object")
    return document


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
