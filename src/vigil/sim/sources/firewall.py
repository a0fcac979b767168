"""Store firewall traffic logs as FortiGate (FortiOS 7.4) sends them over syslog.

`<189>date=2026-11-23 time=14:02:11 devname="s031-fw-01" devid="FGT60F..." eventtime=...
tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root"
srcip=10.31.11.11 srcport=51234 srcintf="pos" srcintfrole="lan" dstip=198.51.100.20
dstport=443 dstintf="wan1" dstintfrole="wan" sessionid=... proto=6 action="close" policyid=4
service="HTTPS" trandisp="snat" transip=198.18.1.0 duration=2 sentbyte=2100 rcvdbyte=3900
sentpkt=2 rcvdpkt=4`. A session is logged when it ends.

The firewall sees every flow Zeek saw that crosses a segment boundary or leaves the
store (so scenario traffic appears here too): completed sessions close, refused
ones (`S0`/`REJ`) are denied by policy 0. On top of that, the internet's background
scanning of the store's WAN address is denied (subtype `local`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim.sources.network import ZeekConnSource, internet_hosts, is_private, wan_address
from vigil.sim.types import Source, sources
from vigil.sim.world import World

SERVICES = {
    22: "SSH",
    23: "TELNET",
    53: "DNS",
    123: "NTP",
    443: "HTTPS",
    445: "SMB",
    514: "SYSLOG",
    554: "RTSP",
    3389: "RDP",
    8443: "HTTPS-8443",
    8883: "MQTT-TLS",
}
SCANNED_PORTS = np.array([22, 23, 80, 443, 445, 1433, 3389, 5900, 8080, 8443])
POLICIES = {"wan1": 4, "hq-vpn": 7}  # outbound to the internet / to head office
DENIED = ("S0", "REJ")


@sources.register("firewall")
class FirewallSource(Source):
    name: ClassVar[str] = "firewall"
    path: ClassVar[str] = "firewall/fortigate.log"
    derives_from: ClassVar[tuple[str, ...]] = (ZeekConnSource.name,)
    schema: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.Float64(),
        "store": pl.String(),
        "devname": pl.String(),
        "subtype": pl.String(),
        "srcip": pl.String(),
        "srcport": pl.Int64(),
        "srcintf": pl.String(),
        "dstip": pl.String(),
        "dstport": pl.Int64(),
        "dstintf": pl.String(),
        "sessionid": pl.Int64(),
        "proto": pl.Int64(),
        "action": pl.String(),
        "policyid": pl.Int64(),
        "transip": pl.String(),
        "duration": pl.Int64(),
        "sentbyte": pl.Int64(),
        "rcvdbyte": pl.Int64(),
        "sentpkt": pl.Int64(),
        "rcvdpkt": pl.Int64(),
    }

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        """Internet background noise: scans of the store's WAN address, all denied."""
        firewall = next((a for a in store.assets if a.kind == AssetKind.FIREWALL), None)
        if firewall is None:
            return self.frame({name: [] for name in self.schema})
        rng = world.rng("firewall", store.uid)
        span = world.span
        count = int(rng.poisson(span.seconds / 3600 * 40))
        wan = wan_address(world, store)
        return self.frame(
            {
                "ts": np.sort(span.start + rng.random(count) * span.seconds).tolist(),
                "store": [store.uid] * count,
                "devname": [firewall.uid] * count,
                "subtype": ["local"] * count,
                "srcip": internet_hosts(rng, count).tolist(),
                "srcport": rng.integers(1024, 65535, count).tolist(),
                "srcintf": ["wan1"] * count,
                "dstip": [wan] * count,
                "dstport": SCANNED_PORTS[rng.integers(0, len(SCANNED_PORTS), count)].tolist(),
                "dstintf": ["root"] * count,
                "sessionid": rng.integers(1, 2**31, count).tolist(),
                "proto": [6] * count,
                "action": ["deny"] * count,
                "policyid": [0] * count,
                "transip": [None] * count,
                "duration": [0] * count,
                "sentbyte": [0] * count,
                "rcvdbyte": [0] * count,
                "sentpkt": [1] * count,
                "rcvdpkt": [0] * count,
            }
        )

    def derive(self, world: World, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        """The Zeek flows that pass through the firewall, as it logs them."""
        conn = parents[ZeekConnSource.name]
        segments, firewalls = [], []
        for store in world.estate.stores:
            firewall = next((a for a in store.assets if a.kind == AssetKind.FIREWALL), None)
            if firewall is None:
                continue
            firewalls.append((store.uid, firewall.uid, wan_address(world, store)))
            segments += [(store.uid, s.cidr.rsplit(".", 1)[0], s.name) for s in store.segments]
        if not firewalls:
            return self.frame({name: [] for name in self.schema})
        nets = pl.DataFrame(segments, schema=["store", "net", "intf"], orient="row")
        walls = pl.DataFrame(firewalls, schema=["store", "devname", "wan"], orient="row")

        def interface(column: str) -> pl.Expr:
            return (
                pl.when(~is_private(column))
                .then(pl.lit("wan1"))
                .when(pl.col(f"{column}_intf").is_null())
                .then(pl.lit("hq-vpn"))
                .otherwise(pl.col(f"{column}_intf"))
            )

        flows = (
            conn.with_columns(
                orig_net=pl.col("orig_h").str.replace(r"\.\d+$", ""),
                resp_net=pl.col("resp_h").str.replace(r"\.\d+$", ""),
            )
            .join(
                nets.rename({"net": "orig_net", "intf": "orig_h_intf"}),
                on=["store", "orig_net"],
                how="left",
            )
            .join(
                nets.rename({"net": "resp_net", "intf": "resp_h_intf"}),
                on=["store", "resp_net"],
                how="left",
            )
            .join(walls, on="store", how="inner")
            .with_columns(srcintf=interface("orig_h"), dstintf=interface("resp_h"))
            .filter(pl.col("srcintf") != pl.col("dstintf"))
        )
        denied = pl.col("conn_state").is_in(DENIED)
        duration = pl.col("duration").fill_null(0)
        return flows.select(
            ts=pl.col("ts") + duration,
            store=pl.col("store"),
            devname=pl.col("devname"),
            subtype=pl.lit("forward"),
            srcip=pl.col("orig_h"),
            srcport=pl.col("orig_p"),
            srcintf=pl.col("srcintf"),
            dstip=pl.col("resp_h"),
            dstport=pl.col("resp_p"),
            dstintf=pl.col("dstintf"),
            sessionid=(pl.col("uid").hash(world.seed) % (2**31)).cast(pl.Int64),
            proto=pl.when(pl.col("proto") == "udp").then(17).otherwise(6),
            action=pl.when(denied).then(pl.lit("deny")).otherwise(pl.lit("close")),
            policyid=pl.when(denied)
            .then(0)
            .otherwise(pl.col("dstintf").replace_strict(POLICIES, default=2)),
            transip=pl.when((pl.col("dstintf") == "wan1") & ~denied).then(pl.col("wan")),
            duration=duration.round().cast(pl.Int64),
            sentbyte=pl.col("orig_bytes").fill_null(0),
            rcvdbyte=pl.col("resp_bytes").fill_null(0),
            sentpkt=pl.col("orig_pkts").fill_null(0),
            rcvdpkt=pl.col("resp_pkts").fill_null(0),
        ).cast(pl.Schema(self.schema))

    def render(self, frame: pl.DataFrame) -> pl.Series:
        moment = pl.from_epoch((pl.col("ts") * 1_000_000).cast(pl.Int64), time_unit="us")

        def pair(key: str, value: pl.Expr, quoted: bool = False) -> pl.Expr:
            text = value.cast(pl.String)
            return pl.concat_str(
                [pl.lit(f' {key}="'), text, pl.lit('"')] if quoted else [pl.lit(f" {key}="), text]
            )

        service = pl.col("dstport").replace_strict(SERVICES, default=None, return_dtype=pl.String)
        service = service.fill_null(
            pl.concat_str([pl.lit("tcp/"), pl.col("dstport").cast(pl.String)])
        )
        local = pl.col("subtype") == "local"
        line = pl.concat_str(
            [
                pl.lit("<189>date="),
                moment.dt.strftime("%Y-%m-%d"),
                pair("time", moment.dt.strftime("%H:%M:%S")),
                pair("devname", pl.col("devname"), quoted=True),
                pair("devid", pl.lit("FGT60F") + pl.col("store").str.zfill(10), quoted=True),
                pair("eventtime", (pl.col("ts") * 1e6).round().cast(pl.Int64) * 1000),
                pair("tz", pl.lit("+0000"), quoted=True),
                pair(
                    "logid",
                    pl.when(local).then(pl.lit("0001000014")).otherwise(pl.lit("0000000013")),
                    quoted=True,
                ),
                pair("type", pl.lit("traffic"), quoted=True),
                pair("subtype", pl.col("subtype"), quoted=True),
                pair("level", pl.lit("notice"), quoted=True),
                pair("vd", pl.lit("root"), quoted=True),
                pair("srcip", pl.col("srcip")),
                pair("srcport", pl.col("srcport")),
                pair("srcintf", pl.col("srcintf"), quoted=True),
                pair(
                    "srcintfrole",
                    pl.when(pl.col("srcintf") == "wan1")
                    .then(pl.lit("wan"))
                    .otherwise(pl.lit("lan")),
                    quoted=True,
                ),
                pair("dstip", pl.col("dstip")),
                pair("dstport", pl.col("dstport")),
                pair("dstintf", pl.col("dstintf"), quoted=True),
                pair(
                    "dstintfrole",
                    pl.when(pl.col("dstintf") == "wan1")
                    .then(pl.lit("wan"))
                    .when(pl.col("dstintf") == "root")
                    .then(pl.lit("undefined"))
                    .otherwise(pl.lit("lan")),
                    quoted=True,
                ),
                pair("sessionid", pl.col("sessionid")),
                pair("proto", pl.col("proto")),
                pair("action", pl.col("action"), quoted=True),
                pair("policyid", pl.col("policyid")),
                pair("service", service, quoted=True),
                pair(
                    "trandisp",
                    pl.when(pl.col("transip").is_null())
                    .then(pl.lit("noop"))
                    .otherwise(pl.lit("snat")),
                    quoted=True,
                ),
                pl.when(pl.col("transip").is_null())
                .then(pl.lit(""))
                .otherwise(pair("transip", pl.col("transip"))),
                pair("duration", pl.col("duration")),
                pair("sentbyte", pl.col("sentbyte")),
                pair("rcvdbyte", pl.col("rcvdbyte")),
                pair("sentpkt", pl.col("sentpkt")),
                pair("rcvdpkt", pl.col("rcvdpkt")),
            ]
        )
        return frame.select(line.alias("line"))["line"]
