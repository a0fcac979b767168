"""API models of accounts, sessions and tokens."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.auth.types import Principal, Role, User


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetupRead(Model):
    needed: bool = Field(description="True while no account exists: the first-run form shows.")


class SetupCreate(Model):
    username: str = Field(description="The first admin's user name.")
    password: str = Field(description="At least 12 characters; stored only as an argon2 hash.")


class LoginCreate(Model):
    username: str = Field(description="User name.")
    password: str = Field(description="Password.")


class OidcRead(Model):
    enabled: bool = Field(description="Whether people may sign in with an OIDC provider.")
    name: str | None = Field(description="The provider's name, for 'Sign in with <name>'.")
    login_url: str | None = Field(
        description="Send the browser here (add ?next=<page>) to start the sign-in."
    )


class UserRead(Model):
    username: str = Field(description="User name.")
    roles: list[Role] = Field(description="The role and every role it includes, lowest first.")
    scopes: list[str] = Field(description="Store uids, region:<uid> entries, or * for all.")

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            username=user.username, roles=list(user.role.cumulative()), scopes=list(user.scopes)
        )


class MeRead(UserRead):
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on unsafe requests (null for API tokens)."
    )

    @classmethod
    def of_principal(cls, principal: Principal) -> MeRead:
        return cls(
            username=principal.name,
            roles=list(principal.role.cumulative()),
            scopes=list(principal.scope.entries),
            csrf_token=principal.csrf_token,
        )


class LoginRead(Model):
    user: UserRead = Field(description="Who signed in.")
    csrf_token: str = Field(description="Send as X-CSRF-Token on every unsafe request.")


class UserCreate(Model):
    username: str = Field(description="User name.")
    role: Role = Field(description="viewer, analyst, approver or admin.")
    scopes: list[str] = Field(min_length=1, description="Store uids, region:<uid>, or *.")


class UserCreated(Model):
    user: UserRead = Field(description="The new account.")
    password: str = Field(description="Generated; shown this once, never stored in clear.")


class TokenCreate(Model):
    name: str = Field(min_length=1, max_length=200, description="What the token is for.")
    role: Role = Field(default=Role.VIEWER, description="Its role (no more than yours).")
    scopes: list[str] = Field(min_length=1, description="Its scope (no wider than yours).")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Lifetime in days; none: until revoked."
    )


class TokenRead(Model):
    uid: str = Field(description="Token id.")
    name: str = Field(description="What it is for.")
    role: Role = Field(description="Its role.")
    scopes: list[str] = Field(description="Its scope.")
    token: str = Field(description="The secret: shown this once. Send as `Authorization: Bearer`.")
