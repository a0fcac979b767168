"""Guest Wi-Fi abuse: a customer's laptop scanning the store, and a bandwidth hog.

The scanner joins the guest network, sweeps the store's internal segments and probes
the hosts it finds (nmap-like: SYNs, refused and unanswered, with reverse look-ups of
every address); the firewall denies all of it. The hog downloads tens of gigabytes
from file-sharing peers over a few hours. Both are whole RADIUS sessions, so the
device is known by MAC and address.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from vigil.estate import Store
from vigil.sim.guests import vacant_ips
from vigil.sim.sources.dns import ZeekDnsSource
from vigil.sim.sources.firewall import FirewallSource
from vigil.sim.sources.network import ZeekConnSource, internet_hosts
from vigil.sim.sources.wifi import RadiusSource, client_macs
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World

SWEPT = ("pos", "cde", "iot", "mgmt")
PROBED_PORTS = np.array(
    [21, 22, 23, 80, 135, 139, 443, 445, 554, 1433, 3306, 3389, 5900, 8080, 8443]
)


def _guest(
    scenario: Scenario, world: World, rng: np.random.Generator, minutes: float
) -> tuple[Store, float, float, str, str]:
    store = scenario.pick_store(world, rng)
    if store.segment("guest") is None:
        raise SimError(f"{scenario.name}: store {store.uid} has no guest network")
    start = scenario.pick_start(world, rng, store, trading=True)
    end = min(start + minutes * 60, world.span.end - 1)
    free = vacant_ips(world, store, start - 1800, end + 1800)  # clear of benign leases
    if len(free) == 0:
        raise SimError(f"{scenario.name}: no free guest address in store {store.uid} then")
    return store, start, end, str(client_macs(rng, 1)[0]), str(rng.choice(free))


@scenarios.register("guest_wifi_scan")
class GuestWifiScan(Scenario):
    name: ClassVar[str] = "guest_wifi_scan"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "A device on guest Wi-Fi sweeps the store's POS, card-data, IoT and management segments and probes the hosts it finds."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store, start, end, mac, ip = _guest(self, world, rng, 40)
        scan = start + 300
        targets = [
            f"{segment.cidr.rsplit('.', 1)[0]}.{host}"
            for name in SWEPT
            if (segment := store.segment(name)) is not None
            for host in range(1, 255)
        ]
        sweep = scan + np.arange(len(targets)) * 0.05
        alive = {a.ip for a in store.assets if a.ip} & set(targets)
        probed = sorted(alive)[: max(5, int(20 * self.params.intensity))]
        ports = np.tile(PROBED_PORTS, len(probed))
        hosts = np.repeat(probed, len(PROBED_PORTS))
        probes = sweep[-1] + 30 + np.arange(len(hosts)) * 0.2
        injection = Injection()
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                sweep,
                ip,
                np.array(targets),
                80,
                state=np.where(np.isin(targets, list(alive)), "REJ", "S0"),
            ),
        )
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                probes,
                ip,
                hosts,
                ports,
                state=np.where(rng.random(len(hosts)) < 0.7, "REJ", "S0"),
            ),
        )
        reverse = [".".join(reversed(t.split("."))) + ".in-addr.arpa" for t in targets]
        injection.add(
            ZeekDnsSource.name,
            ZeekDnsSource.lookups(
                rng, store, sweep + 0.01, ip, reverse, qtype="PTR", rcode="NXDOMAIN"
            ),
        )
        injection.add(
            RadiusSource.name,
            RadiusSource.sessions(
                rng,
                store,
                [start],
                [end - start],
                macs=[mac],
                ips=[ip],
                input_octets=[float(rng.integers(2, 6)) * 1e6],
                output_octets=[float(rng.integers(5, 30)) * 1e6],
            ),
        )
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}-{int(start)}",
                label=self.label,
                start=start,
                end=float(probes[-1]),
                onset=float(sweep[0]),
                stores=(store.uid,),
                entities={"ip": [ip], "mac": [mac]},
                sources=(
                    ZeekConnSource.name,
                    ZeekDnsSource.name,
                    RadiusSource.name,
                    FirewallSource.name,
                ),
                description=(
                    f"Guest {mac} ({ip}) sweeps {len(targets)} addresses in {len(SWEPT)} segments, "
                    f"then probes {len(PROBED_PORTS)} ports on {len(probed)} live hosts."
                ),
            )
        )
        return injection


@scenarios.register("bandwidth_hog")
class BandwidthHog(Scenario):
    name: ClassVar[str] = "bandwidth_hog"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "A device on guest Wi-Fi downloads tens of gigabytes from file-sharing peers over a few hours."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store, start, end, mac, ip = _guest(self, world, rng, 180)
        total = float(rng.uniform(40e9, 90e9)) * self.params.intensity
        flows = int(400 * self.params.intensity)
        times = np.sort(start + 60 + rng.random(flows) * (end - start - 120))
        shares = rng.dirichlet(np.ones(flows))
        injection = Injection()
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                times,
                ip,
                internet_hosts(rng, flows),
                rng.integers(6881, 6890, flows),
                orig_bytes=(shares * total * 0.03).astype(np.int64),
                resp_bytes=(shares * total).astype(np.int64),
                duration=rng.uniform(60, 900, flows),
            ),
        )
        injection.add(
            RadiusSource.name,
            RadiusSource.sessions(
                rng,
                store,
                [start],
                [end - start],
                macs=[mac],
                ips=[ip],
                input_octets=[total * 0.03],
                output_octets=[total],
            ),
        )
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}-{int(start)}",
                label=self.label,
                start=start,
                end=end,
                onset=float(times[0]),
                stores=(store.uid,),
                entities={"ip": [ip], "mac": [mac]},
                sources=(ZeekConnSource.name, RadiusSource.name),
                description=(
                    f"Guest {mac} ({ip}) downloads {total / 1e9:.0f} GB from {flows} peers "
                    f"in {(end - start) / 3600:.1f} hours."
                ),
            )
        )
        return injection
