"""FortiGate VPN event logs: vendor and remote sign-ins as Authentication events."""

from __future__ import annotations

from typing import Any

import pytest

from ocsf_check import OFFICIAL_OBJECT, ocsf_errors
from vigil.events import Authentication, NetworkActivity
from vigil.ingest import RawRecords, parsers
from vigil.ingest.parsers.base import run
from vigil.ingest.types import ParseResult

HEAD = (
    '<189>date=2026-11-23 time=21:14:09 devname="s001-fw-01" devid="FGT60F0000000001" '
    'eventtime=1795468449000000000 tz="+0000" logid="{logid}" type="event" subtype="vpn" '
    'level="{level}" vd="root" logdesc="{desc}" action="{action}" '
)
UP = HEAD.format(
    logid="0101039424", level="notice", desc="SSL VPN tunnel up", action="tunnel-up"
) + (
    'tunneltype="ssl-tunnel" tunnelid=1528 remip=203.0.113.5 tunnelip=10.212.134.200 '
    'user="acme-hvac" group="vendors" dst_host="N/A" reason="N/A" msg="SSL tunnel established"'
)
FAIL = HEAD.format(
    logid="0101039426", level="alert", desc="SSL VPN login fail", action="ssl-login-fail"
) + (
    'tunneltype="ssl-web" tunnelid=0 remip=198.51.100.7 user="admin" group="N/A" '
    'dst_host="N/A" reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"'
)
DOWN = HEAD.format(
    logid="0101039425", level="notice", desc="SSL VPN tunnel down", action="tunnel-down"
) + (
    'tunneltype="ssl-tunnel" tunnelid=1528 remip=203.0.113.5 tunnelip=10.212.134.200 '
    'user="acme-hvac" group="vendors" dst_host="N/A" reason="N/A" duration=1820 '
    'sentbyte=48213 rcvdbyte=913372 msg="SSL tunnel shutdown"'
)
STATS = (
    HEAD.format(
        logid="0101039427", level="information", desc="SSL VPN tunnel stats", action="tunnel-stats"
    )
    + 'tunneltype="ssl-tunnel" tunnelid=1528 remip=203.0.113.5 user="acme-hvac"'
)
IPSEC = (
    HEAD.format(
        logid="0101037138",
        level="notice",
        desc="IPsec connection status changed",
        action="tunnel-up",
    )
    + 'tunneltype="ipsec" remip=192.0.2.77 xauthuser="acme-pos" xauthgroup="vendors" tunnelid=99'
)
SYSTEM = (
    'date=2026-11-23 time=08:00:03 devname="s001-fw-01" logid="0100032001" type="event" '
    'subtype="system" action="login" user="admin"'
)
TRAFFIC = (
    'date=2026-11-23 time=08:00:03 devname="fw" devid="FGT1" eventtime=1795420803106222000 '
    'type="traffic" subtype="forward" srcip=10.0.0.1 srcport=1234 srcintf="pos" '
    'dstip=10.0.0.2 dstport=443 dstintf="wan1" proto=6 action="close" policyid=7'
)


def parse(name: str, lines: list[str]) -> ParseResult:
    return run(parsers.get(name)(), RawRecords.of("t", lines))


def events(result: ParseResult, event_class: type[Any]) -> list[Any]:
    return [
        event
        for batch in result.batches
        if batch.event_class is event_class
        for event in batch.events()
    ]


@pytest.mark.parametrize("name", ["fortigate", "firewall"])
def test_vpn_sign_ins_become_authentication_and_traffic_stays_network(name: str) -> None:
    result = parse(name, [UP, TRAFFIC, FAIL, STATS, SYSTEM, DOWN])
    assert (result.skipped, result.rejected) == (2, [])
    assert len(events(result, NetworkActivity)) == 1
    up, fail, down = events(result, Authentication)
    assert (up.activity_id, up.status_id, fail.activity_id, fail.status_id) == (1, 1, 1, 2)
    assert (down.activity_id, down.status_id, down.duration) == (2, 1, 1_820_000)
    assert up.user.name == "acme-hvac"
    assert [group.name for group in up.user.groups] == ["vendors"]
    assert fail.user.groups is None  # "N/A" is no group
    assert (up.src_endpoint.ip, fail.src_endpoint.ip) == ("203.0.113.5", "198.51.100.7")
    assert up.dst_endpoint.hostname == "s001-fw-01"
    assert (up.session.uid, up.session.is_vpn, up.is_remote) == ("1528", True, True)
    assert fail.status_detail == "sslvpn_login_permission_denied"
    assert up.status_detail is None  # a success carries no failure reason
    assert (up.service.name, fail.service.name) == ("ssl-tunnel", "ssl-web")
    assert up.time.isoformat() == "2026-11-23T21:14:09+00:00"
    assert (down.unmapped["tunnelip"], down.unmapped["rcvdbyte"]) == ("10.212.134.200", "913372")
    for event in (up, fail, down):
        assert ocsf_errors(event, OFFICIAL_OBJECT) == []


def test_a_vpn_record_without_a_time_is_rejected_and_costs_only_itself() -> None:
    broken = UP.replace("eventtime=1795468449000000000 ", "").replace("date=2026-11-23 ", "")
    result = parse("fortigate", [UP, broken, DOWN])
    assert [item.index for item in result.rejected] == [1]
    assert "time" in result.rejected[0].reason
    assert len(events(result, Authentication)) == 2


def test_an_ipsec_dial_up_names_its_xauth_user() -> None:
    (event,) = events(parse("fortigate", [IPSEC]), Authentication)
    assert (event.user.name, event.service.name, event.src_endpoint.ip) == (
        "acme-pos",
        "ipsec",
        "192.0.2.77",
    )
