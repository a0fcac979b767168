"""Errors raised by the event model."""


class EventError(Exception):
    """Base class for every error of `vigil.events`."""


class UnknownEventClassError(EventError):
    """A class name or class_uid that no registered event class answers to."""


class SchemaMismatchError(EventError):
    """A columnar batch whose columns do not fit its event class."""


class InvalidEventError(EventError):
    """An event that does not validate against its class.

    `index` is the position of the event in its batch or file, when known.
    """

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index
