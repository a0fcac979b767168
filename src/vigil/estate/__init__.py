"""The retail estate: who and what Vigil protects, and when each store trades."""

from vigil.estate.errors import EstateError, EstateFileError, Problem, UnknownStoreError
from vigil.estate.loader import load_estate, load_sample_estate, parse_estate, sample_estate_text
from vigil.estate.types import (
    Asset,
    AssetKind,
    Criticality,
    Estate,
    Identity,
    IdentityKind,
    Peak,
    Region,
    Segment,
    SegmentKind,
    Store,
    Zone,
)

__all__ = [
    "Asset",
    "AssetKind",
    "Criticality",
    "Estate",
    "EstateError",
    "EstateFileError",
    "Identity",
    "IdentityKind",
    "Peak",
    "Problem",
    "Region",
    "Segment",
    "SegmentKind",
    "Store",
    "UnknownStoreError",
    "Zone",
    "load_estate",
    "load_sample_estate",
    "parse_estate",
    "sample_estate_text",
]
