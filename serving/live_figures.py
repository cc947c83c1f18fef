"""Sellers' and managers' figures, live: the published figures (warehouse/figures.py) plus the sales
posted since the warehouse last took them in (warehouse/live_sales.py).

Commission follows the rules the warehouse's ``gold.seller_month`` applies (a test holds the two
to the same numbers): each category's sales times its rate (rules of kind ``category``; the one
without a category is the default), plus all sales times the highest ``tier`` rate whose minimum
attainment the seller reached. Month-end projections assume the pace so far continues.
"""

from __future__ import annotations

import calendar
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from models.text import fold
from serving.schemas import SellerSummary
from warehouse import figures, live_sales, sale_rules
from warehouse.settings import Settings

MIN_SURVEY_ANSWERS = 10  # a store's month of satisfaction answers needs this many to be compared
STORES_KEPT = 8  # stores whose SKU history a replica keeps read (a store's is its SKUs × 8 weeks)


class UnknownError(LookupError):
    """A seller or store the figures do not know."""


@dataclass(frozen=True)
class CommissionRules:
    """The commission rules, read once from their table: a rate per category (the one without a
    category is the default) and the tiers, (minimum attainment %, rate) pairs."""
    rates: dict[str, float]
    default_rate: float
    tiers: tuple[tuple[float, float], ...]

    @classmethod
    def from_frame(cls, rules: pd.DataFrame) -> CommissionRules:
        by_category = rules[rules["kind"] == "category"]
        rates = {c: float(r) for c, r in zip(by_category["category"], by_category["rate"]) if isinstance(c, str)}
        default = by_category.loc[by_category["category"].isna(), "rate"]
        tiers = rules[rules["kind"] == "tier"]
        return cls(rates, float(default.iloc[0]) if len(default) else 0.0,
                   tuple(zip(tiers["min_attainment_pct"].astype(float), tiers["rate"].astype(float))))

    def commission(self, sales_by_category: dict[str, float], target: float | None) -> tuple[float, float | None]:
        """(commission, attainment %) for a month's sales by category."""
        sales = sum(sales_by_category.values())
        attainment = sales / target * 100 if target else None
        base = sum(v * self.rates.get(c, self.default_rate) for c, v in sales_by_category.items())
        reached = [rate for minimum, rate in self.tiers if minimum <= (attainment or 0.0)]
        return base + sales * max(0.0, max(reached, default=0.0)), attainment


class Line(NamedTuple):
    """A seller's sales of one day in one category (tickets counted once, on their first category)."""
    seller_id: str
    date: date
    category: str
    revenue: float
    tickets: int
    live: int  # posted lines behind it (0: published by the warehouse)


