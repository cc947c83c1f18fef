"""Sellers' and managers' figures, live: the published figures (pipelines/figures.py) plus the sales
posted since the warehouse last took them in (pipelines/live_sales.py).

Commission follows the rules the warehouse's ``gold.seller_month`` applies (a test holds the two
to the same numbers): each category's sales times its rate (rules of kind ``category``; the one
without a category is the default), plus all sales times the highest ``tier`` rate whose minimum
attainment the seller reached. Month-end projections assume the pace so far continues.
"""

from __future__ import annotations

import calendar
import threading
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines import figures, live_sales
from pipelines.settings import Settings


class UnknownError(LookupError):
    """A seller or store the figures do not know."""


def commission(sales_by_category: dict[str, float], target: float | None, rules: pd.DataFrame
               ) -> tuple[float, float | None]:
    """(commission, attainment %) for a month's sales by category under the commission rules."""
    sales = sum(sales_by_category.values())
    attainment = sales / target * 100 if target else None
    by_category = rules[rules["kind"] == "category"]
    rates = {c: r for c, r in zip(by_category["category"], by_category["rate"]) if isinstance(c, str)}
    default = by_category.loc[by_category["category"].isna(), "rate"]
    default_rate = float(default.iloc[0]) if len(default) else 0.0
    base = sum(v * rates.get(c, default_rate) for c, v in sales_by_category.items())
    tiers = rules[rules["kind"] == "tier"]
    reached = tiers.loc[tiers["min_attainment_pct"] <= (attainment or 0.0), "rate"]
    tier_rate = max(0.0, float(reached.max())) if len(reached) else 0.0
    return base + sales * tier_rate, attainment


@dataclass(frozen=True)
class SellerFigures:
    seller_id: str
    name: str
    store_id: str
    today: date
    sales_today: float
    tickets_today: int
    sales_month: float
    target: float | None
    attainment_pct: float | None
    daily_pace_needed: float | None  # per remaining day (today included) to reach the target; 0 once reached
    days_left: int
    commission_accrued: float
    projected_sales: float
    commission_projected: float
    data_through: date
    live_lines: int  # posted lines counted that the warehouse does not hold yet


