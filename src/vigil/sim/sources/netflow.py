"""NetFlow records as `nfdump -o csv` prints them, from store firewalls and the shop's edge.

One unidirectional flow per line, with nfdump's CSV columns (`ts,te,td,sa,da,sp,dp,pr,
flg,...,ipkt,ibyt,...,ra,eng,exid,tr`): times are UTC `YYYY-MM-DD HH:MM:SS.mmm`, `pr`
is TCP/UDP, `flg` the eight TCP flag positions `CEUAPRSF`, `ra` the exporter's address.

Store firewalls export every Zeek flow that leaves the store, one record per direction.
The web shop's edge router exports a flow pair for every request in the shop's access
log, so a flood on the shop shows up in both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import polars as pl

from vigil.estate.types import AssetKind
from vigil.sim.sources.network import ZeekConnSource, is_private
from vigil.sim.sources.web import WebAccessSource
from vigil.sim.types import Source, sources
from vigil.sim.world import World

SHOP_ADDRESS = "198.51.100.80"
"""The web shop's public address (its load balancer)."""
SHOP_EDGE = "172.16.0.1"
"""The data-centre edge router that exports the shop's flows."""
HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,"
    "dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,"
    + ",".join(f"mpls{i}" for i in range(1, 11))
    + ",cl,sl,al,ra,eng,exid,tr"
)
ORIGINATOR_FLAGS = {"SF": "...AP.SF", "S0": "......S.", "REJ": "......S."}
RESPONDER_FLAGS = {"SF": "...AP.SF", "S0": None, "REJ": "...A.R.."}


@sources.register("netflow")
class NetflowSource(Source):
    name: ClassVar[str] = "netflow"
    path: ClassVar[str] = "netflow/flows.csv"
    per_store: ClassVar[bool] = False
    derives_from: ClassVar[tuple[str, ...]] = (ZeekConnSource.name, WebAccessSource.name)
    schema: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.Float64(),
        "store": pl.String(),
        "te": pl.Float64(),
        "sa": pl.String(),
        "da": pl.String(),
        "sp": pl.Int64(),
        "dp": pl.Int64(),
        "pr": pl.String(),
        "flg": pl.String(),
        "ipkt": pl.Int64(),
        "ibyt": pl.Int64(),
        "ra": pl.String(),
    }

    def generate_estate(self, world: World) -> pl.DataFrame:
        return self.frame({name: [] for name in self.schema})  # everything is derived

    def derive(self, world: World, parents: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
        exporters = pl.DataFrame(
            [
                (store.uid, asset.ip)
                for store in world.estate.stores
                for asset in store.assets
                if asset.kind == AssetKind.FIREWALL and asset.ip
            ],
            schema=["store", "ra"],
            orient="row",
        )
        conn = (
            parents[ZeekConnSource.name]
            .filter(~is_private("orig_h") | ~is_private("resp_h"))
            .join(exporters, on="store", how="inner")
            .with_columns(
                te=pl.col("ts") + pl.col("duration").fill_null(0),
                pr=pl.col("proto").str.to_uppercase(),
                tcp=pl.col("proto") == "tcp",
            )
        )

        def direction(forward: bool) -> pl.DataFrame:
            flags = ORIGINATOR_FLAGS if forward else RESPONDER_FLAGS
            side = conn.with_columns(
                flg=pl.when(pl.col("tcp"))
                .then(pl.col("conn_state").replace_strict(flags, default="...AP.SF"))
                .otherwise(pl.lit("........"))
            )
            if not forward:  # a refused connection has nothing coming back
                side = side.filter(pl.col("flg").is_not_null() & (pl.col("resp_pkts") > 0))
            src, dst = ("orig", "resp") if forward else ("resp", "orig")
            return side.select(
                "ts",
                "store",
                "te",
                sa=pl.col(f"{src}_h"),
                da=pl.col(f"{dst}_h"),
                sp=pl.col(f"{src}_p"),
                dp=pl.col(f"{dst}_p"),
                pr="pr",
                flg="flg",
                ipkt=pl.col(f"{src}_pkts").fill_null(0),
                ibyt=pl.col(f"{src}_bytes").fill_null(0),
                ra="ra",
            )

        web = parents[WebAccessSource.name]
        latency = pl.col("bytes") / 2_000_000 + 0.05  # a few ms plus transfer time
        port = (pl.col("ts") * 7919 % 28000).cast(pl.Int64) + 33000  # a stable ephemeral port
        requests = web.select(
            "ts",
            "store",
            te=pl.col("ts") + latency,
            sa=pl.col("ip"),
            da=pl.lit(SHOP_ADDRESS),
            sp=port,
            dp=pl.lit(443, pl.Int64),
            pr=pl.lit("TCP"),
            flg=pl.lit("...AP.SF"),
            ipkt=pl.lit(6, pl.Int64),
            ibyt=pl.lit(900, pl.Int64),
            ra=pl.lit(SHOP_EDGE),
        )
        responses = web.select(
            "ts",
            "store",
            te=pl.col("ts") + latency,
            sa=pl.lit(SHOP_ADDRESS),
            da=pl.col("ip"),
            sp=pl.lit(443, pl.Int64),
            dp=port,
            pr=pl.lit("TCP"),
            flg=pl.lit("...AP.SF"),
            ipkt=pl.col("bytes") // 1400 + 3,
            ibyt=pl.col("bytes") + 600,
            ra=pl.lit(SHOP_EDGE),
        )
        frames = [direction(True), direction(False), requests, responses]
        return pl.concat([f.cast(pl.Schema(self.schema)) for f in frames])

    def header(self, world: World) -> str:
        return HEADER + "\n"

    def render(self, frame: pl.DataFrame) -> pl.Series:
        def stamp(column: str) -> pl.Expr:
            micros = (pl.col(column) * 1_000_000).round().cast(pl.Int64)
            return pl.from_epoch(micros, time_unit="us").dt.strftime("%Y-%m-%d %H:%M:%S%.3f")

        millis = ((pl.col("te") - pl.col("ts")) * 1000).round().cast(pl.Int64)
        no_next_hop = "0.0.0.0"  # noqa: S104 - nfdump's empty next hop, not a bind address
        zeros_mac = "00:00:00:00:00:00"
        middle = ",".join(["0", no_next_hop, no_next_hop, "0", "0"] + [zeros_mac] * 4)
        tail = ",".join(["0-0-0"] * 10 + ["0.000", "0.000", "0.000"])
        line = pl.concat_str(
            [
                stamp("ts"),
                stamp("te"),
                pl.concat_str(
                    [millis // 1000, pl.lit("."), (millis % 1000).cast(pl.String).str.zfill(3)]
                ),
                pl.col("sa"),
                pl.col("da"),
                pl.col("sp"),
                pl.col("dp"),
                pl.col("pr"),
                pl.col("flg"),
                pl.lit("0,0"),
                pl.col("ipkt"),
                pl.col("ibyt"),
                pl.lit("0,0,0,0,0,0,24,24,0"),
                pl.lit(middle),
                pl.lit(tail),
                pl.col("ra"),
                pl.lit("0/0,1"),
                stamp("te"),
            ],
            separator=",",
        )
        return frame.select(line.alias("line"))["line"]