@dataclass(frozen=True)
class Published:
    """One published set of figures, swapped in whole: a request reads one set, never two runs mixed.
    The lookups a request needs are indexed once here, so a request filters no table."""
    meta: dict
    frames: dict[str, pd.DataFrame]
    folder: Path  # where the set was published: the per-store files are read from it
    sellers: dict[str, dict] = field(default_factory=dict)
    stores: dict[str, dict] = field(default_factory=dict)
    store_sellers: dict[str, list[str]] = field(default_factory=dict)
    seller_lines: dict[str, list[Line]] = field(default_factory=dict)
    seller_skus: dict[str, frozenset[str]] = field(default_factory=dict)  # what each sold in figures.SOLD_DAYS
    targets: dict[tuple[str, date], float] = field(default_factory=dict)
    products: dict[str, dict] = field(default_factory=dict)  # sku → name, category and brand ('' when none), price…
    search_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sku → its name's words, folded
    vocabulary: frozenset[str] = frozenset()  # every folded word of every name
    rules: CommissionRules = field(default_factory=lambda: CommissionRules({}, 0.0, ()))
    catalogue: sale_rules.Catalogue | None = None
    sale_keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))  # sorted key digests
    sale_contents: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))  # their content digests
    # seller → every day sold: (days as datetime64[D], sorted; revenue; tickets)
    seller_days: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    # seller → month (datetime64[M]) → (target or NaN, sales, commission), as the warehouse closed it
    seller_months: dict[str, dict[np.datetime64, tuple[float, float, float]]] = field(default_factory=dict)
    _store_days: dict[str, pd.DataFrame] = field(default_factory=dict)  # the last STORES_KEPT asked, oldest first
    _store_days_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def index(cls, meta: dict, frames: dict[str, pd.DataFrame], folder: Path) -> Published:
        for frame, column in (("seller_sales", "date"), ("targets", "month"), ("store_month", "month"),
                              ("store_category_month", "month"), ("store_nps_month", "month"), ("promotions", "starts_on"), ("promotions", "ends_on"),
                              ("store_product_month", "month")):
            frames[frame][column] = pd.to_datetime(frames[frame][column]).dt.date
        sellers = {r["seller_id"]: r for r in frames["sellers"].to_dict("records")}
        store_sellers: dict[str, list[str]] = {}
        for seller_id, seller in sellers.items():
            store_sellers.setdefault(seller["store_id"], []).append(seller_id)
        seller_lines: dict[str, list[Line]] = {}
        sales = frames["seller_sales"]
        for row in zip(sales["seller_id"], sales["date"], sales["category"], sales["revenue"], sales["tickets"]):
            seller_lines.setdefault(row[0], []).append(Line(row[0], row[1], row[2] or "", float(row[3]), int(row[4]), 0))
        targets = frames["targets"]
        products = frames["products"].assign(name=lambda p: p["name"].astype(str), category=lambda p: p["category"].fillna(""),
                                              brand=lambda p: p["brand"].fillna("").astype(str))
        search_names = {sku: tuple(fold(name).split()) for sku, name in zip(products["sku"], products["name"])}
        days = frames["seller_day"].assign(date=lambda d: pd.to_datetime(d["date"]).to_numpy("datetime64[D]"))
        months = frames["seller_month"].assign(month=lambda m: pd.to_datetime(m["month"]).to_numpy("datetime64[M]"))
        return cls(
            meta, frames, folder, sellers=sellers, stores={r["store_id"]: r for r in frames["stores"].to_dict("records")},
            store_sellers=store_sellers, seller_lines=seller_lines,
            seller_skus={s: frozenset(g["sku"]) for s, g in frames["seller_skus"].groupby("seller_id", sort=False)},
            targets={(s, m): float(t) for s, m, t in zip(targets["seller_id"], targets["month"], targets["target"])},
            products={r["sku"]: r for r in products.to_dict("records")}, search_names=search_names,
            vocabulary=frozenset(word for words in search_names.values() for word in words), rules=CommissionRules.from_frame(frames["rules"]),
            catalogue=sale_rules.Catalogue(frames["prices"], frames["promotion_periods"]),
            sale_keys=frames["sale_keys"]["key"].to_numpy(np.uint64), sale_contents=frames["sale_keys"]["content"].to_numpy(np.uint64),
            seller_days={s: (d["date"].to_numpy("datetime64[D]"), d["revenue"].to_numpy(float), d["tickets"].to_numpy(np.int64))
                         for s, d in days.groupby("seller_id", sort=False)},
            seller_months={s: dict(zip(m["month"].to_numpy("datetime64[M]"),
                                       zip(m["target"].astype(float), m["sales"].astype(float), m["commission"].astype(float))))
                           for s, m in months.groupby("seller_id", sort=False)})

    def store_days(self, store_id: str) -> pd.DataFrame:
        """The store's units sold and stock on hand per SKU and day over the last
        ``figures.HISTORY_DAYS``, indexed by SKU (dates as datetime64, converted only for the rows a
        request returns): read from the store's own file when first asked, so a replica never
        holds the chain's."""
        self.store(store_id)
        with self._store_days_lock:
            days = self._store_days.pop(store_id, None)
        if days is None:
            read = figures.load_store_days(self.folder, store_id)
            days = read.assign(date=pd.to_datetime(read["date"])).set_index("sku").sort_index(kind="stable")
        with self._store_days_lock:
            while len(self._store_days) >= STORES_KEPT:
                self._store_days.pop(next(iter(self._store_days)))
            self._store_days[store_id] = days  # (re)inserted last: the most recently asked
        return days

    def warehouse_content(self, sale: live_sales.SaleLine) -> int | None:
        """The content digest of the warehouse's line with the sale's (ticket, line), or None."""
        key = np.uint64(sale.key_digest())
        at = int(np.searchsorted(self.sale_keys, key))
        return int(self.sale_contents[at]) if at < len(self.sale_keys) and self.sale_keys[at] == key else None

    def seller(self, seller_id: str) -> dict:
        if seller_id not in self.sellers:
            raise UnknownError(f"unknown seller {seller_id!r}")
        return self.sellers[seller_id]

    def store(self, store_id: str) -> dict:
        if store_id not in self.stores:
            raise UnknownError(f"unknown store {store_id!r}")
        return self.stores[store_id]

    def product(self, sku: str) -> dict:
        if sku not in self.products:
            raise UnknownError(f"unknown product {sku!r}")
        return self.products[sku]

    def category(self, sku: str) -> str:
        """The SKU's category; '' when it has none or is not in the catalogue."""
        return self.products.get(sku, {}).get("category", "")


