"""Ingest: raw records in, OCSF event batches out, nothing lost.

Connectors cut what they receive into `RawRecords`; a parser (one plugin per
format, `vigil.ingest.parsers`) turns them into event batches; the `Ingestor`
masks card numbers, enriches, stores events in the lake and rejected records in
the dead letters, and keeps per-source totals.
"""

from vigil.ingest.files import ImportReport, detect_format, import_file, import_path
from vigil.ingest.parsers import Parser, parsers
from vigil.ingest.pipeline import ChunkReport, Ingestor, ingest_status
from vigil.ingest.types import (
    IngestError,
    ParseResult,
    RawRecords,
    Rejected,
    UnknownFormatError,
)

__all__ = [
    "ChunkReport",
    "ImportReport",
    "IngestError",
    "Ingestor",
    "ParseResult",
    "Parser",
    "RawRecords",
    "Rejected",
    "UnknownFormatError",
    "detect_format",
    "import_file",
    "import_path",
    "ingest_status",
    "parsers",
]
