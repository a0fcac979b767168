"""Persistence: the operational database (SQLAlchemy, Alembic) and the event lake (Parquet, DuckDB)."""

from vigil.store.database import Database
from vigil.store.errors import (
    AuditChainBrokenError,
    CorruptLakeFileError,
    DatabaseUnavailableError,
    LakeError,
    QueryRefusedError,
    StoreError,
)
from vigil.store.lake import AppendResult, Lake, QueryResult

__all__ = [
    "AppendResult",
    "AuditChainBrokenError",
    "CorruptLakeFileError",
    "Database",
    "DatabaseUnavailableError",
    "Lake",
    "LakeError",
    "QueryRefusedError",
    "QueryResult",
    "StoreError",
]
