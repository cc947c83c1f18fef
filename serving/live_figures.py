"""Sellers' and managers' figures, live: the published figures (pipelines/figures.py) plus the sales
posted since the warehouse last took them in (pipelines/live_sales.py).

Commission follows the rules the warehouse's ``gold.seller_month`` applies (a test holds the two
to the same numbers): each category's sales times its rate (rules of kind ``category``; the one
without a category is the default), plus all sales times the highest ``tier`` rate whose minimum
attainment the seller reached. Month-end projections assume the pace so far continues.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines import figures, live_sales
from pipelines.settings import Settings
from serving.schemas import SellerSummary


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
class Published:
    """One published set of figures, swapped in whole: a request reads one set, never two runs mixed."""
    meta: dict
    frames: dict[str, pd.DataFrame]

    def row(self, frame: str, column: str, value: str, what: str) -> dict:
        table = self.frames[frame]
        found = table[table[column] == value]
        if found.empty:
            raise UnknownError(f"unknown {what} {value!r}")
        return found.iloc[0].to_dict()


class LiveFigures:
    """The published figures in memory (re-read when a pipeline run publishes new ones)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stamp: float | None = None
        self.published: Published | None = None  # replaced in one assignment by refresh()
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
        for frame, column in (("seller_sales", "date"), ("targets", "month"), ("store_month", "month"),
                              ("store_category_month", "month")):
            frames[frame][column] = pd.to_datetime(frames[frame][column]).dt.date
        self.published, self._stamp = Published(meta, frames), stamp
        return True

    @property
    def ready(self) -> bool:
        return self.published is not None

    def today(self) -> date:
        """The business date: the ``today`` setting, else the current date in the stores' time zone."""
        return self.settings.today or datetime.now(ZoneInfo(self.settings.timezone)).date()

    def seller(self, seller_id: str) -> dict:
        return self.published.row("sellers", "seller_id", seller_id, "seller")

    def store(self, store_id: str) -> dict:
        return self.published.row("stores", "store_id", store_id, "store")

    def _month_lines(self, published: Published, today: date, seller_id: str | None = None,
                     store_id: str | None = None) -> pd.DataFrame:
        """This month's sales up to today by seller, date and category: published plus posted."""
        meta, frames = published.meta, published.frames
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

    def seller_summary(self, seller_id: str) -> SellerSummary:
        published = self.published
        return self._summary(published, seller_id, self._month_lines(published, self.today(), seller_id=seller_id))

    def team_summary(self, store_id: str) -> list[SellerSummary]:
        """Every seller of the store, best attainment first (no target: last)."""
        published = self.published
        published.row("stores", "store_id", store_id, "store")
        sellers = published.frames["sellers"]
        lines = self._month_lines(published, self.today(), store_id=store_id)
        team = [self._summary(published, s, lines) for s in sellers.loc[sellers["store_id"] == store_id, "seller_id"]]
        return sorted(team, key=lambda f: (f.attainment_pct is None, -(f.attainment_pct or 0), -f.sales_month))

    def _summary(self, published: Published, seller_id: str, lines: pd.DataFrame) -> SellerSummary:
        seller = published.row("sellers", "seller_id", seller_id, "seller")
        rules = published.frames["rules"]
        today = self.today()
        lines = lines[lines["seller_id"] == seller_id]
        by_category = lines.groupby("category")["revenue"].sum().to_dict()
        targets = published.frames["targets"]
        target_row = targets[(targets["seller_id"] == seller_id) & (targets["month"] == today.replace(day=1))]
        target = float(target_row["target"].iloc[0]) if len(target_row) else None
        accrued, attainment = commission(by_category, target, rules)
        days_in_month = calendar.monthrange(today.year, today.month)[1]
        days_left = days_in_month - today.day + 1
        sales_month = float(sum(by_category.values()))
        scale = days_in_month / today.day  # the pace so far, to month end
        projected, _ = commission({c: v * scale for c, v in by_category.items()}, target, rules)
        todays = lines[lines["date"] == today]
        pace = None if target is None else max(0.0, (target - sales_month) / days_left)
        return SellerSummary(
            seller_id=seller_id, name=str(seller["name"]), store_id=str(seller["store_id"]), today=today,
            sales_today=round(float(todays["revenue"].sum()), 2), tickets_today=int(todays["tickets"].sum()),
            sales_month=round(sales_month, 2), target=target,
            attainment_pct=None if attainment is None else round(attainment, 2),
            daily_pace_needed=None if pace is None else round(pace, 2), days_left=days_left,
            commission_accrued=round(accrued, 2), projected_sales=round(sales_month * scale, 2),
            commission_projected=round(projected, 2), data_through=published.meta["data_through"],
            live_lines=int(lines["live"].sum()))

    def store_comparison(self, store_id: str) -> dict:
        """The store's last full month against the chain and similar stores (same region; the
        five nearest in revenue when the region has no other), each KPI with its gap, the weakest
        first; and the categories whose share of sales trails the chain's."""
        published = self.published
        store = published.row("stores", "store_id", store_id, "store")
        months = published.frames["store_month"]
        through = published.meta["data_through"]
        full = [m for m in sorted(months["month"].unique())
                if m < through.replace(day=1) or through.day == calendar.monthrange(through.year, through.month)[1]]
        if not full:
            raise UnknownError("no complete month of sales to compare yet")
        month = full[-1]
        now = months[months["month"] == month].set_index("store_id")
        if store_id not in now.index:
            raise UnknownError(f"store {store_id!r} sold nothing in {month:%m/%Y}")
        stores = published.frames["stores"].set_index("store_id")
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
        categories = published.frames["store_category_month"]
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
        published = self.published
        products = published.frames["products"].dropna(subset=["margin_pct"])
        focus: list[str] = []
        if seller_id is not None:
            published.row("sellers", "seller_id", seller_id, "seller")
            sales = published.frames["seller_sales"]
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