class LiveFigures:
    """The published figures in memory (re-read when a pipeline run publishes new ones)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self.meta: dict | None = None
        self.frames: dict[str, pd.DataFrame] = {}
        self.refresh()

    def refresh(self) -> bool:
        """Load the figures if a newer set was published; True when loaded."""
        meta_file = figures.folder(self.settings) / "meta.json"
        try:
            stamp = meta_file.stat().st_mtime
        except FileNotFoundError:
            return False
        if stamp == self._stamp:
            return False
        loaded = figures.load(self.settings)
        if loaded is None:
            return False
        meta, frames = loaded
        frames["seller_sales"]["date"] = pd.to_datetime(frames["seller_sales"]["date"]).dt.date
        frames["targets"]["month"] = pd.to_datetime(frames["targets"]["month"]).dt.date
        with self._lock:
            self.meta, self.frames, self._stamp = meta, frames, stamp
        return True

    @property
    def ready(self) -> bool:
        return self.meta is not None

    def today(self) -> date:
        """The business date: the ``today`` setting, else the current date in the stores' time zone."""
        return self.settings.today or datetime.now(ZoneInfo(self.settings.timezone)).date()

    def seller(self, seller_id: str) -> dict:
        sellers = self.frames["sellers"]
        row = sellers[sellers["seller_id"] == seller_id]
        if row.empty:
            raise UnknownError(f"unknown seller {seller_id!r}")
        return row.iloc[0].to_dict()

    def store(self, store_id: str) -> dict:
        stores = self.frames["stores"]
        row = stores[stores["store_id"] == store_id]
        if row.empty:
            raise UnknownError(f"unknown store {store_id!r}")
        return row.iloc[0].to_dict()

    def _month_lines(self, today: date, seller_id: str | None = None, store_id: str | None = None) -> pd.DataFrame:
        """This month's sales up to today by seller, date and category: published plus posted."""
        with self._lock:
            meta, frames = self.meta, self.frames
        month_start = today.replace(day=1)
        sales = frames["seller_sales"]
        mask = (sales["date"] >= month_start) & (sales["date"] <= today)
        if seller_id is not None:
            mask &= sales["seller_id"] == seller_id
        if store_id is not None:
            mask &= sales["store_id"] == store_id
        published = sales.loc[mask, ["seller_id", "date", "category", "revenue", "tickets"]]
        posted = live_sales.lines_after(self.settings, meta["live_upto"], seller_id, store_id, str(month_start))
        if not posted:
            return published.assign(live=0)
        live = pd.DataFrame(posted)
        live["date"] = pd.to_datetime(live["sold_at"]).dt.date
        live = live[live["date"] <= today]
        categories = frames["products"].set_index("sku")["category"]
        live["category"] = live["sku"].map(categories).fillna("")
        live["revenue"] = live["quantity"] * live["unit_price"] - live["discount"]
        first = live.groupby("ticket_id")["category"].transform("min")  # a ticket counts once, as published
        live["ticket"] = live["ticket_id"].where(live["category"] == first)
        grouped = live.groupby(["seller_id", "date", "category"]).agg(
            revenue=("revenue", "sum"), tickets=("ticket", "nunique"), live=("seq", "count")).reset_index()
        return pd.concat([published.assign(live=0), grouped], ignore_index=True)

    def seller_summary(self, seller_id: str, lines: pd.DataFrame | None = None) -> SellerFigures:
        seller = self.seller(seller_id)
        today = self.today()
        if lines is None:
            lines = self._month_lines(today, seller_id=seller_id)
        lines = lines[lines["seller_id"] == seller_id]
        by_category = lines.groupby("category")["revenue"].sum().to_dict()
        month_start = today.replace(day=1)
        targets = self.frames["targets"]
        target_row = targets[(targets["seller_id"] == seller_id) & (targets["month"] == month_start)]
        target = float(target_row["target"].iloc[0]) if len(target_row) else None
        accrued, attainment = commission(by_category, target, self.frames["rules"])
        days_in_month = calendar.monthrange(today.year, today.month)[1]
        days_left = days_in_month - today.day + 1
        sales_month = float(sum(by_category.values()))
        scale = days_in_month / today.day  # the pace so far, to month end
        projected, _ = commission({c: v * scale for c, v in by_category.items()}, target, self.frames["rules"])
        todays = lines[lines["date"] == today]
        pace = None if target is None else max(0.0, (target - sales_month) / days_left)
        return SellerFigures(
            seller_id=seller_id, name=str(seller["name"]), store_id=str(seller["store_id"]), today=today,
            sales_today=round(float(todays["revenue"].sum()), 2), tickets_today=int(todays["tickets"].sum()),
            sales_month=round(sales_month, 2), target=target,
            attainment_pct=None if attainment is None else round(attainment, 2),
            daily_pace_needed=None if pace is None else round(pace, 2), days_left=days_left,
            commission_accrued=round(accrued, 2), projected_sales=round(sales_month * scale, 2),
            commission_projected=round(projected, 2), data_through=self.meta["data_through"],
            live_lines=int(lines["live"].sum()))

    def team_summary(self, store_id: str) -> list[SellerFigures]:
        """Every seller of the store, best attainment first (no target: last)."""
        self.store(store_id)
        sellers = self.frames["sellers"]
        lines = self._month_lines(self.today(), store_id=store_id)
        team = [self.seller_summary(s, lines) for s in sellers.loc[sellers["store_id"] == store_id, "seller_id"]]
        return sorted(team, key=lambda f: (f.attainment_pct is None, -(f.attainment_pct or 0), -f.sales_month))

    def store_comparison(self, store_id: str) -> dict:
        """The store's last full month against the chain and similar stores (same region; the
        five nearest in revenue when the region has no other), each KPI with its gap, the weakest
        first; and the categories whose share of sales trails the chain's."""
        store = self.store(store_id)
        months = self.frames["store_month"].copy()
        months["month"] = pd.to_datetime(months["month"]).dt.date
        through = self.meta["data_through"]
        full = [m for m in sorted(months["month"].unique())
                if m < through.replace(day=1) or through.day == calendar.monthrange(through.year, through.month)[1]]
        if not full:
            raise UnknownError("no complete month of sales to compare yet")
        month = full[-1]
        now = months[months["month"] == month].set_index("store_id")
        if store_id not in now.index:
            raise UnknownError(f"store {store_id!r} sold nothing in {month:%m/%Y}")
        stores = self.frames["stores"].set_index("store_id")
        region = stores["region"].get(store_id, "")
        peers = [s for s in now.index if s != store_id and stores["region"].get(s) == region and region]
        if not peers:
            gap = (now["revenue"] - now.loc[store_id, "revenue"]).abs().drop(store_id)
            peers = list(gap.nsmallest(5).index)
        kpis = []
        for kpi in ("revenue", "tickets", "avg_ticket", "items_per_ticket", "growth_pct"):
            mine = now.loc[store_id, kpi]
            chain = now[kpi].median()
            similar = now.loc[peers, kpi].median() if peers else None
            rank = int(now[kpi].rank(ascending=False, method="min")[store_id]) if pd.notna(mine) else None
            versus = similar if similar is not None and pd.notna(similar) else chain
            gap_pct = None if pd.isna(mine) or pd.isna(versus) or not versus else (mine - versus) / abs(versus) * 100
            kpis.append({"kpi": kpi, "store": _num(mine), "chain_median": _num(chain), "similar_median": _num(similar),
                         "rank": rank, "stores": len(now), "gap_pct": _num(gap_pct)})
        weakest = sorted((k for k in kpis if k["gap_pct"] is not None and k["gap_pct"] < 0), key=lambda k: k["gap_pct"])
        categories = self.frames["store_category_month"].copy()
        categories["month"] = pd.to_datetime(categories["month"]).dt.date
        categories = categories[categories["month"] == month]
        chain_share = categories.groupby("category")["revenue"].sum() / categories["revenue"].sum()
        own = categories[categories["store_id"] == store_id].groupby("category")["revenue"].sum()
        own_share = own / own.sum() if own.sum() else own
        trailing = [{"category": c or "(sem categoria)", "store_share_pct": round(float(own_share.get(c, 0)) * 100, 1),
                     "chain_share_pct": round(float(s) * 100, 1)}
                    for c, s in chain_share.items() if own_share.get(c, 0) < s * 0.9]
        trailing.sort(key=lambda t: t["store_share_pct"] - t["chain_share_pct"])
        return {"store_id": store_id, "store_name": str(store["name"]), "month": month, "region": region,
                "similar_stores": sorted(peers), "kpis": kpis, "areas_to_improve": [k["kpi"] for k in weakest],
                "trailing_categories": trailing}

    def high_margin(self, seller_id: str | None, k: int) -> list[dict]:
        """The best-margin products, within the categories the seller sells most (those making up
        80% of their last 90 days); the whole catalogue when there is no seller or no history."""
        products = self.frames["products"].dropna(subset=["margin_pct"])
        focus: list[str] = []
        if seller_id is not None:
            self.seller(seller_id)
            sales = self.frames["seller_sales"]
            mix = sales[sales["seller_id"] == seller_id].groupby("category")["revenue"].sum().sort_values(ascending=False)
            if mix.sum() > 0:
                share = mix.cumsum() / mix.sum()
                focus = list(share.index[: int((share < 0.8).sum()) + 1])
        chosen = products[products["category"].isin(focus)] if focus else products
        chosen = chosen.assign(margin_value=chosen["price"] - chosen["cost"])
        chosen = chosen.sort_values(["margin_pct", "margin_value"], ascending=False).head(k)
        return [{"sku": r.sku, "name": r.name, "category": r.category, "brand": r.brand, "price": round(r.price, 2),
                 "margin_pct": round(r.margin_pct, 1), "margin_value": round(r.margin_value, 2),
                 "in_your_categories": bool(focus)} for r in chosen.itertuples(index=False)]


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)
