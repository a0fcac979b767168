"""Identity containment: disable a user (SCIM 2.0), force a password change.

`disable_user` is SCIM `PATCH active=false` (RFC 7644, section 3.5.2); its
inverse sets `active=true` again, and only if this execution was the one that
disabled the user. A user who was already disabled stays disabled on rollback.

SCIM has no standard operation for "change your password at next sign-in", so
`force_password_reset` goes through `PasswordResetter`, whose adapters speak each
identity provider's own API (Okta's `lifecycle/expire_password`, Microsoft Graph's
`passwordProfile.forceChangePasswordNextSignIn`, or a generic webhook); see
`vigil.respond.adapters.idp`.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from vigil.respond.actions import Action, Applied, ExecutionContext, actions
from vigil.respond.backends import UserRef
from vigil.respond.types import ActionParams, Change, RiskLevel


class UserParams(ActionParams):
    """A user by SCIM id or by user name; exactly one of the two."""

    user_id: str | None = Field(default=None, min_length=1, description="SCIM resource id.")
    user_name: str | None = Field(
        default=None, min_length=1, description="SCIM userName (looked up with a filter)."
    )

    @model_validator(mode="after")
    def _one_of(self) -> UserParams:
        if (self.user_id is None) == (self.user_name is None):
            raise ValueError("give exactly one of user_id and user_name")
        return self

    def ref(self) -> UserRef:
        return UserRef(user_id=self.user_id, user_name=self.user_name)


class DisableUserParams(UserParams):
    reason: str = Field(default="", max_length=500, description="Why, for the audit trail.")


class EnableUserParams(UserParams):
    pass


class ForcePasswordResetParams(UserParams):
    reason: str = Field(default="", max_length=500, description="Why, for the audit trail.")


@actions.register("disable_user")
class DisableUser(Action[DisableUserParams]):
    name = "disable_user"
    params_model = DisableUserParams
    risk = RiskLevel.HIGH
    blast_radius = "One account can no longer sign in anywhere the identity provider reaches."
    repeatable = True
    inverse = "enable_user"

    def apply(self, params: DisableUserParams, context: ExecutionContext, limit: float) -> Applied:
        directory = context.backends.need_directory()
        user = directory.find(params.ref(), limit)
        if not user.active:
            return Applied(detail=f"{user.user_name} was already disabled")
        directory.set_active(user.user_id, False, limit)
        return Applied(
            detail=f"disabled {user.user_name}",
            changes=(
                Change(target=f"user {user.user_name} ({user.user_id})", effect="active=false"),
            ),
            undo=EnableUserParams(user_id=user.user_id),
        )


@actions.register("enable_user")
class EnableUser(Action[EnableUserParams]):
    name = "enable_user"
    params_model = EnableUserParams
    risk = RiskLevel.MEDIUM
    blast_radius = "One account can sign in again."
    repeatable = True
    undoes = "disable_user"

    def apply(self, params: EnableUserParams, context: ExecutionContext, limit: float) -> Applied:
        directory = context.backends.need_directory()
        user = directory.find(params.ref(), limit)
        directory.set_active(user.user_id, True, limit)
        return Applied(
            detail=f"enabled {user.user_name}",
            changes=(
                Change(target=f"user {user.user_name} ({user.user_id})", effect="active=true"),
            ),
        )


@actions.register("force_password_reset")
class ForcePasswordReset(Action[ForcePasswordResetParams]):
    name = "force_password_reset"
    params_model = ForcePasswordResetParams
    risk = RiskLevel.MEDIUM
    blast_radius = "One user must choose a new password at the next sign-in."
    repeatable = True
    irreversible = "an expired password stays expired until the user changes it"

    def apply(
        self, params: ForcePasswordResetParams, context: ExecutionContext, limit: float
    ) -> Applied:
        answer = context.backends.need_password_resetter().force_reset(params.ref(), limit)
        target = f"user {params.ref()}"
        return Applied(
            detail=f"password change forced for {params.ref()}: {answer}",
            changes=(Change(target=target, effect="must change password at next sign-in"),),
        )
