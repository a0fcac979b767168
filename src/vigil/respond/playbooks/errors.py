"""Errors of playbooks, runs, approvals and response modes; all are `RespondError`s.

A broken playbook says where it is (`file:line: message`); `PlaybookLintError`
carries every problem of a set at once, so one lint run shows them all. A
refused approval says why in its class (separation of duties, scope, role,
closed), so callers never read the message to decide what happened.
"""

from __future__ import annotations

from vigil.respond.errors import RespondError


class PlaybookError(RespondError):
    """A playbook that cannot be loaded, with where it is: `file:line: message`."""

    def __init__(self, message: str, file: str = "<playbook>", line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class PlaybookLintError(RespondError):
    """Every broken playbook of a set, so one run shows them all."""

    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


class TemplateError(RespondError):
    """A `{{ ... }}` placeholder that names nothing known, or a value the incident lacks."""


class UnknownPlaybookError(RespondError):
    """No loaded playbook has that id."""


class RunError(RespondError):
    """A playbook run that cannot be started or advanced."""


class UnknownRunError(RunError):
    """No stored run with that uid."""


class SettingsError(RespondError):
    """The response settings file (`respond.yaml`) is malformed or invalid."""


class ModeError(RespondError):
    """A response mode for a scope that is neither a known store nor a known region."""


class ApprovalError(RespondError):
    """A decision on an approval request that is not accepted."""


class UnknownApprovalError(ApprovalError):
    """No approval request with that id (or a prefix matching none, or several)."""


class ApprovalClosedError(ApprovalError):
    """The request was already decided, or it expired."""


class SeparationOfDutiesError(ApprovalError):
    """The person who asked for the action cannot approve it."""


class NotAnApproverError(ApprovalError):
    """The person is not configured as an approver, or lacks the role the request needs."""


class OutOfScopeError(ApprovalError):
    """The approver's store scope does not cover every store of the incident."""


class MissingReasonError(ApprovalError):
    """A decision without a reason: the audit trail must say why."""


class DuplicateDecisionError(ApprovalError):
    """The approver has already decided on this request; quorum counts people, not votes."""