class Verdict(NamedTuple):
    """How a posted line is judged: ``status`` 200 (count it), 208 (the warehouse holds it already:
    a duplicate, nothing to add), or the 4xx refusing it, with the field and why."""
    status: int
    field: str = ""
    message: str = ""
    implausible: bool = False  # broke a plausibility bound: the store's manager is alerted


class LiveFigures:
    """The published figures in memory (re-read when a pipeline run publishes new ones)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stamp: float | None = None
        self.published: Published | None = None  # replaced in one assignment by refresh()
        self.refresh()

    def refresh(self) -> bool:
        """Load the figures if a newer set was published; True when loaded."""
        meta_file = self.settings.figures_dir / "meta.json"
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
        self.published, self._stamp = Published.index(meta, frames, self.settings.figures_dir), stamp
        return True

    @property
    def ready(self) -> bool:
        return self.published is not None

    def today(self) -> date:
        """The business date: the ``today`` setting, else the current date in the stores' time zone."""
        return self.settings.today or datetime.now(ZoneInfo(self.settings.timezone)).date()

    def seller(self, seller_id: str) -> dict:
        return self.published.seller(seller_id)

    def judge(self, sale: live_sales.SaleLine, latest: datetime) -> Verdict:
        """The rules file ingestion applies (warehouse/validation.py), in its order, so a line counted
        live is never dropped by the next pipeline run; ``latest`` from sale_rules.latest_sold_at."""
        published = self.published
        if sale.quantity == 0:
            return Verdict(400, "quantity", "must not be 0")
        seller = published.sellers.get(sale.seller_id)
        if seller is None or seller["store_id"] != sale.store_id:
            return Verdict(400, "seller_id", f"no seller {sale.seller_id!r} works at {sale.store_id}")
        if sale.sku not in published.products:
            return Verdict(400, "sku", f"unknown product {sale.sku!r}")
        day = sale.sold_at.date()
        list_price = published.catalogue.list_price(sale.sku, day)
        promo_pct = published.catalogue.promo_pct(sale.sku, sale.store_id, day)
        broken = sale_rules.problem(self.settings, sale.store_id, sale.quantity, sale.unit_price, sale.discount,
                                    sale.sold_at, list_price, promo_pct, latest)
        if broken:
            return Verdict(422, broken[0], sale_rules.describe(self.settings, sale.store_id, broken[1], list_price,
                                                               promo_pct), implausible=True)
        stored = published.warehouse_content(sale)
        if stored is None:
            return Verdict(200)
        if stored != sale.content_digest():
            return Verdict(409, "ticket_id", f"ticket {sale.ticket_id} line {sale.line} is already in the warehouse "
                                             "with other content; post a new line (or a return) instead of changing it")
        return Verdict(208)

    def store(self, store_id: str) -> dict:
        return self.published.store(store_id)

    def _month_lines(self, published: Published, today: date, seller_ids: list[str], store_id: str | None = None
                     ) -> list[Line]:
        """This month's lines up to today of these sellers: published plus posted."""
        month_start = today.replace(day=1)
        lines = [line for s in seller_ids for line in published.seller_lines.get(s, ())
                 if month_start <= line.date <= today]
        seller_id = seller_ids[0] if store_id is None else None
        posted = live_sales.lines_after(self.settings, published.meta["live_upto"], seller_id, store_id, str(month_start))
        return lines + posted_lines(posted, published, today)

    def seller_summary(self, seller_id: str) -> SellerSummary:
        published = self.published
        published.seller(seller_id)
        return self._summary(published, seller_id, self._month_lines(published, self.today(), [seller_id]))

    def team_summary(self, store_id: str) -> list[SellerSummary]:
        """Every seller of the store, best attainment first (no target: last)."""
        published = self.published
        published.store(store_id)
        team = published.store_sellers.get(store_id, [])
        lines = self._month_lines(published, self.today(), team, store_id)
        summaries = [self._summary(published, s, lines) for s in team]
        return sorted(summaries, key=lambda f: (f.attainment_pct is None, -(f.attainment_pct or 0), -f.sales_month))

    def _summary(self, published: Published, seller_id: str, lines: list[Line]) -> SellerSummary:
        seller = published.seller(seller_id)
        today = self.today()
        lines = [line for line in lines if line.seller_id == seller_id]
        by_category: dict[str, float] = {}
        for line in lines:
            by_category[line.category] = by_category.get(line.category, 0.0) + line.revenue
        target = published.targets.get((seller_id, today.replace(day=1)))
        accrued, attainment = published.rules.commission(by_category, target)
        days_in_month = calendar.monthrange(today.year, today.month)[1]
        days_left = days_in_month - today.day + 1
        sales_month = float(sum(by_category.values()))
        scale = days_in_month / today.day  # the pace so far, to month end
        projected, _ = published.rules.commission({c: v * scale for c, v in by_category.items()}, target)
        todays = [line for line in lines if line.date == today]
        pace = None if target is None else max(0.0, (target - sales_month) / days_left)
        return SellerSummary(
            seller_id=seller_id, name=str(seller["name"]), store_id=str(seller["store_id"]), today=today,
            sales_today=round(sum(line.revenue for line in todays), 2), tickets_today=sum(line.tickets for line in todays),
            sales_month=round(sales_month, 2), target=target,
            attainment_pct=None if attainment is None else round(attainment, 2),
            daily_pace_needed=None if pace is None else round(pace, 2), days_left=days_left,
            commission_accrued=round(accrued, 2), projected_sales=round(sales_month * scale, 2),
            commission_projected=round(projected, 2), data_through=published.meta["data_through"],
            live_lines=sum(line.live for line in lines))

    def store_comparison(self, store_id: str) -> dict:
        """The store's last full month against the chain and similar stores (same region; the
        five nearest in revenue when the region has no other), each KPI with its gap, the weakest
        first; and the categories whose share of sales trails the chain's."""
        published = self.published
        store = published.store(store_id)
        months = published.frames["store_month"]
        through = published.meta["data_through"]
        full = [m for m in sorted(months["month"].unique())
                if m < through.replace(day=1) or through.day == calendar.monthrange(through.year, through.month)[1]]
        if not full:
            raise UnknownError("no complete month of sales to compare yet")
        month = full[-1]
        now = months[months["month"] == month].set_index("store_id")
        surveys = published.frames["store_nps_month"]
        surveys = surveys[(surveys["month"] == month) & (surveys["answers"] >= MIN_SURVEY_ANSWERS)]
        now = now.assign(nps=surveys.set_index("store_id")["nps"].astype(float))
        if store_id not in now.index:
            raise UnknownError(f"store {store_id!r} sold nothing in {month:%m/%Y}")
        stores = published.frames["stores"].set_index("store_id")
        region = stores["region"].get(store_id, "")
        peers = [s for s in now.index if s != store_id and stores["region"].get(s) == region and region]
        if not peers:
            gap = (now["revenue"] - now.loc[store_id, "revenue"]).abs().drop(store_id)
            peers = list(gap.nsmallest(5).index)
        kpis = []
        for kpi in ("revenue", "tickets", "avg_ticket", "items_per_ticket", "growth_pct", "nps"):
            if now[kpi].isna().all():  # no survey answers: the comparison is about sales only
                continue
            mine = now.loc[store_id, kpi]
            chain = now[kpi].median()
            similar = now.loc[peers, kpi].median() if peers else None
            rank = int(now[kpi].rank(ascending=False, method="min")[store_id]) if pd.notna(mine) else None
            versus = similar if similar is not None and pd.notna(similar) else chain
            gap_pct = None if pd.isna(mine) or pd.isna(versus) or not versus else (mine - versus) / abs(versus) * 100
            kpis.append({"kpi": kpi, "store": _num(mine), "chain_median": _num(chain), "similar_median": _num(similar),
                         "rank": rank, "stores": int(now[kpi].notna().sum()), "gap_pct": _num(gap_pct)})
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
                "trailing_categories": trailing, "underperforming_products": self._underperforming(published, store_id, month)}

    @staticmethod
    def _underperforming(published: Published, store_id: str, month: date, top: int = 100) -> list[dict]:
        """Of the chain's ``top`` products that month, those whose share of the store's sales is under
        half their share of the chain's, the biggest shortfall first."""
        sales = published.frames["store_product_month"]
        sales = sales[sales["month"] == month]
        chain = sales.groupby("sku")["revenue"].sum()
        chain_share = (chain / chain.sum()).nlargest(top) if chain.sum() else chain.iloc[:0]
        own = sales[sales["store_id"] == store_id].groupby("sku")["revenue"].sum()
        own_share = own / own.sum() if own.sum() > 0 else own * 0
        flagged = [{"sku": sku, "name": published.products.get(sku, {}).get("name", sku), "category": published.category(sku),
                    "store_share_pct": round(float(own_share.get(sku, 0.0)) * 100, 2),
                    "chain_share_pct": round(float(share) * 100, 2)}
                   for sku, share in chain_share.items() if own_share.get(sku, 0.0) < share / 2]
        return sorted(flagged, key=lambda f: f["store_share_pct"] - f["chain_share_pct"])[:20]

    def sku_history(self, store_id: str, sku: str) -> list[dict]:
        """The SKU's units sold and stock on hand per day at the store over the published weeks."""
        published = self.published
        published.product(sku)
        daily = published.store_days(store_id)
        if sku not in daily.index:
            return []
        rows = daily.loc[[sku]]
        return [{"date": d, "units": int(u), "on_hand": None if pd.isna(h) else int(h)}
                for d, u, h in zip(rows["date"].dt.date, rows["units"], rows["on_hand"])]

    def category_shares(self, seller_id: str) -> dict[str, float]:
        """Each category's share of the seller's sales in the published window, biggest first."""
        published = self.published
        published.seller(seller_id)
        mix: dict[str, float] = {}
        for line in published.seller_lines.get(seller_id, ()):
            mix[line.category] = mix.get(line.category, 0.0) + line.revenue
        total = sum(v for v in mix.values() if v > 0)
        if total <= 0:
            return {}
        return {c: v / total for c, v in sorted(mix.items(), key=lambda kv: -kv[1]) if v > 0}

    def focus_categories(self, seller_id: str) -> list[str]:
        """The categories making up 80% of the seller's sales in the published window, biggest first."""
        return _focus(self.category_shares(seller_id))

    def high_margin(self, seller_id: str | None, k: int) -> list[dict]:
        """The products worth most margin to push: within the categories the seller sells most
        (those making up 80% of their last 90 days), ranked by margin in R$ per unit × the
        category's share of the seller's sales, since a seller sells more of what they already
        sell (the whole catalogue by margin per unit when there is no seller or no history).
        A percentage alone ranks a R$ 5 lip balm with a R$ 200 perfume, and ties everywhere."""
        products = self.published.frames["products"].dropna(subset=["margin_pct"])
        shares = self.category_shares(seller_id) if seller_id is not None else {}
        focus = _focus(shares)
        chosen = products[products["category"].isin(focus)] if focus else products
        share = chosen["category"].map(shares).astype(float) if focus else pd.Series(1.0, index=chosen.index)
        chosen = chosen.assign(margin_value=chosen["price"] - chosen["cost"], share=share)
        chosen = chosen.assign(score=chosen["margin_value"] * chosen["share"])
        chosen = chosen.sort_values(["score", "margin_pct", "sku"], ascending=[False, False, True]).head(k)
        return [{"sku": r.sku, "name": r.name, "category": r.category, "brand": r.brand, "price": round(r.price, 2),
                 "margin_pct": round(r.margin_pct, 1), "margin_value": round(r.margin_value, 2),
                 "category_share_pct": round(100 * r.share, 1) if focus else None,
                 "in_your_categories": bool(focus)} for r in chosen.itertuples(index=False)]

    def promotions(self, store_id: str, seller_id: str | None) -> list[dict]:
        """Promotions running today at the store (or chain-wide): the seller's categories first,
        then the deepest discount. ``you_sell_it``: the seller sold the product in the last
        ``figures.SOLD_DAYS`` days, posted sales included (what a new promotion is pushed on)."""
        published = self.published
        published.store(store_id)
        today = self.today()
        focus = set(self.focus_categories(seller_id)) if seller_id is not None else set()
        sold = self.products_sold(seller_id) if seller_id is not None else frozenset()
        promos = published.frames["promotions"]
        running = promos[(promos["starts_on"] <= today) & (promos["ends_on"] >= today)
                         & promos["store_id"].isin(["", store_id])]
        found = []
        for r in running.drop_duplicates("sku").itertuples(index=False):
            product = published.products.get(r.sku, {})
            category = published.category(r.sku)
            found.append({"promo_id": r.promo_id, "sku": r.sku, "name": product.get("name", r.sku), "category": category,
                          "discount_pct": round(float(r.discount_pct), 1), "starts_on": r.starts_on, "ends_on": r.ends_on,
                          "price": _num(product.get("price")), "in_your_categories": category in focus,
                          "you_sell_it": r.sku in sold})
        return sorted(found, key=lambda p: (not p["in_your_categories"], -p["discount_pct"], p["name"]))

    def products_sold(self, seller_id: str) -> frozenset[str]:
        """The SKUs the seller sold in the last ``figures.SOLD_DAYS`` days: published, plus the
        lines posted since the warehouse last took them in."""
        published = self.published
        since = self.today() - timedelta(days=figures.SOLD_DAYS)
        posted = live_sales.lines_after(self.settings, published.meta["live_upto"], seller_id, since=str(since))
        return published.seller_skus.get(seller_id, frozenset()) | {line["sku"] for line in posted if line["quantity"] > 0}

    def search_products(self, query: str, limit: int) -> list[dict]:
        """Products matching ``query`` forgivingly: an exact SKU first, then by the share of the query's
        words found in the name (accents and case ignored; a word matches a name word it starts, or one
        spelled within a typo or two), best first."""
        published = self.published
        words = fold(query).split()
        if not words:
            return []
        exact = query.strip().upper()
        matches = [{n: m for n in published.vocabulary if (m := _word_match(w, n))} for w in words]  # each word once
        scored = []
        for sku, name_words in published.search_names.items():
            if sku.upper() == exact:
                scored.append((2.0, sku))
                continue
            hits = sum(max((found.get(n, 0.0) for n in name_words), default=0.0) for found in matches)
            if hits:
                scored.append((hits / len(words), sku))
        scored.sort(key=lambda x: (-x[0], x[1]))
        found = [(score, published.products[sku]) for score, sku in scored[:limit] if score >= 0.5]
        return [{"sku": p["sku"], "name": p["name"], "category": p["category"], "brand": p["brand"],
                 "price": _num(p["price"]), "match": round(min(score, 1.0), 2)} for score, p in found]


