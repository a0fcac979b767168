"""Errors of `vigil.respond`: one base class, one subclass per way a response can fail.

Adapter failures say whether trying again can help, so the retry loop decides on
the class, never on the message: a `TransientError` (connection refused, 5xx,
429) is retried; an `AmbiguousError` (timed out after the request went out) is
retried only for actions that are safe to repeat; a `PermanentError` (4xx, a
rule the gateway refuses) and a `ConfigError` are not retried.
"""

from __future__ import annotations

from vigil.respond.types import FailureKind


class RespondError(Exception):
    """Base class for every error of `vigil.respond`."""


class ParamsError(RespondError, ValueError):
    """Parameters that do not fit the action's parameter model."""


class ConfigError(RespondError):
    """A backend, channel, gateway or secret that the action needs is not configured."""


class RepeatRefusedError(RespondError):
    """A step that must not run twice was asked to run again with the same key."""


class RollbackError(RespondError):
    """A rollback that cannot be made: nothing to undo, or an unknown inverse."""


class RecordError(RespondError):
    """A stored action result that cannot be read back."""


class AdapterError(RespondError):
    """An adapter call failed; `kind` tells the retry loop what to do."""

    kind: FailureKind = FailureKind.PERMANENT


class TransientError(AdapterError):
    """Failed before anything changed (refused, unreachable, 5xx, 429): try again."""

    kind = FailureKind.TRANSIENT


class AmbiguousError(AdapterError):
    """The outcome is unknown (timed out after sending): repeat only if repeatable."""

    kind = FailureKind.AMBIGUOUS


class PermanentError(AdapterError):
    """Refused for good (4xx, bad rule, unknown user): trying again cannot help."""

    kind = FailureKind.PERMANENT
