"""POS transactions as JSON lines, in Vigil's documented POS export format `vigil.pos/1`.

One object per line: `{"schema": "vigil.pos/1", "type": "sale", "ts": ..., "store": ...,
"terminal": ..., "lane": ..., "cashier": ..., "txn": ..., "receipt": ..., "items": [...],
"discounts": [...], "tenders": [...], "subtotal": ..., "tax": ..., "total": ...}`.
`type` is one of sale, refund, void, post_void, no_sale, drawer_open, drawer_close.
Card tenders carry only `bin` and `last4`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import Asset, AssetKind
from vigil.sim.shifts import Shift, roster
from vigil.sim.types import JsonLinesSource, sources
from vigil.sim.world import World

DEPARTMENTS = ("apparel", "footwear", "outdoor", "electronics", "grocery", "home", "toys")
BINS = ("411111", "424242", "510510", "552233", "371449", "601100", "453201", "535310")
BRANDS = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}
TAX = 0.08


def catalogue(world: World) -> list[tuple[str, str, str, float]]:
    """The estate's products: (sku, description, department, price), the same for a seed."""
    rng = world.rng("catalogue")
    items = []
    for index in range(600):
        department = DEPARTMENTS[index % len(DEPARTMENTS)]
        price = float(np.round(np.exp(rng.normal(2.8, 0.9)), 0) - 0.01)
        items.append(
            (
                f"SKU{100000 + index}",
                f"{department.title()} item {index}",
                department,
                max(price, 0.99),
            )
        )
    return items


def iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def document(
    kind: str,
    ts: float,
    store: Store,
    terminal: Asset,
    cashier: str,
    txn: str,
    items: list[dict[str, Any]] | None = None,
    tenders: list[dict[str, Any]] | None = None,
    discounts: list[dict[str, Any]] | None = None,
    orig_receipt: str | None = None,
    self_checkout: bool = False,
) -> str:
    """One POS export line. Totals are computed from the non-voided items."""
    items = items or []
    subtotal = round(sum(i["amount"] for i in items if not i.get("voided")), 2)
    discount = round(sum(d["amount"] for d in discounts or []), 2)
    tax = round((subtotal - discount) * TAX, 2)
    record: dict[str, Any] = {
        "schema": "vigil.pos/1",
        "type": kind,
        "ts": iso(ts),
        "store": store.uid,
        "terminal": terminal.uid,
        "lane": terminal.lane,
        "cashier": cashier,
        "txn": txn,
        "receipt": f"R{txn}" if kind in {"sale", "refund"} else None,
        "self_checkout": self_checkout,
        "items": items,
        "discounts": discounts or [],
        "tenders": tenders or [],
        "subtotal": subtotal,
        "discount": discount,
        "tax": tax,
        "total": round(subtotal - discount + tax, 2),
        "orig_receipt": orig_receipt,
    }
    return json.dumps(record, separators=(",", ":"))


def card(rng: np.random.Generator, amount: float) -> dict[str, Any]:
    bin_ = BINS[int(rng.integers(len(BINS)))]
    return {
        "type": "card",
        "amount": amount,
        "bin": bin_,
        "last4": f"{int(rng.integers(10000)):04d}",
        "brand": BRANDS[bin_[0]],
        "entry": "contactless" if rng.random() < 0.6 else "chip",
        "auth": f"{int(rng.integers(1_000_000)):06d}",
        "approved": True,
    }


def basket(
    rng: np.random.Generator,
    products: list[tuple[str, str, str, float]],
    size: int,
    void_rate: float = 0.015,
) -> list[dict[str, Any]]:
    lines = []
    for seq in range(1, size + 1):
        sku, desc, dept, price = products[int(rng.integers(len(products)))]
        qty = 1 if rng.random() < 0.85 else int(rng.integers(2, 4))
        line = {
            "seq": seq,
            "sku": sku,
            "desc": desc,
            "dept": dept,
            "qty": qty,
            "price": price,
            "amount": round(price * qty, 2),
            "entry": "scanned" if rng.random() < 0.97 else "keyed",
        }
        if rng.random() < void_rate:
            line["voided"] = True
        lines.append(line)
    return lines


