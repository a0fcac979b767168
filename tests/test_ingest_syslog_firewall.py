"""Firewall syslog end to end: util-linux `logger` -> syslog listener -> parser -> lake.

One listener with `format: firewall` takes CEF and FortiGate key=value messages
on the same port, over UDP and TCP (octet-counted and newline frames), sent by a
real client. The lake must hold the exact events, enriched from the estate (the
POS terminal, payment server and firewall are assets of store 001; the attacker's
address has a country), and the truncated line must be a dead letter with its
source, position and reason.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingest_helpers import WAIT, count, dead_letters, needs, running, wait_for
from vigil.estate import parse_estate
from vigil.ingest.connectors.syslog import SyslogConfig, SyslogListener
from vigil.ingest.enrich import Enricher
from vigil.ingest.pipeline import Ingestor
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

ESTATE = parse_estate(
    """
organisation: {uid: acme, name: Acme}
regions:
  - uid: north
    name: North
    stores:
      - uid: "001"
        name: Store 001
        timezone: UTC
        opening_hours: {mon: 08:00-20:00, tue: 08:00-20:00, wed: 08:00-20:00,
          thu: 08:00-20:00, fri: 08:00-20:00, sat: 08:00-20:00, sun: 08:00-20:00}
        segments:
          - {name: mgmt, kind: management, cidr: 10.0.1.0/24}
          - {name: cde, kind: cardholder_data, cidr: 10.0.10.0/24}
          - {name: pos, kind: pos, cidr: 10.0.11.0/24}
        assets:
          - {uid: s001-fw-01, name: Store firewall, kind: firewall, segment: mgmt, ip: 10.0.1.1}
          - {uid: s001-pay-01, name: Payment switch, kind: server, segment: cde, ip: 10.0.10.5}
          - {uid: s001-pos-04, name: POS lane 4, kind: pos_terminal, segment: pos, ip: 10.0.11.34}
