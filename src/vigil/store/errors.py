"""Errors raised by the operational database and the event lake."""


class StoreError(Exception):
    """Base class for every error of `vigil.store`."""


class DatabaseUnavailableError(StoreError):
    """The operational database cannot be reached or opened."""


class AuditChainBrokenError(StoreError):
    """An audit entry whose hash does not follow from the one before it."""


class LakeError(StoreError):
    """The event lake could not be written or read."""


class CorruptLakeFileError(LakeError):
    """A Parquet file in the lake that cannot be read."""


class QueryRefusedError(LakeError):
    """A query that is not a single read-only SELECT over the lake."""
