"""nftables adapter, for real: two network namespaces joined by a veth pair.

A plays the attacker or the device, B the store gateway (it also listens). The
adapter writes B's `inet vigil` table; the probes connect from A to B (and back)
and show the traffic stop and resume. Namespaces get unique names per run and
are deleted in the fixture's finaliser, even when a test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import ip_address, ip_network

import pytest

from vigil.respond import ExecutionContext, FailureKind, actions, rollback
from vigil.respond.adapters.nftables import NftFirewall
from vigil.respond.backends import Backends
from vigil.respond.geo import CountryRanges
from vigil.respond.recording import FakeSleep

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None,
    reason="needs root, `ip` (iproute2) and `nft` (apt-get install nftables)",
)

A_IP, B_IP, MGMT_IP = "10.200.0.1", "10.200.0.2", "10.200.0.3"
PORT = 8080
UDP_PORT = 9090

LISTENER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(64); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""

PROBE = """
import socket, sys
s = socket.socket(); s.settimeout(0.4)
if len(sys.argv) > 3: s.bind((sys.argv[3], 0))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
"""

UDP_COUNT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True); s.settimeout(2.0); n = 0
try:
    while True:
        s.recv(64); n += 1; s.settimeout(0.5)
except OSError:
    print(n)
"""

UDP_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _python(ns: str, code: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-c", code, *args]


@dataclass
class Pair:
    a: str
    b: str

    def reachable(self, source_ns: str, host: str, source_ip: str | None = None) -> bool:
        args = [host, str(PORT)] + ([source_ip] if source_ip else [])
        return subprocess.run(_python(source_ns, PROBE, *args), check=False).returncode == 0

    def a_to_b(self, host: str = B_IP) -> bool:
        return self.reachable(self.a, host)

    def udp_received(self, count: int) -> int:
        with subprocess.Popen(
            _python(self.b, UDP_COUNT, str(UDP_PORT)), stdout=subprocess.PIPE, text=True
        ) as receiver:
            assert receiver.stdout is not None
            assert receiver.stdout.readline().strip() == "ready"
            subprocess.run(_python(self.a, UDP_SEND, B_IP, str(UDP_PORT), str(count)), check=True)
            return int(receiver.stdout.readline())


def _start_listener(ns: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(_python(ns, LISTENER, str(PORT)), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture
def pair() -> Iterator[Pair]:
    tag = uuid.uuid4().hex[:8]
    a, b = f"vga{tag}", f"vgb{tag}"
    listeners: list[subprocess.Popen[str]] = []
    try:
        _ip("netns", "add", a)
        _ip("netns", "add", b)
        _ip("link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}")
        _ip("link", "set", f"va{tag}", "netns", a)
        _ip("link", "set", f"vb{tag}", "netns", b)
        _ip("-n", a, "addr", "add", f"{A_IP}/24", "dev", f"va{tag}")
        _ip("-n", b, "addr", "add", f"{B_IP}/24", "dev", f"vb{tag}")
        _ip("-n", b, "addr", "add", f"{MGMT_IP}/24", "dev", f"vb{tag}")
        for ns, dev in ((a, f"va{tag}"), (b, f"vb{tag}")):
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        listeners = [_start_listener(b), _start_listener(a)]
        yield Pair(a, b)
    finally:
        for process in listeners:
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def _context(pair: Pair, key: str, countries: CountryRanges | None = None) -> ExecutionContext:
    firewall = NftFirewall(netns=pair.b)
    return ExecutionContext(
        backends=Backends(firewalls={"default": firewall}),
        key=key,
        sleep=FakeSleep(),
        countries=countries,
    )


def _until(check: Callable[[], bool], within: float = 10.0) -> bool:
    """Poll `check` until it holds; False if it never did within the bound."""
    stop = time.monotonic() + within
    while time.monotonic() < stop:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_block_ip_stops_traffic_and_rollback_restores_it(pair: Pair) -> None:
    assert pair.a_to_b()
    context = _context(pair, "inc-1/block")
    result = actions.get("block_ip")().run({"address": A_IP, "expires_in": 600}, context)
    assert result.ok, result.detail
    assert not pair.a_to_b()
    firewall = NftFirewall(netns=pair.b)
    assert ip_network(A_IP) in firewall.elements()["block4"]

    undone = rollback(result, context)
    assert undone.ok, undone.detail
    assert pair.a_to_b()
    assert ip_network(A_IP) not in firewall.elements()["block4"]


def test_block_with_a_short_timeout_expires_by_itself(pair: Pair) -> None:
    context = _context(pair, "inc-2/block")
    result = actions.get("block_ip")().run({"address": A_IP, "expires_in": 2}, context)
    assert result.ok
    assert not pair.a_to_b()
    assert _until(pair.a_to_b), "the 2 s element never expired"
    assert ip_network(A_IP) not in NftFirewall(netns=pair.b).elements()["block4"]
    # Rolling back an element that already expired is no error.
    assert rollback(result, context).ok


def test_setup_is_idempotent_and_a_repeat_block_leaves_the_first_alone(pair: Pair) -> None:
    block = actions.get("block_ip")()
    first = block.run({"address": A_IP, "expires_in": 600}, _context(pair, "k1"))
    second = block.run({"address": A_IP, "expires_in": 600}, _context(pair, "k2"))
    assert first.ok
    assert first.rollback is not None
    assert second.ok
    assert second.rollback is None
    assert second.changes == ()
    assert "already there" in second.detail
    rules = subprocess.run(
        ["ip", "netns", "exec", pair.b, "nft", "list", "chain", "inet", "vigil", "input"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert rules.count("@block4 drop") == 1


def test_quarantine_cuts_the_device_off_except_management(pair: Pair) -> None:
    context = _context(pair, "inc-3/quarantine")
    params = {
        "device": A_IP,
        "management": [MGMT_IP],
        "device_name": "pos-031-07",
        "expires_in": 600,
    }
    result = actions.get("quarantine_device")().run(params, context)
    assert result.ok, result.detail
    assert not pair.a_to_b(B_IP)
    assert pair.a_to_b(MGMT_IP)
    assert not pair.reachable(pair.b, A_IP, source_ip=B_IP)
    assert pair.reachable(pair.b, A_IP, source_ip=MGMT_IP)

    assert rollback(result, context).ok
    assert pair.a_to_b(B_IP)
    assert pair.reachable(pair.b, A_IP, source_ip=B_IP)


def test_block_range_and_an_overlapping_range_is_a_clear_permanent_failure(pair: Pair) -> None:
    block = actions.get("block_range")()
    result = block.run({"network": "10.200.0.0/30", "expires_in": 600}, _context(pair, "r1"))
    assert result.ok
    assert not pair.a_to_b()

    wider = block.run({"network": "10.200.0.0/29", "expires_in": 600}, _context(pair, "r2"))
    assert not wider.ok
    assert wider.failure is not None
    assert wider.failure.kind is FailureKind.PERMANENT
    assert "overlaps 10.200.0.0/30" in wider.failure.message
    assert len(wider.attempts) == 1

    assert rollback(result, _context(pair, "r1")).ok
    assert pair.a_to_b()


def test_geo_block_drops_a_countrys_ranges(pair: Pair) -> None:
    countries = CountryRanges.from_rows([("10.200.0.0/30", "ZZ"), ("198.51.100.0/24", "ZZ")])
    context = _context(pair, "g1", countries)
    result = actions.get("geo_block")().run({"country": "zz", "expires_in": 600}, context)
    assert result.ok, result.detail
    assert len(result.changes) == 2
    assert not pair.a_to_b()
    assert rollback(result, context).ok
    assert pair.a_to_b()
    assert NftFirewall(netns=pair.b).elements()["geo4"] == set()


def test_rate_limit_drops_a_sources_packets_above_the_rate(pair: Pair) -> None:
    assert pair.udp_received(60) == 60
    context = _context(pair, "rl1")
    params = {"network": f"{A_IP}/32", "packets_per_second": 5, "burst": 5, "expires_in": 600}
    result = actions.get("rate_limit")().run(params, context)
    assert result.ok, result.detail
    received = pair.udp_received(60)
    assert 0 < received < 30
    assert rollback(result, context).ok
    assert pair.udp_received(60) == 60


def test_a_missing_namespace_is_a_configuration_failure() -> None:
    context = ExecutionContext(
        backends=Backends(firewalls={"default": NftFirewall(netns="vigil-no-such-ns")}),
        key="x",
        sleep=FakeSleep(),
    )
    result = actions.get("block_ip")().run({"address": "192.0.2.1", "expires_in": 60}, context)
    assert not result.ok
    assert result.failure is not None
    assert result.failure.kind is FailureKind.CONFIG
    assert ip_address("192.0.2.1") == result.params.address  # type: ignore[attr-defined]