def staffing(shifts: list[Shift], times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each time, the index of a shift serving a lane then, drawn evenly among them.

    A time when every lane's cashier is on break falls back to any shift under way.
    """
    starts = np.array([s.start for s in shifts])
    ends = np.array([s.end for s in shifts])
    rest_starts = np.array([s.rest.start if s.rest else np.inf for s in shifts])
    rest_ends = np.array([s.rest.end if s.rest else np.inf for s in shifts])
    at = times[:, None]
    on_site = (starts <= at) & (at < ends)
    working = on_site & ~((rest_starts <= at) & (at < rest_ends))
    working[~working.any(axis=1)] = on_site[~working.any(axis=1)]
    return np.asarray(np.argmax(rng.random(working.shape) * working, axis=1))


@sources.register("pos")
class PosSource(JsonLinesSource):
    name: ClassVar[str] = "pos"
    path: ClassVar[str] = "pos/transactions.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("pos", store.uid)
        lanes = world.assets(store, AssetKind.POS_TERMINAL)
        scos = world.assets(store, AssetKind.SELF_CHECKOUT)
        shifts = [shift for shift in roster(world, store) if shift.lane is not None]
        tills = [shift.lane for shift in shifts if shift.lane is not None]
        if not lanes or not shifts:
            return self.lines([])
        products = catalogue(world)
        times = world.arrivals(store, per_hour=14.0 * len(lanes), rng=rng)
        staffed = staffing(shifts, times, rng)
        lines: list[str] = []
        for index, ts in enumerate(times):
            at_sco = bool(scos) and rng.random() < 0.3
            shift = shifts[staffed[index]]
            terminal = scos[int(rng.integers(len(scos)))] if at_sco else tills[staffed[index]]
            cashier = "SCO" if at_sco else shift.person.cashier_id or shift.person.uid
            txn = f"{store.uid}{terminal.lane}{index:07d}"
            roll = rng.random()
            if roll < 0.003 and not at_sco:
                lines.append(document("no_sale", ts, store, terminal, cashier, txn))
                continue
            items = basket(rng, products, int(rng.geometric(0.3)))
            if roll < 0.015 and not at_sco:  # refund at a staffed till, mostly with the receipt
                for item in items:
                    item["amount"] = -item["amount"]
                    item.pop("voided", None)
                total = round(sum(i["amount"] for i in items) * (1 + TAX), 2)
                receipt = (
                    None
                    if rng.random() < 0.15
                    else f"R{store.uid}{terminal.lane}{max(index - int(rng.integers(1, 5000)), 0):07d}"
                )
                lines.append(
                    document(
                        "refund",
                        ts,
                        store,
                        terminal,
                        cashier,
                        txn,
                        items,
                        [{"type": "cash" if receipt is None else "card", "amount": total}],
                        orig_receipt=receipt,
                    )
                )
                continue
            if roll < 0.02 and not at_sco:  # whole transaction voided before tender
                lines.append(document("void", ts, store, terminal, cashier, txn, items))
                continue
            discounts = []
            if rng.random() < 0.1:
                discounts.append(
                    {"type": "loyalty", "amount": round(sum(i["amount"] for i in items) * 0.1, 2)}
                )
            subtotal = sum(i["amount"] for i in items if not i.get("voided"))
            total = round((subtotal - sum(d["amount"] for d in discounts)) * (1 + TAX), 2)
            tender = (
                card(rng, total)
                if rng.random() < 0.78 or at_sco
                else {"type": "cash", "amount": total}
            )
            lines.append(
                document(
                    "sale",
                    ts,
                    store,
                    terminal,
                    cashier,
                    txn,
                    items,
                    [tender],
                    discounts,
                    self_checkout=at_sco,
                )
            )
        return self.lines(list(zip(times.tolist(), [store.uid] * len(lines), lines, strict=True)))