def _focus(shares: dict[str, float]) -> list[str]:
    """The biggest categories of ``shares`` (biggest first) that make up 80% of the sales."""
    focus, running = [], 0.0
    for category, share in shares.items():
        if running >= 0.8:
            break
        focus.append(category)
        running += share
    return focus


def _word_match(word: str, name_word: str) -> float:
    """1 when the name word starts with the word; 0.8 for a near spelling (one or two typos); else 0."""
    if name_word.startswith(word):
        return 1.0
    if len(word) >= 4 and SequenceMatcher(None, word, name_word[:len(word) + 1]).ratio() >= 0.8:
        return 0.8
    return 0.0


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)


def posted_lines(posted: list[dict], published: Published, today: date) -> list[Line]:
    """Posted sale lines up to today as Lines: revenue by seller, day and category, each ticket
    counted once on its first category, as the warehouse publishes them."""
    sold = [(r, date.fromisoformat(r["sold_at"][:10])) for r in posted]
    sold = [(r, day) for r, day in sold if day <= today]
    first: dict[str, str] = {}
    for r, _ in sold:
        category = published.category(r["sku"])
        first[r["ticket_id"]] = min(first.get(r["ticket_id"], category), category)
    grouped: dict[tuple[str, date, str], list] = {}
    for r, day in sold:
        category = published.category(r["sku"])
        entry = grouped.setdefault((r["seller_id"], day, category), [0.0, set(), 0])
        entry[0] += r["quantity"] * r["unit_price"] - r["discount"]
        if category == first[r["ticket_id"]]:
            entry[1].add(r["ticket_id"])
        entry[2] += 1
    return [Line(seller, day, category, revenue, len(tickets), count)
            for (seller, day, category), (revenue, tickets, count) in grouped.items()]
