"""Firewall logs: FortiGate key=value traffic logs, ArcSight CEF from any device, or both.

Both may arrive behind a syslog header (`<PRI>`, RFC 3164 or RFC 5424); the
header is read for its time where the record lacks one, and otherwise ignored:
fields are found wherever they are in the line.

- `fortigate` (`fortigate.py`): FortiGate's own `key=value` traffic log;
- `cef` (`cef.py`): the Common Event Format, any vendor;
- `firewall` (`mixed.py`): either, told apart per record, for a syslog listener
  that several kinds of firewall send to;
- `common.py`: the OCSF columns both map to (protocol, traffic, status, observer).
"""

from __future__ import annotations

from vigil.ingest.parsers.firewall.cef import (
    CEF_ACTIONS,
    CEF_HEADER,
    CEF_KEYS,
    CEF_SEVERITY,
    Cef,
    cef_pairs,
    cef_time,
)
from vigil.ingest.parsers.firewall.common import (
    FIREWALL,
    OBSERVED_BY_NEITHER,
    PROTOCOL_NAMES,
    PROTOCOL_NUMBERS,
    STATUS_CAPTIONS,
    SYSLOG_5424_TIME,
    epoch,
)
from vigil.ingest.parsers.firewall.fortigate import (
    FORTIGATE_ACTIONS,
    FORTIGATE_KEYS,
    PAIR,
    Fortigate,
    key_values,
    kv,
)
from vigil.ingest.parsers.firewall.mixed import Firewall

__all__ = [
    "CEF_ACTIONS",
    "CEF_HEADER",
    "CEF_KEYS",
    "CEF_SEVERITY",
    "FIREWALL",
    "FORTIGATE_ACTIONS",
    "FORTIGATE_KEYS",
    "OBSERVED_BY_NEITHER",
    "PAIR",
    "PROTOCOL_NAMES",
    "PROTOCOL_NUMBERS",
    "STATUS_CAPTIONS",
    "SYSLOG_5424_TIME",
    "Cef",
    "Firewall",
    "Fortigate",
    "cef_pairs",
    "cef_time",
    "epoch",
    "key_values",
    "kv",
]
