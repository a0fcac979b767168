"""Events that are already OCSF JSON, one object per line, of any class Vigil knows.

Each record is validated against its class's typed model (chosen by `class_uid`),
so this is the strict path for other OCSF producers (AWS Security Lake exports,
Vigil's own samples), not the fast one.
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.events import EVENT_CLASSES, batches_from_json_lines
from vigil.ingest.parsers.base import Parser, parsers
from vigil.ingest.types import ParseResult, RawRecords, Rejected


@parsers.register("ocsf_json")
class OcsfJson(Parser):
    description = "OCSF 1.8.0 events as JSON lines (any class, validated by class_uid)"
    event_classes = EVENT_CLASSES

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        lines = [line for line in sample if line.strip()][:10]
        if lines and all('"class_uid"' in line and '"metadata"' in line for line in lines):
            return 0.95
        return 0.0

    def parse(self, records: RawRecords) -> ParseResult:
        parsed = batches_from_json_lines(records.text.to_list(), lenient=True)
        return ParseResult(
            batches=parsed.batches,
            rejected=[Rejected(item.index, item.reason) for item in parsed.rejected],
        )
