"""SCIM 2.0 directory: find a user, set `active` with PATCH (RFC 7643, RFC 7644).

    PATCH {base}/Users/{id}
    Content-Type: application/scim+json
    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{"op": "replace", "path": "active", "value": false}]}

Setting `active` is idempotent, so a retried or repeated PATCH is harmless. Some
service providers only take the path-less form that Microsoft Entra ID sends as
a SCIM client (`{"op": "replace", "value": {"active": false}}`); choose it with
`patch_style="value"`. A user given by name is found with the filter
`userName eq "..."` (section 3.4.2.2); more or fewer than one match is an error.

The bearer token comes from the caller (read from the environment at start-up by
`vigil.respond.adapters.config`) and is only ever sent in the Authorization header.
"""

from __future__ import annotations

import json
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil.respond.adapters.http import HttpSender
from vigil.respond.backends import DirectoryUser, UserRef
from vigil.respond.errors import PermanentError

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"


class ScimUser(BaseModel):
    """The part of a SCIM User resource that Vigil reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    user_name: str = Field(alias="userName")
    active: bool = True


class ScimList(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    total_results: int = Field(alias="totalResults")
    resources: list[ScimUser] = Field(default_factory=list, alias="Resources")


def filter_value(text: str) -> str:
    """A SCIM filter string literal (JSON string rules: quotes and backslashes escaped)."""
    return json.dumps(text)


class ScimDirectory:
    """A SCIM 2.0 service provider's `/Users` endpoint."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        patch_style: Literal["path", "value"] = "path",
        sender: HttpSender | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.patch_style = patch_style
        self.sender = sender or HttpSender()
        self._headers = {"Accept": SCIM_JSON, "Content-Type": SCIM_JSON}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def find(self, user: UserRef, limit: float) -> DirectoryUser:
        if user.user_id is not None:
            response = self.sender.send(
                "GET", self._user_url(user.user_id), headers=self._headers, limit=limit
            )
            return _user(response.content)
        found = self.sender.send(
            "GET",
            f"{self.base_url}/Users",
            params={"filter": f"userName eq {filter_value(user.user_name or '')}"},
            headers=self._headers,
            limit=limit,
        )
        try:
            listed = ScimList.model_validate_json(found.content)
        except ValidationError as error:
            raise PermanentError(f"not a SCIM list response: {error}") from None
        if len(listed.resources) != 1:
            raise PermanentError(f"{listed.total_results} SCIM users are named {user.user_name!r}")
        return _directory_user(listed.resources[0])

    def set_active(self, user_id: str, active: bool, limit: float) -> DirectoryUser:
        if self.patch_style == "path":
            operation: dict[str, object] = {"op": "replace", "path": "active", "value": active}
        else:
            operation = {"op": "replace", "value": {"active": active}}
        body = json.dumps({"schemas": [PATCH_OP], "Operations": [operation]}).encode()
        response = self.sender.send(
            "PATCH", self._user_url(user_id), content=body, headers=self._headers, limit=limit
        )
        if response.status_code == 204 or not response.content:
            return self.find(UserRef(user_id=user_id), limit)
        return _user(response.content)

    def close(self) -> None:
        self.sender.close()

    def _user_url(self, user_id: str) -> str:
        return f"{self.base_url}/Users/{quote(user_id, safe='')}"


def _user(content: bytes) -> DirectoryUser:
    try:
        return _directory_user(ScimUser.model_validate_json(content))
    except ValidationError as error:
        raise PermanentError(f"not a SCIM User resource: {error}") from None


def _directory_user(user: ScimUser) -> DirectoryUser:
    return DirectoryUser(user_id=user.id, user_name=user.user_name, active=user.active)
