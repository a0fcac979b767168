"""What Windows and Sysmon events carry: the JSON shape decoded, and the code tables.

Kept apart from the parser so that the mapping there reads without a hundred
lines of field names first. `WINDOWS` accepts both the flat export shape and
winlogbeat's; `LOGON_TYPES`, `FAILURES` and the rest turn Windows codes into
OCSF values and words.
"""

from __future__ import annotations

import polars as pl

from vigil.ingest.parsers.base import utc_time
from vigil.ingest.parsers.endpoint.common import struct_of

EVENT_DATA = struct_of(
    # Security 4624 / 4625 / 4634
    "SubjectUserName",
    "SubjectDomainName",
    "TargetUserSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetLogonId",
    "LogonType",
    "LogonProcessName",
    "AuthenticationPackageName",
    "WorkstationName",
    "IpAddress",
    "IpPort",
    "Status",
    "SubStatus",
    "FailureReason",
    # Sysmon 1 / 3 / 5
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "Image",
    "CommandLine",
    "CurrentDirectory",
    "User",
    "IntegrityLevel",
    "Hashes",
    "ParentProcessGuid",
    "ParentProcessId",
    "ParentImage",
    "ParentCommandLine",
    "Protocol",
    "Initiated",
    "SourceIp",
    "SourceHostname",
    "SourcePort",
    "DestinationIp",
    "DestinationHostname",
    "DestinationPort",
)
WINDOWS = pl.Struct(
    {
        "EventID": pl.String(),
        "Id": pl.String(),
        "Channel": pl.String(),
        "LogName": pl.String(),
        "Computer": pl.String(),
        "MachineName": pl.String(),
        "TimeCreated": pl.String(),
        "EventRecordID": pl.String(),
        "RecordId": pl.String(),
        "EventData": EVENT_DATA,
        "@timestamp": pl.String(),
        "winlog": pl.Struct(
            {
                "event_id": pl.String(),
                "channel": pl.String(),
                "computer_name": pl.String(),
                "record_id": pl.String(),
                "event_data": EVENT_DATA,
            }
        ),
    }
)
SYSMON = "Microsoft-Windows-Sysmon/Operational"
LOGON_TYPES = {
    2: "Interactive",
    3: "Network",
    4: "Batch",
    5: "OS Service",
    7: "Unlock",
    8: "Network Cleartext",
    9: "New Credentials",
    10: "Remote Interactive",
    11: "Cached Interactive",
    12: "Cached Remote Interactive",
    13: "Cached Unlock",
}
AUTH_PROTOCOLS = {"NTLM": 1, "Kerberos": 2}
FAILURES = {
    "0xc0000064": "user name does not exist",
    "0xc000006a": "wrong password",
    "0xc000006d": "bad user name or password",
    "0xc000006f": "logon outside allowed hours",
    "0xc0000070": "workstation restriction",
    "0xc0000071": "password expired",
    "0xc0000072": "account disabled",
    "0xc000015b": "logon type not granted",
    "0xc0000193": "account expired",
    "0xc0000224": "password must change at next logon",
    "0xc0000234": "account locked out",
}
"""NTSTATUS codes of failed logons (4625 Status / SubStatus) -> what they mean."""
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}
WINDOWS_OS = 100  # OCSF os type_id "Windows"


def windows_time(text: pl.Expr) -> pl.Expr:
    """ISO 8601 (up to 100 ns), `/Date(ms)/` from PowerShell, or `2026-11-23 08:00:00.123`."""
    ms = text.str.extract(r"^/Date\((-?\d+)", 1).cast(pl.Int64, strict=False)
    return pl.coalesce(
        utc_time(text),
        ms.cast(pl.Datetime("ms", "UTC")),
        text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="ms", time_zone="UTC", strict=False),
    )


def dash_null(value: pl.Expr) -> pl.Expr:
    """Windows writes `-` for an empty field."""
    return pl.when(~value.is_in(["-", ""])).then(value)
