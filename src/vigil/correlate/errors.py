"""Errors raised by correlation: bad configuration, unknown incidents, broken bundles."""

from __future__ import annotations


class CorrelateError(Exception):
    """Base class for every error of `vigil.correlate`."""


class CorrelateConfigError(CorrelateError):
    """A correlation setting that cannot work (an unknown entity kind, a negative window)."""


class UnknownIncidentError(CorrelateError):
    """No incident with that uid (or a prefix matching none, or several)."""


class IncidentStateError(CorrelateError):
    """A status change the incident's life cycle does not allow (reopening a merged one)."""


class BundleError(CorrelateError):
    """An evidence bundle that cannot be written or read."""


class BundleTamperedError(BundleError):
    """A bundle whose files no longer match their manifest or custody record."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("evidence bundle does not verify:\n" + "\n".join(problems))


class TimelineError(CorrelateError):
    """The event lake could not be read for an incident's timeline."""
