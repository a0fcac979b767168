"""Firewall syslog of either kind on one listener: CEF or FortiGate key=value, per message.

A store's firewalls (and the odd appliance beside them) often share one syslog
port, and a FortiGate may be set to send CEF or its own key=value form. Naming
one format for the listener would reject every message of the other, so
`format: firewall` tells them apart per record, vectorised: a `CEF:n|` header
goes to the CEF parser, a record with FortiGate's own keys (`type=`, `logid=`,
`devid=`, `devname=`) to the FortiGate one, and anything else is rejected here
with a reason that names both.

    - type: syslog
      name: store-firewalls
      format: firewall
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.events import Authentication, NetworkActivity
from vigil.ingest.parsers.base import Parser, parsers
from vigil.ingest.parsers.firewall.cef import Cef
from vigil.ingest.parsers.firewall.fortigate import Fortigate
from vigil.ingest.parsers.sniff import sample_lines, share
from vigil.ingest.types import ParseResult, RawRecords, Rejected

CEF_MARK = r"CEF:\d+\|"
FORTIGATE_MARK = r"(?:^|[\s>])(?:type|logid|devid|devname)="
NEITHER = (
    "neither CEF (no CEF:n| header) nor FortiGate key=value (no type=, logid=, devid= or devname=)"
)


@parsers.register("firewall")
class Firewall(Parser):
    """CEF and FortiGate key=value records mixed in one stream, each to its own parser."""

    description = "Firewall syslog: CEF or FortiGate key=value, told apart per message"
    event_classes = (NetworkActivity, Authentication)

    def __init__(self) -> None:
        self.cef = Cef()
        self.fortigate = Fortigate()

    @classmethod
    def sniff(cls, sample: Sequence[str]) -> float:
        """Below either format alone, so it wins only where the two are mixed."""
        lines = sample_lines(sample)
        cef = lines.str.contains(CEF_MARK)
        key_value = ~cef & lines.str.contains(FORTIGATE_MARK)
        if not (bool(cef.any()) and bool(key_value.any())):
            return 0.0
        return 0.9 * share(cef | key_value)

    def parse(self, records: RawRecords) -> ParseResult:
        text = records.text
        is_cef = text.str.contains(CEF_MARK).fill_null(value=False)
        is_kv = ~is_cef & text.str.contains(FORTIGATE_MARK).fill_null(value=False)
        result = ParseResult()
        for chosen, parser in ((is_kv, self.fortigate), (is_cef, self.cef)):
            if not bool(chosen.any()):
                continue
            part = parser.parse(
                RawRecords(records.source, text.filter(chosen), records.first, records.unit)
            )
            positions = chosen.arg_true().to_list()
            result.batches.extend(part.batches)
            result.skipped += part.skipped
            result.rejected.extend(Rejected(positions[r.index], r.reason) for r in part.rejected)
        neither = ~(is_cef | is_kv)
        result.rejected.extend(Rejected(index, NEITHER) for index in neither.arg_true().to_list())
        result.rejected.sort(key=lambda item: item.index)
        return result