""",
    "test estate",
)

CEF = (
    "CEF:0|Check Point|VPN-1 & FireWall-1|R81|Drop|Drop|5|act=Drop deviceDirection=0 "
    "rt=1795420990000 src=89.38.100.7 spt=44182 dst=10.0.10.5 dpt=22 proto=tcp "
    "dvchost=s001-fw-01 msg=Dropped by cleanup rule"
)
FORTIGATE = (
    'date=2026-11-23 time=08:00:03 devname="s001-fw-01" devid="FGT60F0000000001" '
    'eventtime=1795420803106222000 tz="+0000" logid="0000000013" type="traffic" '
    'subtype="forward" level="notice" vd="root" srcip=10.0.11.34 srcport=57366 srcintf="pos" '
    'dstip=10.0.10.5 dstport=8443 dstintf="cde" sessionid=1710180303 proto=6 action="close" '
    'policyid=2 service="HTTPS-8443" duration=2 sentbyte=2139 rcvdbyte=1829 sentpkt=2 rcvdpkt=2'
)
TRUNCATED = "CEF:0|Fortinet|Fortigate|v7.2.8|00013|traffic:forward"

COMMON = {
    "category_uid": 4,
    "category_name": "Network Activity",
    "class_uid": 4001,
    "class_name": "Network Activity",
    "metadata.version": "1.8.0",
    "observation_point_id": 3,
    "observation_point": "Neither",
    "network_observation_point.name": "s001-fw-01",
    "network_observation_point.hostname": "s001-fw-01",
    "network_observation_point.type_id": 9,
    "network_observation_point.type": "Firewall",
    "network_observation_point.zone": "management",  # the firewall's segment in the estate
    "store.uid": "001",
    "store.name": "Store 001",
    "store.region_uid": "north",
    "connection_info.protocol_name": "tcp",
    "connection_info.protocol_num": 6,
}
PAYMENT_SWITCH = {
    "dst_endpoint.ip": "10.0.10.5",
    "dst_endpoint.uid": "s001-pay-01",
    "dst_endpoint.name": "Payment switch",
    "dst_endpoint.hostname": "s001-pay-01",
    "dst_endpoint.zone": "cardholder_data",
    "dst_endpoint.type_id": 1,
    "dst_endpoint.type": "Server",
}
EXPECTED_CEF = (
    COMMON
    | PAYMENT_SWITCH
    | {
        "activity_id": 5,
        "activity_name": "Refuse",
        "type_uid": 400105,
        "type_name": "Network Activity: Refuse",
        "severity_id": 3,
        "severity": "Medium",
        "status_id": 2,
        "status": "Failure",
        "status_code": "Drop",
        "message": "Dropped by cleanup rule",
        "time": datetime(2026, 11, 23, 8, 3, 10, tzinfo=UTC),
        "metadata.product.name": "VPN-1 & FireWall-1",
        "metadata.product.vendor_name": "Check Point",
        "metadata.product.version": "R81",
        "metadata.log_format": "CEF",
        "network_observation_point.uid": "s001-fw-01",  # found in the estate by host name
        "src_endpoint.ip": "89.38.100.7",
        "src_endpoint.port": 44182,
        "src_endpoint.location.country": "RO",
        "dst_endpoint.port": 22,
        "connection_info.direction_id": 1,
        "connection_info.direction": "Inbound",
        "unmapped": '{"deviceEventClassId":"Drop","name":"Drop","extension":{}}',
    }
)
EXPECTED_FORTIGATE = (
    COMMON
    | PAYMENT_SWITCH
    | {
        "activity_id": 2,
        "activity_name": "Close",
        "type_uid": 400102,
        "type_name": "Network Activity: Close",
        "severity_id": 1,
        "severity": "Informational",
        "status_id": 1,
        "status": "Success",
        "status_code": "close",
        "time": datetime(2026, 11, 23, 8, 0, 3, 106000, tzinfo=UTC),
        "duration": 2000,
        "app_name": "HTTPS-8443",
        "metadata.product.name": "FortiGate",
        "metadata.product.vendor_name": "Fortinet",
        "metadata.log_name": "traffic",
        "metadata.log_format": "fortigate",
        "network_observation_point.uid": "FGT60F0000000001",  # the device's own id is kept
        "src_endpoint.ip": "10.0.11.34",
        "src_endpoint.port": 57366,
        "src_endpoint.interface_name": "pos",
        "src_endpoint.uid": "s001-pos-04",
        "src_endpoint.name": "POS lane 4",
        "src_endpoint.hostname": "s001-pos-04",
        "src_endpoint.zone": "pos",
        "src_endpoint.type_id": 99,
        "src_endpoint.type": "POS Terminal",
        "dst_endpoint.port": 8443,
        "dst_endpoint.interface_name": "cde",
        "connection_info.uid": "1710180303",
        "traffic.bytes_out": 2139,
        "traffic.bytes_in": 1829,
        "traffic.bytes": 3968,
        "traffic.packets_out": 2,
        "traffic.packets_in": 2,
        "traffic.packets": 4,
        "unmapped": '{"policyid":"2","policyname":null,"logid":"0000000013","subtype":"forward",'
        '"level":"notice","vd":"root","service":"HTTPS-8443"}',
    }
)
PARTITION_COLUMNS = {"day", "store"}
"""Hive partition keys DuckDB adds when reading the lake; not event fields."""


@pytest.fixture
def ingestor(tmp_path: Path) -> Iterator[Ingestor]:
    database = Database.open(sqlite_url(tmp_path))
    yield Ingestor(Lake(tmp_path / "lake"), database, Enricher(ESTATE))
    database.close()


def stored_events(lake: Lake) -> list[dict[str, Any]]:
    """Every Network Activity event in the lake: its non-null fields, CEF first."""
    result = lake.query('SELECT * FROM network_activity ORDER BY "metadata.log_format"')
    return [
        {
            name: value
            for name, value in zip(result.columns, row, strict=True)
            if value is not None and name not in PARTITION_COLUMNS
        }
        for row in result.rows
    ]


@needs("logger")
@pytest.mark.parametrize(
    ("transport", "framing", "header"),
    [
        ("udp", [], "--rfc3164"),
        ("tcp", ["--octet-count"], "--rfc5424"),
        ("tcp", [], "--rfc3164"),  # no octet count: logger ends each message with a newline
    ],
    ids=["udp", "tcp-octet-counted", "tcp-newline"],
)
def test_logger_sends_cef_and_fortigate_to_one_listener(
    ingestor: Ingestor, transport: str, framing: list[str], header: str
) -> None:
    config = SyslogConfig(
        type="syslog",
        name="store-firewalls",
        format="firewall",
        transport=transport,
        host="127.0.0.1",
        port=0,
        batch_seconds=0.05,
    )
    with running(SyslogListener(config, ingestor)) as listener:
        command = ["logger", "--server", "127.0.0.1", "--port", str(listener.port)]
        command += [f"--{transport}", *framing, header, "-t", "fw", "-p", "local7.notice"]
        # logger sends each line of its input as one message, in order.
        messages = f"{CEF}\n{FORTIGATE}\n{TRUNCATED}\n"
        subprocess.run(command, input=messages.encode(), check=True, timeout=WAIT)
        assert wait_for(lambda: count(ingestor.lake, "network_activity") == 2)
        assert wait_for(lambda: len(dead_letters(ingestor)) == 1)

    assert stored_events(ingestor.lake) == [EXPECTED_CEF, EXPECTED_FORTIGATE]
    (letter,) = dead_letters(ingestor)
    assert (letter.source, letter.position) == ("syslog:store-firewalls", "message 3")
    assert letter.reason == "firewall: not a CEF record (no CEF:n| header with 7 fields)"
    assert letter.raw.startswith("<189>")  # the whole message is kept, syslog header included
    assert letter.raw.endswith(f" {TRUNCATED}")
    report = listener.batchers[0].report
    assert (report.records, report.rejected, report.events) == (3, 1, {"network_activity": 2})


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by `openssl`."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    return cert, key


@needs("openssl")
def test_syslog_over_tls_is_received_and_stored(
    ingestor: Ingestor, certificate: tuple[Path, Path]
) -> None:
    """RFC 5425: octet-counted messages in a TLS stream; the client checks the certificate."""
    cert, key = certificate
    config = SyslogConfig(
        type="syslog", name="fw-tls", format="firewall", transport="tcp", host="127.0.0.1",
        port=0, tls_cert=cert, tls_key=key, batch_seconds=0.05,
    )  # fmt: skip
    messages = [
        f"<189>1 2026-11-23T08:03:10Z s001-fw-01 fw - - - {CEF}".encode(),
        f"<189>Nov 23 08:00:03 s001-fw-01 fw: {FORTIGATE}".encode(),
        f"<189>1 2026-11-23T08:03:10Z s001-fw-01 fw - - - {TRUNCATED}".encode(),
    ]
    context = ssl.create_default_context(cafile=str(cert))
    with running(SyslogListener(config, ingestor)) as listener:
        with (
            socket.create_connection(("127.0.0.1", listener.port)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as client,
        ):
            client.sendall(b"".join(b"%d %s" % (len(m), m) for m in messages))
        assert wait_for(lambda: count(ingestor.lake, "network_activity") == 2)
        assert wait_for(lambda: len(dead_letters(ingestor)) == 1)
        with socket.create_connection(("127.0.0.1", listener.port)) as plain:
            plain.sendall(b"%d %s" % (len(messages[0]), messages[0]))  # not TLS: refused
    assert stored_events(ingestor.lake) == [EXPECTED_CEF, EXPECTED_FORTIGATE]
    assert dead_letters(ingestor)[0].position == "message 3"
    assert count(ingestor.lake, "network_activity") == 2


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"transport": "udp", "tls_cert": "c.pem", "tls_key": "k.pem"}, "TLS needs transport: tcp"),
        ({"transport": "tcp", "tls_cert": "c.pem"}, "give both tls_cert and tls_key"),
        ({"transport": "tcp", "tls_key": "k.pem"}, "give both tls_cert and tls_key"),
    ],
    ids=["udp", "cert-only", "key-only"],
)
def test_tls_config_needs_tcp_and_both_files(values: dict[str, str], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        SyslogConfig.model_validate({"type": "syslog", "name": "fw", "format": "firewall"} | values)
