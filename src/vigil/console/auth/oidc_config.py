"""OIDC sign-in settings: the `oidc` section of `console.yaml` in the data folder.

    version: 1
    oidc:
      name: Contoso SSO                       # "Sign in with Contoso SSO"
      issuer: https://sso.contoso.example/realms/retail
      client_id: vigil-console
      client_secret_env: VIGIL_OIDC_SECRET    # or client_secret_file (a confidential client)
      username_claim: preferred_username
      roles:                                  # the first rule that matches decides
        - {claim: groups, value: soc-admins, role: admin, scopes: ["*"]}
        - {claim: groups, value: soc-analysts, role: analyst, scopes: ["region:west"]}
        - {claim: groups, value: store-managers, role: viewer, scopes_claim: stores}

Someone whose claims match no rule is refused: an account at the provider is
not by itself a reason to see the estate. The secret is read at start-up from
the environment or a file, never written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from vigil.console.auth.types import Role

CONSOLE_FILE = "console.yaml"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class OidcConfigError(Exception):
    """`console.yaml` is malformed, or the OIDC client secret it names cannot be read."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleRule(Model):
    """When a claim holds a value (a group, say), the user gets this role and scope."""

    claim: str = Field(default="groups", description="Claim to look in: a string or a list.")
    value: str = Field(description="The value the claim must hold (or contain), e.g. a group.")
    role: Role = Field(description="viewer, analyst, approver or admin.")
    scopes: list[str] = Field(
        default_factory=list, description="Store uids, region:<uid> entries, or * for all."
    )
    scopes_claim: str | None = Field(
        default=None,
        description="A claim whose values are scope entries too (the stores a manager runs).",
    )

    @model_validator(mode="after")
    def _needs_a_scope(self) -> RoleRule:
        if not self.scopes and self.scopes_claim is None:
            raise ValueError("a rule needs `scopes`, `scopes_claim` or both")
        return self

    def matches(self, claims: Mapping[str, object]) -> bool:
        return self.value in _values(claims.get(self.claim))

    def scope_entries(self, claims: Mapping[str, object]) -> list[str]:
        extra = [] if self.scopes_claim is None else _values(claims.get(self.scopes_claim))
        return [*self.scopes, *extra]


class OidcConfig(Model):
    """One OpenID Connect provider people may sign in with, besides local accounts."""

    name: str = Field(min_length=1, max_length=60, description="Shown as 'Sign in with <name>'.")
    issuer: str = Field(
        description="Issuer URL; its /.well-known/openid-configuration is read (https, or http "
        "on loopback only)."
    )
    client_id: str = Field(min_length=1, description="This console's client id at the provider.")
    client_secret_env: str | None = Field(
        default=None, description="Environment variable holding the client secret."
    )
    client_secret_file: str | None = Field(
        default=None,
        description="File holding the client secret, relative to the data folder (give this "
        "or client_secret_env).",
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="Scopes asked for; must include openid.",
    )
    username_claim: str = Field(
        default="preferred_username", description="Claim that gives the Vigil user name."
    )
    roles: list[RoleRule] = Field(
        min_length=1, description="Claim rules to roles and scopes; the first match decides."
    )
    redirect_uri: str | None = Field(
        default=None,
        description="Callback URL registered at the provider; empty: this console's own "
        "address + /api/auth/oidc/callback.",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=60, description="HTTP timeout per call.")

    @model_validator(mode="after")
    def _checks(self) -> OidcConfig:
        _require_secure_url("issuer", self.issuer)
        if self.redirect_uri is not None:
            _require_secure_url("redirect_uri", self.redirect_uri)
        if "openid" not in self.scopes:
            raise ValueError("scopes must include openid")
        if bool(self.client_secret_env) == bool(self.client_secret_file):
            raise ValueError("give one of client_secret_env and client_secret_file")
        return self

    def grant(self, claims: Mapping[str, object]) -> Grant | None:
        """The role and scope entries of the first matching rule; None when none matches."""
        for rule in self.roles:
            if rule.matches(claims):
                return Grant(rule.role, tuple(rule.scope_entries(claims)))
        return None

    def client_secret(self, data: Path, environ: Mapping[str, str]) -> str:
        """The client secret, from the environment or the file (read at start-up)."""
        if self.client_secret_env:
            secret = environ.get(self.client_secret_env, "")
            if not secret:
                raise OidcConfigError(f"{self.client_secret_env} is not set (OIDC client secret)")
            return secret
        path = data / str(self.client_secret_file)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise OidcConfigError(f"{path}: {error.strerror}") from error
        if not secret:
            raise OidcConfigError(f"{path} is empty (OIDC client secret)")
        return secret


@dataclass(frozen=True)
class Grant:
    """What a rule gives someone: a role and scope entries (resolved against the estate later)."""

    role: Role
    scopes: tuple[str, ...]


class ConsoleFile(Model):
    """`console.yaml`: settings of the console that belong with the data folder."""

    version: Literal[1] = Field(default=1, description="Format version of this file.")
    oidc: OidcConfig | None = Field(default=None, description="OIDC sign-in; none: local only.")


def load_oidc_config(data: Path) -> OidcConfig | None:
    """The `oidc` section of `console.yaml` in a data folder (None without file or section)."""
    path = data / CONSOLE_FILE
    if not path.exists():
        return None
    try:
        raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return ConsoleFile.model_validate(raw or {}).oidc
    except YAMLError as error:
        raise OidcConfigError(f"{path}: malformed YAML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise OidcConfigError(f"{path}: {problems}") from error


def _values(claim: object) -> list[str]:
    """A claim as a list of strings: a string is one value, a list its string items."""
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, list):
        return [item for item in claim if isinstance(item, str)]
    return []


def _require_secure_url(field: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ValueError(f"{field} must be an https URL (http only on loopback): {url!r}")
