"""Focused cases of the network and web parsers: `(input, expected, raises)` tables.

The golden cases (tests/golden/ingest/) pin whole events; these pin the tricky
corners one at a time: CEF escaping, syslog header variants, IPFIX headers,
chunks that start mid-file, and the mapping tables.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from vigil.ingest.files import detect_bytes
from vigil.ingest.parsers import parsers
from vigil.ingest.parsers.base import run
from vigil.ingest.types import ParseResult, RawRecords

CEF_BASE = "CEF:0|Acme|Gate|1.0|100|Conn|5|"
FORTI = (
    'date=2026-11-23 time=08:00:03 devname="fw" devid="FGT1" eventtime=1795420803106222000 '
    'type="traffic" subtype="forward" srcip=10.0.0.1 srcport=1234 srcintf="pos" '
    'dstip=10.0.0.2 dstport=443 dstintf="wan1" proto=6 action="close" policyid=7'
)


def parse(name: str, lines: list[str], parser: Any = None) -> ParseResult:
    return run(parser or parsers.get(name)(), RawRecords.of("t", lines))


def rows(result: ParseResult) -> list[dict[str, Any]]:
    return [
        event.model_dump(mode="json", by_alias=True, exclude_none=True)
        for batch in result.batches
        for event in batch.events()
    ]


def dig(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize(
    ("line", "expected", "raises"),
    [
        # Header fields: \| is a pipe, \\ a backslash.
        (
            r"CEF:0|Pipe\|Co|Back\\slash|1|9|n|3|src=10.0.0.1 rt=1795420803106",
            {"metadata.product.vendor_name": "Pipe|Co", "metadata.product.name": "Back\\slash"},
            None,
        ),
        # Extension values: \= is an equals sign, \\ a backslash, \n a newline.
        (
            CEF_BASE + r"src=10.0.0.1 rt=1795420803106 msg=a\=b c\\d\nnext",
            {"message": "a=b c\\d\nnext"},
            None,
        ),
        # A value with spaces runs up to the next key.
        (
            CEF_BASE + "src=10.0.0.1 rt=1795420803106 msg=two words here dpt=22",
            {"message": "two words here", "dst_endpoint.port": 22},
            None,
        ),
        # Custom strings go to unmapped under their label.
        (
            CEF_BASE + "src=10.0.0.1 rt=1795420803106 cs1Label=Rule Name cs1=allow web",
            {"unmapped.extension": {"Rule Name": "allow web"}},
            None,
        ),
        # CEF `in` is source-to-destination: OCSF bytes_out.
        (
            CEF_BASE + "src=10.0.0.1 dst=10.0.0.2 rt=1795420803106 in=10 out=20 act=blocked",
            {"traffic.bytes_out": 10, "traffic.bytes_in": 20, "activity_id": 5, "status_id": 2},
            None,
        ),
        # Times: MMM dd yyyy HH:mm:ss with a zone name, taken as UTC.
        (
            CEF_BASE + "src=10.0.0.1 rt=Nov 23 2026 08:00:03 UTC",
            {"time": 1795420803000},
            None,
        ),
        # Severity 5 is Medium, Very-High is Critical.
        (CEF_BASE + "src=10.0.0.1 rt=1795420803106", {"severity_id": 3}, None),
        (
            "CEF:0|A|B|1|9|n|Very-High|src=10.0.0.1 rt=1795420803106",
            {"severity_id": 5},
            None,
        ),
        (CEF_BASE + "rt=1795420803106 suser=bob", None, "neither src nor dst"),
        ("CEF:0|A|B|1|9|n", None, "not a CEF record"),
    ],
)
def test_cef(line: str, expected: dict[str, Any] | None, raises: str | None) -> None:
    result = parse("cef", [line])
    if raises is not None:
        assert result.events == 0
        assert raises in result.rejected[0].reason
        return
    assert result.rejected == []
    (row,) = rows(result)
    for path, value in (expected or {}).items():
        assert dig(row, path) == value, path


@pytest.mark.parametrize(
    ("prefix", "parser"),
    [
        ("", "cef"),
        ("<134>", "cef"),
        ("<134>Nov 23 08:00:03 fw01 ", "cef"),
        ("<134>Nov  3 08:00:03 fw01 app[42]: ", "cef"),
        ("<134>1 2026-11-23T08:00:03.106Z fw01 app - - - ", "cef"),
        ("", "fortigate"),
        ("<189>", "fortigate"),
        ("<189>Nov 23 08:00:03 fw01 ", "fortigate"),
        ("<189>1 2026-11-23T08:00:03.106Z fw01 - - - - ", "fortigate"),
    ],
)
def test_syslog_header_variants(prefix: str, parser: str) -> None:
    body = CEF_BASE + "src=10.0.0.1 rt=1795420803106" if parser == "cef" else FORTI
    (row,) = rows(parse(parser, [prefix + body]))
    assert row["src_endpoint"]["ip"] == "10.0.0.1"
    assert row["time"] == 1795420803106


def test_cef_time_from_an_rfc5424_header() -> None:
    line = "<134>1 2026-11-23T08:00:03.250Z fw01 app - - - " + CEF_BASE + "src=10.0.0.1"
    (row,) = rows(parse("cef", [line]))
    assert row["time"] == 1795420803250


@pytest.mark.parametrize(
    ("action", "activity_id", "status_id"),
    [("close", 2, 1), ("accept", 6, 1), ("deny", 5, 2), ("server-rst", 3, 1), ("odd", 99, 99)],
)
def test_fortigate_actions(action: str, activity_id: int, status_id: int) -> None:
    (row,) = rows(parse("fortigate", [FORTI.replace('action="close"', f'action="{action}"')]))
    assert (row["activity_id"], row["status_id"]) == (activity_id, status_id)
    assert row["src_endpoint"]["interface_name"] == "pos"
    assert row["network_observation_point"]["name"] == "fw"
    assert json.loads(json.dumps(row["unmapped"]))["policyid"] == "7"


def test_fortigate_other_log_types_are_skipped() -> None:
    line = 'date=2026-11-23 time=08:00:03 devname="fw" type="event" subtype="system" action="login"'
    result = parse("fortigate", [line])
    assert (result.events, result.rejected, result.skipped) == (0, [], 1)


NFDUMP_ROW = (
    "2026-11-23 08:00:58.277,2026-11-23 08:00:58.282,0.004,10.0.12.11,192.0.2.123,123,123,UDP,"
    "........,0,0,1,39,0,0,0,0,0,0,24,24,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,"
    "00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,"
    "0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,10.0.9.1,0/0,1,2026-11-23 08:00:58.282"
)
IPFIX_HEADER = (
    "flowStartSeconds,flowEndSeconds,sourceIPv6Address,destinationIPv6Address,"
    "sourceTransportPort,destinationTransportPort,protocolIdentifier,octetDeltaCount,"
    "packetDeltaCount,reverseOctetDeltaCount,reversePacketDeltaCount"
)


@pytest.mark.parametrize(
    ("lines", "expected", "raises"),
    [
        # A chunk without a header (a tailer mid-file) is read with nfdump's layout.
        ([NFDUMP_ROW], {"traffic.bytes_out": 39, "end_time": 1795420858282}, None),
        (
            [IPFIX_HEADER, "1795420801,1795420803,2001:db8::1,2001:db8::2,5353,53,17,90,1,180,1"],
            {
                "src_endpoint.ip": "2001:db8::1",
                "start_time": 1795420801000,
                "traffic.bytes": 270,
                "traffic.bytes_in": 180,
                "connection_info.protocol_name": "udp",
            },
            None,
        ),
        (
            [IPFIX_HEADER, "1795420801,1795420803,2001:db8::1,2001:db8::2,5353,53,17"],
            None,
            "expected 11 comma-separated fields",
        ),
        ([NFDUMP_ROW.replace("10.0.12.11", "")], None, "no source or destination"),
        # The width is checked past the last column used, and when no column is unused.
        ([NFDUMP_ROW + ",extra"], None, "expected 48 comma-separated fields"),
        ([NFDUMP_ROW.rpartition(",")[0]], None, "expected 48 comma-separated fields"),
        (
            [IPFIX_HEADER, "1795420801,1795420803,2001:db8::1,2001:db8::2,5353,53,17,90,1,180,1,"],
            None,
            "expected 11 comma-separated fields",
        ),
    ],
)
def test_netflow(lines: list[str], expected: dict[str, Any] | None, raises: str | None) -> None:
    result = parse("netflow_csv", lines)
    if raises is not None:
        assert raises in result.rejected[0].reason
        return
    (row,) = rows(result)
    for path, value in (expected or {}).items():
        assert dig(row, path) == value, path


def test_netflow_header_carries_over_to_the_next_chunk() -> None:
    parser = parsers.get("netflow_csv")()
    first = run(parser, RawRecords.of("t", [IPFIX_HEADER]))
    assert (first.events, first.skipped) == (0, 1)
    line = "1795420801,1795420803,2001:db8::1,2001:db8::2,5353,53,17,90,1,180,1"
    (row,) = rows(run(parser, RawRecords.of("t", [line], first=2)))
    assert row["dst_endpoint"]["port"] == 53


def test_netflow_summary_block_is_skipped_across_chunks() -> None:
    parser = parsers.get("netflow_csv")()
    result = run(parser, RawRecords.of("t", [NFDUMP_ROW, "Summary"]))
    assert (result.events, result.skipped) == (1, 1)
    tail = ["flows,bytes,packets,avg_bps,avg_pps,avg_bpp", "1,39,1,0,0,39"]
    result = run(parser, RawRecords.of("t", tail, first=3))
    assert (result.events, result.rejected, result.skipped) == (0, [], 2)


WEB = '203.0.113.7 - - [23/Nov/2026:08:01:51 +0100] "{request}" 200 512 "-" "curl/8.0"'


@pytest.mark.parametrize(
    ("request_line", "expected", "raises"),
    [
        (
            "GET /p/1?a=b&c=d HTTP/1.1",
            {
                "http_request.url.path": "/p/1",
                "http_request.url.query_string": "a=b&c=d",
                "http_request.version": "1.1",
                "activity_id": 3,
                "time": 1795417311000,
                "timezone_offset": 60,
            },
            None,
        ),
        (
            "PROPFIND /dav HTTP/1.1",
            {"activity_id": 99, "unmapped": {"http_method": "PROPFIND"}},
            None,
        ),
        (r"\x16\x03\x01\x00", None, "malformed request line"),
        ("-", None, "malformed request line"),
    ],
)
def test_web_access(request_line: str, expected: dict[str, Any] | None, raises: str | None) -> None:
    result = parse("web_access", [WEB.format(request=request_line)])
    if raises is not None:
        assert raises in result.rejected[0].reason
        return
    (row,) = rows(result)
    for path, value in (expected or {}).items():
        assert dig(row, path) == value, path


def test_web_access_missing_quotes_is_rejected() -> None:
    line = "203.0.113.7 - - [23/Nov/2026:08:01:51 +0000] GET / HTTP/1.1 200 512"
    (rejected,) = parse("web_access", [line]).rejected
    assert "not an access log line" in rejected.reason


def test_suricata_mixed_chunk_is_split_by_event_type() -> None:
    common = (
        '"timestamp":"2026-11-23T08:00:00.000000+0000","src_ip":"10.0.0.1","dest_ip":"10.0.0.2"'
    )
    lines = [
        "{"
        + common
        + ',"event_type":"alert","alert":{"signature_id":1,"signature":"x","severity":1}}',
        "{" + common + ',"event_type":"stats","stats":{"uptime":1}}',
        "{" + common + ',"event_type":"tls","tls":{"sni":"pay.example","version":"TLS 1.3"}}',
        "{"
        + common
        + ',"event_type":"dns","dns":{"type":"query","rrname":"a.example","rrtype":"A"}}',
    ]
    result = parse("suricata_eve", lines)
    assert result.counts() == {"detection_finding": 1, "network_activity": 1, "dns_activity": 1}
    assert result.skipped == 1
    by_class = {row["class_uid"]: row for row in rows(result)}
    assert by_class[2004]["severity_id"] == 4
    assert by_class[4001]["dst_endpoint"]["hostname"] == "pay.example"
    assert by_class[4003]["query"]["hostname"] == "a.example"


@pytest.mark.parametrize(
    ("name", "sample", "confident"),
    [
        ("netflow_csv", ["ts,te,td,sa,da,sp,dp,pr,flg"], True),
        ("netflow_csv", [IPFIX_HEADER], True),
        ("fortigate", [FORTI], True),
        ("cef", ["<134>" + CEF_BASE + "src=1.2.3.4"], True),
        ("web_access", [WEB.format(request="GET / HTTP/1.1")], True),
        ("suricata_eve", ['{"timestamp":"x","event_type":"flow"}'], True),
        ("zeek_dns", ["#path\tdns"], True),
        ("zeek_http", ["#path\thttp"], True),
        ("zeek_dns", ["#path\tconn"], False),
        ("cef", [FORTI], False),
        ("fortigate", [WEB.format(request="GET / HTTP/1.1")], False),
        ("firewall", [FORTI, CEF_BASE + "src=1.2.3.4"], True),
        ("firewall", [FORTI], False),
        ("firewall", [CEF_BASE + "src=1.2.3.4"], False),
    ],
)
def test_sniff(name: str, sample: list[str], confident: bool) -> None:
    assert (parsers.get(name).sniff(sample) >= 0.5) is confident


@pytest.mark.parametrize(
    ("lines", "detected"),
    [
        ([FORTI, FORTI], "fortigate"),
        ([CEF_BASE + "src=1.2.3.4", CEF_BASE + "dst=1.2.3.4"], "cef"),
        ([FORTI, CEF_BASE + "src=1.2.3.4", FORTI], "firewall"),
    ],
    ids=["fortigate-only", "cef-only", "mixed"],
)
def test_firewall_files_are_detected_as_their_own_format_or_mixed(
    lines: list[str], detected: str
) -> None:
    assert detect_bytes("\n".join(lines).encode() + b"\n") == detected


def test_fortigate_one_pass_reader_matches_the_per_key_pattern() -> None:
    """Seeded-random oracle: `key_values` (every pair cut at once) finds what `kv` (a
    regex per key) finds, on lines with quotes, escapes, empty values, repeated and
    unknown keys, and a syslog priority."""
    import random

    import polars as pl

    from vigil.ingest.parsers.base import indexed
    from vigil.ingest.parsers.firewall import FORTIGATE_KEYS, key_values, kv

    generator = random.Random(5)
    keys = [*FORTIGATE_KEYS[:8], "srcintfrole", "msg"]
    values = ("1", "", '""', '"a b"', '"x\\"y"', '"c:\\\\d"', "10.0.0.1", '"<9>"', "é")
    lines = []
    for _ in range(3000):
        pairs = [
            f"{generator.choice(keys)}={generator.choice(values)}"
            for _ in range(generator.randint(0, 8))
        ]
        lines.append(generator.choice(("", "<189>", "<14>1 ")) + " ".join(pairs))
    frame = indexed(pl.Series(lines, dtype=pl.String))
    expected = frame.select(kv(key).alias(f"_{key}") for key in FORTIGATE_KEYS)
    got = key_values(frame, FORTIGATE_KEYS).select(f"_{key}" for key in FORTIGATE_KEYS)
    assert got.to_dicts() == expected.to_dicts()


def test_fortigate_key_inside_a_quoted_value_is_not_a_field() -> None:
    """The one place the one-pass reader differs from a regex per key: `srcip=` inside
    a quoted value belongs to that value."""
    line = FORTI.replace("srcip=10.0.0.1", 'msg="from srcip=6.6.6.6" srcip=10.0.0.1')
    (event,) = rows(parse("fortigate", [line]))
    assert dig(event, "src_endpoint.ip") == "10.0.0.1"


def test_nfdump_tcp_flags_read_as_binary_match_bit_by_bit() -> None:
    """Seeded-random oracle: the flags letters read as one binary number give the sum
    of the bits of the letters that are not '.', as reading them one by one does."""
    import random

    import polars as pl

    from vigil.ingest.parsers.netflow import TCP_FLAG_BITS, _tcp_flags

    generator = random.Random(3)
    texts = [
        "".join(generator.choice("CEUAPRSF.x0é") for _ in range(generator.choice((7, 8, 8, 9))))
        for _ in range(2000)
    ]
    got = pl.DataFrame({"flags": texts}).select(_tcp_flags(pl.col("flags"))).to_series()
    for text, value in zip(texts, got.to_list(), strict=True):
        if text.isdigit() or text.startswith("0x") or len(text) != len(TCP_FLAG_BITS):
            continue  # a number, hex, or not eight letters: not read as letters
        expected = sum(bit for char, bit in zip(text, TCP_FLAG_BITS, strict=True) if char != ".")
        assert value == expected, text


def test_nfdump_tcp_flags_of_distinct_texts_match_reading_every_row() -> None:
    """Reading each distinct flags text once and looking it up gives what reading every
    row gives, nulls, numbers and hex included."""
    import random

    import polars as pl

    from vigil.ingest.parsers.netflow import _flags_by_value, _tcp_flags

    generator = random.Random(4)
    choices = ["......S.", ".A..R...", "CEUAPRSF", "........", "18", "0x12", "x", None]
    frame = pl.DataFrame({"flags": [generator.choice(choices) for _ in range(500)]})
    expected = frame.select(_tcp_flags(pl.col("flags"))).to_series().to_list()
    got = frame.select(_flags_by_value(frame, "flags")).to_series().to_list()
    assert got == expected
    assert {2, 18, 255, None} <= set(expected)  # letters, number and hex, all set, unset


def test_malformed_addresses_and_ports_are_refused() -> None:
    """What OCSF would refuse is a dead letter with a reason, checked once for every
    parser in `parse_with`; well-formed values of every shape pass."""
    import polars as pl

    from vigil.events import NetworkActivity
    from vigil.ingest.parsers.base import INDEX, parse_with

    rows = [
        ("10.0.0.1", "02-00-00-00-0c-28", 443, "10.0.0.2", None),
        ("fe80::1%eth0", "02:00:00:00:0C:28", 0, "::ffff:10.0.0.2", None),
        ("10.0.9.12srcport=36183", None, 443, "10.0.0.2", "src_endpoint.ip is not an IP"),
        ("00.0.11.34", None, 443, "10.0.0.2", "src_endpoint.ip is not an IP"),
        ("10.0.0.1", "02:00:0000:0c:28", 443, "10.0.0.2", "src_endpoint.mac is not a MAC"),
        ("10.0.0.1", None, 494703, "10.0.0.2", "src_endpoint.port is not a port"),
        ("10.0.0.1", None, 443, "10.0.0.2", None),
    ]
    frame = pl.DataFrame(
        {
            INDEX: pl.Series(range(len(rows)), dtype=pl.UInt32),
            "time": pl.Series([1795420800000] * len(rows)).cast(pl.Datetime("ms", "UTC")),
            "activity_id": [6] * len(rows),
            "metadata.product.name": ["test"] * len(rows),
            "src_endpoint.ip": [row[0] for row in rows],
            "src_endpoint.mac": [row[1] for row in rows],
            "src_endpoint.port": [row[2] for row in rows],
            "dst_endpoint.ip": [row[3] for row in rows],
        }
    )
    result = parse_with(frame, NetworkActivity)
    assert result.events == 3
    reasons = {item.index: item.reason for item in result.rejected}
    for index, row in enumerate(rows):
        expected = row[4]
        if expected is None:
            assert index not in reasons
        else:
            assert reasons[index].startswith(expected), reasons[index]
