"""IoT, Wi-Fi, identity and endpoint parsers: each case is records in, the exact columns out.

A case names the parser, the records (one per line, or one RADIUS block), the
event class the first event must have, and the flattened OCSF columns it must
carry (`unmapped` compared as JSON). Broader coverage is in the golden cases of
tests/golden/ingest/<parser>/.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from vigil.events import Authentication, DeviceInventoryInfo, NetworkActivity, OcsfEvent
from vigil.events.system import FileActivity, ProcessActivity
from vigil.ingest.framing import frame
from vigil.ingest.parsers import parsers
from vigil.ingest.parsers.base import run
from vigil.ingest.types import ParseResult, RawRecords

GOLDEN = Path(__file__).parent / "golden" / "ingest"
MINE = ("iot_mqtt", "radius_detail", "okta_signin", "osquery", "windows_event")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def radius(status: str, *extra: str, timestamp: int = 1795456802) -> str:
    lines = [
        "Mon Nov 23 18:00:02 2026",
        f"\tAcct-Status-Type = {status}",
        '\tAcct-Session-Id = "D00DFEEDBEEF0001"',
        '\tUser-Name = "jdoe"',
        "\tNAS-IP-Address = 10.0.25.11",
        '\tNAS-Identifier = "s002-ap-01"',
        '\tCalled-Station-Id = "02-00-01-00-19-0B:Northwind-Staff"',
        '\tCalling-Station-Id = "4A-11-22-33-44-55"',
        "\tFramed-IP-Address = 10.0.30.20",
        *(f"\t{line}" for line in extra),
        f"\tTimestamp = {timestamp}",
    ]
    return "\n".join(lines)


def okta(result: str, reason: str | None, factor: str | None = None) -> str:
    return json.dumps(
        {
            "uuid": "u1",
            "published": "2026-11-23T08:41:16.643Z",
            "eventType": "user.session.start",
            "actor": {"alternateId": "rt-support", "type": "User"},
            "client": {"ipAddress": "89.38.98.21", "geographicalContext": {"country": "RO"}},
            "outcome": {"result": result, "reason": reason},
            "authenticationContext": {"factor": factor},
            "target": [{"type": "AppInstance", "displayName": "Vendor VPN"}],
        }
    )


def windows(event_id: int, channel: str, **data: str) -> str:
    return json.dumps(
        {
            "EventID": event_id,
            "Channel": channel,
            "Computer": "S001-BO-PC-01",
            "TimeCreated": "2026-11-23T13:30:02.1234567Z",
            "EventData": data,
        }
    )


SYSMON = "Microsoft-Windows-Sysmon/Operational"
HEARTBEAT = (
    '{"ts":"2026-11-23T08:00:08.029Z","topic":"stores/031/iot/s031-cam-04/telemetry",'
    '"payload":{"msg":"heartbeat","device":"s031-cam-04","kind":"camera","vendor":"Axis",'
    '"model":"P3265-LVE","firmware":"11.8.64","ip":"10.0.12.14","mac":"02:00:00:00:0c:0e",'
    '"uptime_s":2946472,"cpu_pct":23.1,"mem_pct":51.3,"connections":3,'
    '"readings":{"recording":true,"fps":15}}}'
)
FIRMWARE = (
    '{"ts":"2026-11-23T09:02:46.123Z","topic":"stores/031/iot/s031-cam-01/events",'
    '"payload":{"msg":"event","device":"s031-cam-01","kind":"camera","event":"firmware_changed",'
    '"firmware":"11.9.12","from":"11.8.64","to":"11.9.12","method":"ota"}}'
)
OSQUERY_LOGOUT = (
    '{"name":"pack_vigil_logged_in_users","hostIdentifier":"s001-srv-01","unixTime":1795429200,'
    '"decorations":{"host_uuid":"0DA7","store":"001"},"columns":{"type":"user","user":"itadmin",'
    '"tty":"pts/0","host":"172.16.0.20","time":"1795428000","pid":"4411"},"action":"removed"}'
)
OSQUERY_PROCESS = (
    '{"name":"pack_vigil_process_events","hostIdentifier":"s001-pos-01","unixTime":1795421430,'
    '"decorations":{"host_uuid":"0DA7"},"columns":{"pid":"3313","parent":"3312",'
    '"path":"/usr/bin/curl","name":"curl","cmdline":"curl -fsS https://x","cwd":"/","uid":"0",'
    '"auid":"4294967295","time":"1795421401"},"action":"added"}'
)

CASES = [
    # --- RADIUS accounting -----------------------------------------------------------
    pytest.param(
        "radius_detail",
        [radius("Start")],
        Authentication,
        {
            "activity_id": 1,
            "activity_name": "Logon",
            "user.name": "jdoe",
            "session.uid": "D00DFEEDBEEF0001",
            "service.name": "Northwind-Staff",
            "dst_endpoint.ip": "10.0.25.11",
            "dst_endpoint.name": "s002-ap-01",
            "dst_endpoint.mac": "02:00:01:00:19:0b",
            "src_endpoint.mac": "4a:11:22:33:44:55",
            "src_endpoint.ip": "10.0.30.20",
            "time": at("2026-11-23T18:00:02"),
            "unmapped": None,
        },
        id="radius-start-is-logon",
    ),
    pytest.param(
        "radius_detail",
        [
            radius(
                "Interim-Update",
                "Acct-Input-Octets = 13146262",
                "Acct-Output-Octets = 29260354",
                "Acct-Session-Time = 600",
                "Acct-Delay-Time = 2",
            )
        ],
        Authentication,
        {
            "activity_id": 99,
            "activity_name": "Interim-Update",
            "duration": 600_000,
            "time": at("2026-11-23T18:00:00"),
            "metadata.logged_time": at("2026-11-23T18:00:02"),
            "unmapped": {
                "acct_input_octets": 13146262,
                "acct_output_octets": 29260354,
                "acct_session_time": 600,
            },
        },
        id="radius-interim-is-other-with-counters",
    ),
    pytest.param(
        "radius_detail",
        [
            radius(
                "Stop",
                "Acct-Input-Octets = 1705032704",
                "Acct-Output-Octets = 4000000000",
                "Acct-Input-Gigawords = 0",
                "Acct-Output-Gigawords = 20",
                "Acct-Session-Time = 10800",
                "Acct-Terminate-Cause = Session-Timeout",
            )
        ],
        Authentication,
        {
            "activity_id": 2,
            "activity_name": "Logoff",
            "status_detail": "Session-Timeout",
            "unmapped": {
                "acct_input_octets": 1705032704,
                "acct_output_octets": 20 * 2**32 + 4_000_000_000,
                "acct_session_time": 10800,
            },
        },
        id="radius-stop-gigawords",
    ),
    # --- Okta sign-ins ---------------------------------------------------------------
    pytest.param(
        "okta_signin",
        [okta("FAILURE", "INVALID_CREDENTIALS")],
        Authentication,
        {
            "status_id": 2,
            "status": "Failure",
            "status_detail": "INVALID_CREDENTIALS",
            "user.name": "rt-support",
            "src_endpoint.ip": "89.38.98.21",
            "src_endpoint.location.country": "RO",
            "service.name": "Vendor VPN",
            "is_mfa": False,
        },
        id="okta-invalid-credentials",
    ),
    pytest.param(
        "okta_signin",
        [okta("DENY", "LOCKED_OUT")],
        Authentication,
        {"status_id": 2, "status": "Failure", "status_detail": "LOCKED_OUT"},
        id="okta-locked-out-deny",
    ),
    pytest.param(
        "okta_signin",
        [okta("FAILURE", "INVALID_MFA_CODE", factor="otp")],
        Authentication,
        {"status_id": 2, "status_detail": "INVALID_MFA_CODE", "is_mfa": True},
        id="okta-failed-second-factor",
    ),
    pytest.param(
        "okta_signin",
        [okta("SUCCESS", None, factor="push")],
        Authentication,
        {
            "activity_id": 1,
            "status_id": 1,
            "status_detail": None,
            "is_mfa": True,
            "time": at("2026-11-23T08:41:16.643"),
            "unmapped": {"eventType": "user.session.start", "factor": "push"},
        },
        id="okta-success-with-push",
    ),
    # --- Windows / Sysmon ------------------------------------------------------------
    pytest.param(
        "windows_event",
        [
            windows(
                4624,
                "Security",
                TargetUserName="tfarouk10020",
                TargetDomainName="NORTHWIND",
                TargetLogonId="0x3e7a1f2",
                LogonType="3",
                AuthenticationPackageName="NTLM",
                IpAddress="10.0.15.21",
                IpPort="49731",
            )
        ],
        Authentication,
        {
            "activity_id": 1,
            "status_id": 1,
            "user.name": "tfarouk10020",
            "user.domain": "NORTHWIND",
            "session.uid": "0x3e7a1f2",
            "logon_type_id": 3,
            "logon_type": "Network",
            "is_remote": True,
            "auth_protocol_id": 1,
            "src_endpoint.ip": "10.0.15.21",
            "src_endpoint.port": 49731,
            "dst_endpoint.hostname": "S001-BO-PC-01",
            "time": at("2026-11-23T13:30:02.123"),
        },
        id="windows-4624-network-logon",
    ),
    pytest.param(
        "windows_event",
        [
            windows(
                4625,
                "Security",
                TargetUserName="ghost",
                Status="0xC000006D",
                SubStatus="0xC0000064",
                LogonType="10",
                IpAddress="203.0.113.66",
                IpPort="0",
            )
        ],
        Authentication,
        {
            "activity_id": 1,
            "status_id": 2,
            "status_code": "0xC0000064",
            "status_detail": "user name does not exist",
            "logon_type_id": 10,
            "src_endpoint.port": None,
        },
        id="windows-4625-unknown-user",
    ),
    pytest.param(
        "windows_event",
        [
            windows(
                1,
                SYSMON,
                ProcessId="6120",
                ProcessGuid="{5b3c}",
                Image="C:\\Windows\\System32\\cmd.exe",
                CommandLine="cmd.exe /c whoami",
                User="NORTHWIND\\tfarouk10020",
                ParentProcessId="4312",
                ParentImage="C:\\Windows\\explorer.exe",
                UtcTime="2026-11-23 13:30:02.120",
            )
        ],
        ProcessActivity,
        {
            "activity_id": 1,
            "process.pid": 6120,
            "process.name": "cmd.exe",
            "process.cmd_line": "cmd.exe /c whoami",
            "process.user.name": "tfarouk10020",
            "process.user.domain": "NORTHWIND",
            "process.created_time": at("2026-11-23T13:30:02.120"),
            "process.parent_process.pid": 4312,
            "actor.process.name": "explorer.exe",
            "device.hostname": "S001-BO-PC-01",
        },
        id="windows-sysmon-1-process-launch",
    ),
    pytest.param(
        "windows_event",
        [
            windows(
                3,
                SYSMON,
                ProcessId="6120",
                Image="C:\\Windows\\System32\\cmd.exe",
                Protocol="tcp",
                Initiated="true",
                SourceIp="10.0.15.30",
                SourcePort="50412",
                DestinationIp="198.51.100.23",
                DestinationPort="443",
            )
        ],
        NetworkActivity,
        {
            "activity_id": 1,
            "src_endpoint.ip": "10.0.15.30",
            "dst_endpoint.ip": "198.51.100.23",
            "dst_endpoint.port": 443,
            "connection_info.protocol_num": 6,
            "connection_info.direction_id": 2,
            "app_name": "cmd.exe",
        },
        id="windows-sysmon-3-outbound-connection",
    ),
    # --- IoT and osquery -------------------------------------------------------------
    pytest.param(
        "iot_mqtt",
        [HEARTBEAT],
        DeviceInventoryInfo,
        {
            "activity_id": 2,
            "store.uid": "031",
            "device.uid": "s031-cam-04",
            "device.type_id": 7,
            "device.type": "camera",
            "device.os.version": "11.8.64",
            "device.mac": "02:00:00:00:0c:0e",
            "unmapped": {
                "vendor": "Axis",
                "uptime_s": 2946472,
                "cpu_pct": 23.1,
                "mem_pct": 51.3,
                "connections": 3,
                "readings": {"recording": True, "fps": 15},
            },
        },
        id="iot-heartbeat",
    ),
    pytest.param(
        "iot_mqtt",
        [FIRMWARE],
        DeviceInventoryInfo,
        {
            "activity_id": 99,
            "activity_name": "firmware_changed",
            "device.os.version": "11.9.12",
            "unmapped": {
                "msg": "event",
                "device": "s031-cam-01",
                "kind": "camera",
                "event": "firmware_changed",
                "firmware": "11.9.12",
                "from": "11.8.64",
                "to": "11.9.12",
                "method": "ota",
            },
        },
        id="iot-firmware-changed",
    ),
    pytest.param(
        "osquery",
        [OSQUERY_PROCESS],
        ProcessActivity,
        {
            "activity_id": 1,
            "process.pid": 3313,
            "process.parent_process.pid": 3312,
            "process.file.name": "curl",
            "process.user.uid": "0",
            "time": at("2026-11-23T08:10:01"),
            "metadata.logged_time": at("2026-11-23T08:10:30"),
            "unmapped": None,
        },
        id="osquery-process-event",
    ),
    pytest.param(
        "osquery",
        [OSQUERY_LOGOUT],
        Authentication,
        {
            "activity_id": 2,
            "user.name": "itadmin",
            "src_endpoint.ip": "172.16.0.20",
            "logon_type_id": 10,
            "store.uid": "001",
            "time": at("2026-11-23T10:20:00"),
        },
        id="osquery-remote-logout",
    ),
]


def parse(name: str, records: list[str]) -> ParseResult:
    unit = "line" if parsers.get(name).framing == "line" else "record"
    return run(parsers.get(name)(), RawRecords.of("test", records, unit=unit))


@pytest.mark.parametrize(("name", "records", "event_class", "expected"), CASES)
def test_case(
    name: str, records: list[str], event_class: type[OcsfEvent], expected: dict[str, Any]
) -> None:
    result = parse(name, records)
    assert result.rejected == []
    (batch,) = result.batches
    assert batch.event_class is event_class
    row = batch.table.to_pylist()[0]
    got = {key: row[key] for key in expected}
    if "unmapped" in got and got["unmapped"] is not None:
        got["unmapped"] = json.loads(got["unmapped"])
    assert got == expected
    batch.events()  # and the typed model accepts it


def test_radius_accounting_on_is_skipped_not_rejected() -> None:
    block = "Mon Nov 23 18:01:00 2026\n\tAcct-Status-Type = Accounting-On\n\tTimestamp = 1"
    result = parse("radius_detail", [block, radius("Start")])
    assert (result.events, result.rejected, result.skipped) == (1, [], 1)


@pytest.mark.parametrize(
    ("name", "record", "reason"),
    [
        ("radius_detail", radius("Start").rsplit("\n", 1)[0], "no Timestamp attribute"),
        ("radius_detail", radius("Stop", "Acct-Input-Octets = many"), "not a whole number"),
        ("okta_signin", okta("SUCCESS", None).replace("2026-11-23T", "23/11/2026 "), "ISO 8601"),
        ("windows_event", windows(4672, "Security", SubjectUserName="x"), "4672 of channel"),
        ("iot_mqtt", HEARTBEAT.replace("2026-11-23T08", "yesterday "), "ISO 8601"),
    ],
)
def test_bad_records_are_rejected_with_a_reason(name: str, record: str, reason: str) -> None:
    result = parse(name, [record])
    assert result.events == 0
    (rejected,) = result.rejected
    assert reason in rejected.reason


def test_osquery_file_events_are_file_activity() -> None:
    line = (GOLDEN / "osquery" / "input").read_text().splitlines()
    files = [text for text in line if "file_events" in text and '"MOVED_' in text]
    result = parse("osquery", files)
    (batch,) = result.batches
    assert batch.event_class is FileActivity
    assert batch.table.column("activity_id").to_pylist() == [5] * len(files)


@pytest.mark.parametrize("name", MINE)
def test_sniff_recognises_its_own_format_only(name: str) -> None:
    def sample(parser: str) -> list[str]:
        data = (GOLDEN / parser / "input").read_bytes()
        text: pl.Series = frame(data, parsers.get(name).framing, final=False).text
        return text.head(20).to_list()

    assert parsers.get(name).sniff(sample(name)) >= 0.5
    for other in MINE:
        if other != name:
            assert parsers.get(name).sniff(sample(other)) < 0.5, other


RADIUS_LINE_PIECES = (
    "Mon Nov 23 13:19:26 2026",
    '\tUser-Name = "tfarouk"',
    '\tUser-Name = "a"b"',
    "User-Name=plain  ",
    "  Acct-Status-Type = Start\r",
    '\tAcct-Status-Type = " Interim-Update "',
    "\tNAS-IP-Address = 10.0.25.12",
    '\tCalled-Station-Id = "02-00-01-00-19-0C:Ssid=x"',
    '\tTimestamp = "',
    "\tTimestamp = 1795439966 \t",
    '\tEvent-Timestamp = "Nov 23 2026"',
    "\tAcct-Delay-Time = 3\r\r",
    "\tX-Acct-Delay-Time = 9",
    "\tAcct-Session-Id = ",
    '\tAcct-Session-Id = "x\r y"',
    "\t= 5",
    "garbage",
)


def test_radius_one_pass_reader_matches_the_per_attribute_pattern() -> None:
    """Seeded-random oracle: `attributes` (one pass) finds what `attribute` (a regex
    per attribute) finds, on blocks with duplicates, quotes, spaces and CRs."""
    import random

    from vigil.ingest.parsers.base import indexed
    from vigil.ingest.parsers.radius import ATTRIBUTES, attribute, attributes

    generator = random.Random(7)
    blocks = [
        "\n".join(generator.choice(RADIUS_LINE_PIECES) for _ in range(generator.randint(0, 9)))
        for _ in range(3000)
    ]
    frame_ = indexed(pl.Series(blocks, dtype=pl.String))
    expected = frame_.select(attribute(name).alias(column) for name, column in ATTRIBUTES.items())
    got = attributes(frame_).select(ATTRIBUTES.values())
    assert got.to_dicts() == expected.to_dicts()


def test_block_framing_matches_the_byte_splitter() -> None:
    """Seeded-random oracle: polars' split of blank-line separated blocks gives the
    records (and the tail) that the byte-level splitter gives."""
    import random

    from vigil.ingest.framing import decode, split_records

    generator = random.Random(11)
    pieces = ("a", "b = 1", "", " ", "\t", "\r", "x\r", "  \t ", 'c = "q"', "\x0b", "é")
    for _ in range(3000):
        text = "\n".join(generator.choice(pieces) for _ in range(generator.randint(0, 12)))
        text += generator.choice(("", "\n", "\n\n"))
        data = text.encode()
        for final in (True, False):
            parts, rest = split_records(data, "block", final)
            framed = frame(data, "block", final)
            assert framed.text.to_list() == decode(parts)[0].to_list(), repr(text)
            assert framed.rest == rest


@pytest.mark.parametrize(
    ("name", "record"),
    [
        ("iot_mqtt", HEARTBEAT.replace('"device":"s031-cam-04"', '"device":{"id":"s031-cam-04"}')),
        ("iot_mqtt", HEARTBEAT.replace('"model":"P3265-LVE"', '"model":["P3265-LVE"]')),
        (
            "iot_mqtt",
            HEARTBEAT.replace('"topic":"stores/031/iot/s031-cam-04/telemetry"', '"topic":{}'),
        ),
    ],
    ids=["object-for-device", "array-for-model", "object-for-topic"],
)
def test_an_object_where_text_is_expected_is_rejected_not_stored_as_text(
    name: str, record: str
) -> None:
    result = parse(name, [HEARTBEAT, record])
    assert result.events == 1
    (rejected,) = result.rejected
    assert rejected.index == 1
    assert "invalid JSON or unexpected value types" in rejected.reason
