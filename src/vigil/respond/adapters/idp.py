"""Forced password change, in each identity provider's own API.

SCIM 2.0 has no standard operation for "must change the password at the next
sign-in" (RFC 7643 only defines a write-only `password` attribute), so this is
done per provider:

- Okta: `POST {org}/api/v1/users/{id or login}/lifecycle/expire_password`, with an
  API token (`Authorization: SSWS ...`); the user's status becomes
  PASSWORD_EXPIRED. Okta has no call that un-expires a password.
- Microsoft Entra ID: `PATCH https://graph.microsoft.com/v1.0/users/{id or UPN}`
  with `{"passwordProfile": {"forceChangePasswordNextSignIn": true}}` and an
  OAuth bearer token (needs User-PasswordProfile.ReadWrite.All or similar).
- Anything else: a generic JSON webhook to the provider's automation endpoint.

All three are idempotent: expiring an expired password changes nothing.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from vigil.respond.adapters.http import HttpSender
from vigil.respond.backends import UserRef
from vigil.respond.errors import PermanentError

GRAPH = "https://graph.microsoft.com/v1.0"


def _who(user: UserRef) -> str:
    found = user.user_id or user.user_name
    if not found:
        raise PermanentError("a user id or user name is needed")
    return quote(found, safe="@.")


class OktaPasswordResetter:
    def __init__(self, org_url: str, token: str, sender: HttpSender | None = None) -> None:
        self.org_url = org_url.rstrip("/")
        self.sender = sender or HttpSender()
        self._headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}

    def force_reset(self, user: UserRef, limit: float) -> str:
        url = f"{self.org_url}/api/v1/users/{_who(user)}/lifecycle/expire_password"
        response = self.sender.send("POST", url, headers=self._headers, limit=limit)
        return f"Okta expired the password (HTTP {response.status_code})"

    def close(self) -> None:
        self.sender.close()


class EntraPasswordResetter:
    def __init__(
        self, token: str, graph_url: str = GRAPH, sender: HttpSender | None = None
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self.sender = sender or HttpSender()
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def force_reset(self, user: UserRef, limit: float) -> str:
        body = json.dumps({"passwordProfile": {"forceChangePasswordNextSignIn": True}}).encode()
        url = f"{self.graph_url}/users/{_who(user)}"
        response = self.sender.send("PATCH", url, content=body, headers=self._headers, limit=limit)
        return f"Entra ID set forceChangePasswordNextSignIn (HTTP {response.status_code})"

    def close(self) -> None:
        self.sender.close()


class WebhookPasswordResetter:
    """POSTs `{"action": "force_password_reset", "user_id": ..., "user_name": ...}`."""

    def __init__(
        self, url: str, token: str | None = None, sender: HttpSender | None = None
    ) -> None:
        self.url = url
        self.sender = sender or HttpSender()
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def force_reset(self, user: UserRef, limit: float) -> str:
        body = json.dumps(
            {"action": "force_password_reset", "user_id": user.user_id, "user_name": user.user_name}
        ).encode()
        response = self.sender.send(
            "POST", self.url, content=body, headers=self._headers, limit=limit
        )
        return f"webhook accepted (HTTP {response.status_code})"

    def close(self) -> None:
        self.sender.close()
