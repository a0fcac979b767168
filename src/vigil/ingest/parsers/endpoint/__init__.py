"""Endpoint telemetry from POS terminals and back-office PCs: osquery and Windows events.

- `osquery` (`osquery.py`): osquery differential result logs (process starts,
  logins, file changes) from Linux tills and back office;
- `windows_event` (`windows.py`): Windows Security and Sysmon events as JSON
  (flat exports or winlogbeat), with their JSON shape and code tables in
  `windows_fields.py`;
- `common.py`: the activity ids, time and path helpers and per-class batching
  both share.
"""

from __future__ import annotations

from vigil.ingest.parsers.endpoint.common import (
    LAUNCH,
    LOGOFF,
    LOGON,
    OTHER,
    REGULAR_FILE,
    TERMINATE,
    basename,
    finish,
    json_object,
    prefixed,
    seconds,
    unix_file,
)
from vigil.ingest.parsers.endpoint.osquery import (
    FILE_ACTIVITY,
    FILE_CAPTIONS,
    OSQUERY,
    QUERY_KINDS,
    UNSET_AUID,
    Osquery,
)
from vigil.ingest.parsers.endpoint.windows import WindowsEvent
from vigil.ingest.parsers.endpoint.windows_fields import (
    AUTH_PROTOCOLS,
    EVENT_DATA,
    FAILURES,
    LOGON_TYPES,
    PROTOCOL_NUMBERS,
    SYSMON,
    WINDOWS,
    WINDOWS_OS,
    dash_null,
    windows_time,
)

__all__ = [
    "AUTH_PROTOCOLS",
    "EVENT_DATA",
    "FAILURES",
    "FILE_ACTIVITY",
    "FILE_CAPTIONS",
    "LAUNCH",
    "LOGOFF",
    "LOGON",
    "LOGON_TYPES",
    "OSQUERY",
    "OTHER",
    "PROTOCOL_NUMBERS",
    "QUERY_KINDS",
    "REGULAR_FILE",
    "SYSMON",
    "TERMINATE",
    "UNSET_AUID",
    "WINDOWS",
    "WINDOWS_OS",
    "Osquery",
    "WindowsEvent",
    "basename",
    "dash_null",
    "finish",
    "json_object",
    "prefixed",
    "seconds",
    "unix_file",
    "windows_time",
]
