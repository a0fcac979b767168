"""Ingest: raw records in, OCSF event batches out, nothing lost."""

from vigil.ingest.ocsf_json import ImportReport, import_ocsf_json

__all__ = ["ImportReport", "import_ocsf_json"]
