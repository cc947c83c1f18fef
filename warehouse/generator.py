"""Synthetic CosmeticCo exports: realistic, deterministic per seed, fast enough for 10M lines.

Everything is vectorised with numpy. The story, ticket first: each store draws a number of tickets
per day (store size x weekday x yearly season x retail dates x holidays), each ticket an hour from
the store's own traffic profile and a basket from the catalogue's popularity (category seasons and
promotions lift it, launches and discontinuations bound it), planted complementary pairs are added
on top, and a daily stock simulation with weekly replenishment censors what could not be sold.
The files use the Portuguese column names of the CosmeticCo exports, so ingestion exercises its
mapping, and ``verdade.json`` records the planted truth for tests to recover.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from warehouse.calendar import public_holidays, retail_dates


@dataclass(frozen=True)
class Scale:
    stores: int
    skus: int
    days: int
    tickets_per_store_day: float  # for a store of size 1.0 on an ordinary weekday


SCALES: dict[str, Scale] = {
    "tiny": Scale(stores=4, skus=80, days=120, tickets_per_store_day=40),
    "small": Scale(stores=20, skus=400, days=365, tickets_per_store_day=45),
    "medium": Scale(stores=30, skus=1000, days=730, tickets_per_store_day=60),
    "large": Scale(stores=50, skus=2000, days=1095, tickets_per_store_day=106),
    "xlarge": Scale(stores=200, skus=3000, days=730, tickets_per_store_day=60),  # 600k store × SKU series
}
LINES_PER_CHUNK = 6_000_000  # expected basket lines generated at once: what bounds the generator's memory

END_DATE = date(2026, 10, 31)
TICKET_BASE = 10_000_000  # ticket codes are numbers, as in the ERP  # fixed, so a seed gives the same files whatever today is

CITIES = [  # city, state, region
    ("São Paulo", "SP", "Sudeste"), ("Rio de Janeiro", "RJ", "Sudeste"), ("Belo Horizonte", "MG", "Sudeste"),
    ("Campinas", "SP", "Sudeste"), ("Vitória", "ES", "Sudeste"), ("Curitiba", "PR", "Sul"),
    ("Porto Alegre", "RS", "Sul"), ("Florianópolis", "SC", "Sul"), ("Salvador", "BA", "Nordeste"),
    ("Recife", "PE", "Nordeste"), ("Fortaleza", "CE", "Nordeste"), ("Natal", "RN", "Nordeste"),
    ("Brasília", "DF", "Centro-Oeste"), ("Goiânia", "GO", "Centro-Oeste"), ("Manaus", "AM", "Norte"),
    ("Belém", "PA", "Norte"),
]
CATEGORIES = {  # category: (subcategories, typical price BRL, share of catalogue)
    "maquiagem": (["batom", "base", "pó compacto", "máscara de cílios", "lápis labial", "sombra"], 45.0, 0.28),
    "perfumaria": (["perfume feminino", "perfume masculino", "body splash", "desodorante colônia"], 120.0, 0.2),
    "cabelos": (["shampoo", "condicionador", "máscara capilar", "óleo capilar", "finalizador"], 35.0, 0.2),
    "corpo e banho": (["sabonete", "hidratante corporal", "esfoliante", "óleo corporal"], 30.0, 0.17),
    "skincare": (["protetor solar", "sérum facial", "hidratante facial", "demaquilante", "tônico facial"], 70.0, 0.15),
}
COMPLEMENTS = [  # subcategory pairs that sell together; planted pairs are drawn from these
    ("shampoo", "condicionador"), ("base", "pó compacto"), ("batom", "lápis labial"),
    ("sabonete", "hidratante corporal"), ("demaquilante", "tônico facial"), ("máscara de cílios", "sombra"),
    ("perfume feminino", "body splash"), ("protetor solar", "hidratante facial"),
]
BRANDS = ["Aurora", "Bella Flor", "Brisa", "Cacau Rosa", "Essenza", "Ipê", "Jabuticaba", "Lumi", "Maracujá",
          "Orquídea", "Pitanga", "Sol de Verão", "Tropicana", "Vila Bela"]
FIRST_NAMES = ["Ana", "Beatriz", "Bruna", "Camila", "Carla", "Daniela", "Fernanda", "Gabriela", "Juliana", "Larissa",
               "Mariana", "Patrícia", "Renata", "Tatiane", "Vanessa", "Bruno", "Carlos", "Diego", "Felipe", "Lucas",
               "Marcos", "Rafael", "Thiago"]
LAST_NAMES = ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Rodrigues", "Almeida", "Nascimento",
              "Carvalho", "Gomes", "Martins", "Araújo", "Ribeiro"]
# hourly traffic profiles (10:00-21:59); each store follows one, so peaks differ by store
PROFILES = {
    "almoço": [3, 5, 10, 10, 6, 4, 4, 5, 6, 5, 3, 2],
    "fim do expediente": [2, 3, 5, 5, 4, 4, 5, 7, 10, 10, 6, 3],
    "shopping": [2, 3, 5, 5, 6, 8, 7, 6, 7, 9, 8, 4],
}
OPEN_HOUR = 10
SATURDAY_TILT = np.r_[np.full(4, 0.7), np.full(8, 1.15)]  # Saturdays lean to the afternoon
WEEKDAY_FACTOR = np.array([0.85, 0.9, 0.95, 1.0, 1.15, 1.45, 0.6])  # Monday..Sunday
PROMO_LIFT_PER_PCT = 0.04  # +4% demand per discount point: a 25% promotion sells 2x
CATEGORY_SEASON = {  # category: (months, demand multiplier in them); perfume peaks at Mother's Day and Christmas
    "perfumaria": ([5, 12], 1.6),
    "skincare": ([12, 1, 2], 1.4),
}
COMMISSION_RULES = [  # code, kind (categoria | faixa), category, minimum attainment %, rate
    ("R1", "categoria", "", "", 0.03), ("R2", "categoria", "perfumaria", "", 0.04),
    ("R3", "categoria", "skincare", "", 0.05), ("R4", "faixa", "", "100", 0.01), ("R5", "faixa", "", "120", 0.02),
]


@dataclass(frozen=True)
class Calendar:
    start: date
    days: np.ndarray  # datetime64[D], one per day
    weekday: np.ndarray  # 0 = Monday
    dates: list[date]

    @property
    def n(self) -> int:
        return len(self.days)


@dataclass(frozen=True)
class Stores:
    ids: np.ndarray
    size: np.ndarray  # traffic multiplier
    profile: np.ndarray  # name of the hourly profile each store follows
    delivery_weekday: np.ndarray
    sellers_per_store: np.ndarray
    seller_store: np.ndarray  # store index of each seller
    seller_ids: np.ndarray


@dataclass(frozen=True)
class Catalogue:
    ids: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    subcategory: np.ndarray
    popularity: np.ndarray
    launch_day: np.ndarray  # day index (negative = before the period)
    discontinue_day: np.ndarray
    price_on_day: np.ndarray  # sku x day


@dataclass(frozen=True)
class Promotions:
    chain_pct: np.ndarray  # sku x day discount of chain-wide promotions
    store_pct: dict[int, np.ndarray]  # store index -> sku x day discount

    def pct(self, sku: np.ndarray, day: np.ndarray, store: np.ndarray) -> np.ndarray:
        """Discount (%) in force for each (sku, day, store)."""
        out = self.chain_pct[sku, day].astype(np.float64)
        for st, arr in self.store_pct.items():
            here = store == st
            out[here] = np.maximum(out[here], arr[sku[here], day[here]])
        return out


@dataclass(frozen=True)
class Tickets:
    store: np.ndarray
    day: np.ndarray
    second: np.ndarray  # second of the day
    seller: np.ndarray
    customer: np.ndarray  # 0 = anonymous


def generate(scale: str, seed: int, out_dir: Path) -> dict[str, int]:
    """Write the CosmeticCo export files for ``scale`` into ``out_dir``; returns rows per file."""
    cfg = SCALES[scale]
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = END_DATE - timedelta(days=cfg.days - 1)
    days = np.arange(np.datetime64(start), np.datetime64(END_DATE) + 1)
    cal = Calendar(start, days, (days.view("int64") - 4) % 7,  # 1970-01-01 was a Thursday
                   [start + timedelta(days=i) for i in range(len(days))])
    rows: dict[str, int] = {}
    stores = _stores(rng, cfg.stores, cal, out_dir, rows)
    catalogue = _catalogue(rng, cfg.skus, cal, out_dir, rows)
    promotions = _promotions(rng, catalogue, stores, cal, out_dir, rows)
    retail = retail_dates(range(start.year, END_DATE.year + 1))
    n_months = (cal.days[-1].astype("datetime64[M]") - cal.days[0].astype("datetime64[M]")).astype(int) + 1
    seller_month = np.zeros((len(stores.seller_ids), n_months))
    facts = {"stockout_days": 0, "supplier_failures": 0, "lines_lost_to_stockouts": 0, "tickets": 0, "return_lines": 0}
    pairs: list[tuple[int, int, float]] = []
    first_ticket = first_customer = 0
    with CsvAppender(out_dir, rows) as files:
        for chunk in store_chunks(cfg):
            tickets = _tickets(rng, cfg, stores, cal, retail, chunk, first_customer)
            line_ticket, line_sku, qty, pairs = _basket_lines(rng, tickets, catalogue, promotions, cal, pairs)
            sold_ok, stock_facts = _censor_by_stock(rng, tickets, line_ticket, line_sku, qty, stores, catalogue, cal,
                                                    chunk, files)
            sales_facts = _sales_file(rng, tickets, line_ticket[sold_ok], line_sku[sold_ok], qty[sold_ok], stores,
                                      catalogue, promotions, cal, first_ticket, files)
            seller_month += sales_facts.pop("seller_month")
            first_ticket += sales_facts.pop("numbers_used")
            first_customer = max(first_customer, int(tickets.customer.max(initial=0)))
            for name, value in {**stock_facts, **sales_facts}.items():
                facts[name] += value
            del tickets, line_ticket, line_sku, qty, sold_ok  # the next chunk starts from flat memory
    _targets_rules_schedules(rng, stores, cal, seller_month, out_dir, rows)
    store_nps = _satisfaction(seed, stores, cal, out_dir, rows)
    truth = {
        "scale": scale, "seed": seed, "start": start.isoformat(), "end": END_DATE.isoformat(),
        "complementary_pairs": [
            {"sku_a": catalogue.ids[a], "sku_b": catalogue.ids[b], "p_b_given_a": p,
             "subcategories": [catalogue.subcategory[a], catalogue.subcategory[b]]}
            for a, b, p in pairs
        ],
        "peak_hours": {
            stores.ids[i]: sorted((OPEN_HOUR + np.argsort(PROFILES[stores.profile[i]])[::-1][:3]).tolist())
            for i in range(len(stores.ids))
        },
        "store_profiles": dict(zip(stores.ids.tolist(), stores.profile.tolist())),
        "hourly_traffic": {  # tickets at store s, day d, hour h ~ Poisson(base × size[s] × day_factor[d] × share)
            "tickets_per_store_day": cfg.tickets_per_store_day, "open_hour": OPEN_HOUR,
            "store_size": dict(zip(stores.ids.tolist(), stores.size.tolist())),
            "day_factor": np.round(_day_factor(cal, retail), 5).tolist(),
            "profiles": PROFILES, "saturday_tilt": SATURDAY_TILT.tolist(),
        },
        "weekday_factor": WEEKDAY_FACTOR.tolist(),
        "retail_dates": {d.isoformat(): {"name": n, "lift": round(f, 3)} for d, (n, f) in sorted(retail.items())},
        "category_season": {c: {"months": months, "lift": lift} for c, (months, lift) in CATEGORY_SEASON.items()},
        "promo_lift_per_discount_pct": PROMO_LIFT_PER_PCT,
        "store_nps": store_nps,  # 100 × (P(promoter) − P(detractor)) each store's answers are drawn with
        **facts,
    }
    (out_dir / "verdade.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return rows


def store_chunks(cfg: Scale) -> list[np.ndarray]:
    """The stores' indexes in chunks of about ``LINES_PER_CHUNK`` expected lines, generated one
    after the other so that memory stays flat however many stores there are (up to medium, all
    stores are one chunk)."""
    lines_per_store = cfg.tickets_per_store_day * cfg.days * 2.2  # ~2 lines a ticket, stores ~1.1 in size
    size = max(1, int(LINES_PER_CHUNK // lines_per_store))
    return [np.arange(first, min(first + size, cfg.stores)) for first in range(0, cfg.stores, size)]


class CsvAppender:
    """CSV files written a chunk at a time under one header; ``rows`` counts each file's rows."""

    def __init__(self, out_dir: Path, rows: dict[str, int]) -> None:
        self.out_dir, self.rows = out_dir, rows
        self.writers: dict[str, pacsv.CSVWriter] = {}

    def write(self, name: str, columns: dict) -> None:
        table = _table(columns)
        if name not in self.writers:
            self.writers[name] = pacsv.CSVWriter(self.out_dir / f"{name}.csv", table.schema,
                                                 write_options=pacsv.WriteOptions(quoting_style="needed"))
        self.writers[name].write_table(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers.values():
            writer.close()


def _stores(rng: np.random.Generator, n_st: int, cal: Calendar, out_dir: Path, rows: dict[str, int]) -> Stores:
    """Stores in Brazilian cities with sizes, traffic profiles and delivery days; their sellers."""
    city_idx = rng.integers(0, len(CITIES), n_st)
    city_idx[: min(n_st, len(CITIES))] = rng.permutation(len(CITIES))[: min(n_st, len(CITIES))]
    size = np.round(rng.lognormal(0, 0.45, n_st).clip(0.4, 3.0), 2)
    ids = np.array([f"L{i + 1:03d}" for i in range(n_st)])
    profile = np.array(list(PROFILES))[rng.integers(0, len(PROFILES), n_st)]
    delivery_weekday = rng.integers(0, 5, n_st)
    opened = [cal.start - timedelta(days=int(x)) for x in rng.integers(400, 5000, n_st)]
    rows["lojas"] = _write(out_dir / "lojas.csv", {
        "cod_loja": ids,
        "nome": [f"CosmeticCo {CITIES[c][0]} {i + 1}" for i, c in enumerate(city_idx)],
        "cidade": [CITIES[c][0] for c in city_idx], "uf": [CITIES[c][1] for c in city_idx],
        "regiao": [CITIES[c][2] for c in city_idx], "data_abertura": [d.isoformat() for d in opened],
    })
    sellers_per_store = np.clip(np.round(3 + size * 3), 3, 12).astype(int)
    seller_store = np.repeat(np.arange(n_st), sellers_per_store)
    n_sel = len(seller_store)
    seller_ids = np.array([f"V{i + 1:04d}" for i in range(n_sel)])
    is_manager = np.r_[True, seller_store[1:] != seller_store[:-1]]  # first seller of each store
    names = [f"{FIRST_NAMES[a]} {LAST_NAMES[b]}" for a, b in
             zip(rng.integers(0, len(FIRST_NAMES), n_sel), rng.integers(0, len(LAST_NAMES), n_sel))]
    rows["vendedores"] = _write(out_dir / "vendedores.csv", {
        "id_employee": seller_ids, "cod_loja": ids[seller_store], "nome": names,
        "cargo": np.where(is_manager, "gerente", "vendedor"),
        "data_admissao": [(cal.start - timedelta(days=int(x))).isoformat() for x in rng.integers(30, 2000, n_sel)],
    })
    return Stores(ids, size, profile, delivery_weekday, sellers_per_store, seller_store, seller_ids)


def _catalogue(rng: np.random.Generator, n_sku: int, cal: Calendar, out_dir: Path, rows: dict[str, int]) -> Catalogue:
    """Products with Zipf popularity, launches and discontinuations, and price and cost histories."""
    cat_names = list(CATEGORIES)
    cat_idx = rng.choice(len(cat_names), n_sku, p=[CATEGORIES[c][2] for c in cat_names])
    sub = np.array([CATEGORIES[cat_names[c]][0][rng.integers(0, len(CATEGORIES[cat_names[c]][0]))] for c in cat_idx])
    brand = np.array(BRANDS)[rng.integers(0, len(BRANDS), n_sku)]
    ids = np.array([f"P{i + 1:05d}" for i in range(n_sku)])
    base_price = np.round(np.array([CATEGORIES[cat_names[c]][1] for c in cat_idx]) * rng.lognormal(0, 0.35, n_sku), 1) - 0.1
    popularity = (1.0 / np.arange(1, n_sku + 1) ** 0.9)[rng.permutation(n_sku)]  # long tail: intermittent demand
    launch_day = np.where(rng.random(n_sku) < 0.12, rng.integers(0, max(cal.n - 30, 1), n_sku),
                          -rng.integers(30, 900, n_sku))
    discontinue_day = np.where(rng.random(n_sku) < 0.05, rng.integers(cal.n // 2, cal.n, n_sku), cal.n + 1)
    sizes = np.array(["30ml", "50ml", "100ml", "200ml", "un"])[rng.integers(0, 5, n_sku)]
    names = [f"{s.capitalize()} {b} {z}" for s, b, z in zip(sub, brand, sizes)]
    rows["produtos"] = _write(out_dir / "produtos.csv", {
        "cod_prod": ids, "nome_abrev": [n[:24] for n in names], "nome": names,
        "categoria": np.array(cat_names)[cat_idx], "sub_categoria": sub, "marca": brand,
        "data_lancamento": [(cal.start + timedelta(days=int(d))).isoformat() for d in launch_day],
    })
    # price history: 1-3 rises inside the period (+3..12% each); cost 40-65% of the price
    price_on_day = np.repeat(base_price[:, None], cal.n, axis=1)
    price_rows: dict[str, list] = {"cod_prod": [], "preco": [], "data_inicio": [], "data_fim": []}
    cost_rows: dict[str, list] = {"cod_prod": [], "custo": [], "data_inicio": [], "data_fim": []}
    n_changes = rng.integers(1, 4, n_sku)
    cost_ratio = rng.uniform(0.4, 0.65, n_sku)
    for i in range(n_sku):
        bounds = np.r_[0, np.sort(rng.choice(np.arange(30, cal.n), n_changes[i], replace=False)), cal.n]
        price = base_price[i]
        for k in range(len(bounds) - 1):
            price_on_day[i, bounds[k]:bounds[k + 1]] = price
            valid_from = cal.start - timedelta(days=400) if k == 0 else cal.start + timedelta(days=int(bounds[k]))
            valid_to = "" if k == len(bounds) - 2 else (cal.start + timedelta(days=int(bounds[k + 1]) - 1)).isoformat()
            for table, column, value in ((price_rows, "preco", price), (cost_rows, "custo", price * cost_ratio[i])):
                table["cod_prod"].append(ids[i])
                table[column].append(round(value, 2))
                table["data_inicio"].append(valid_from.isoformat())
                table["data_fim"].append(valid_to)
            price = round(price * rng.uniform(1.03, 1.12), 1) - 0.1
    rows["precos"] = _write(out_dir / "precos.csv", price_rows)
    rows["custos"] = _write(out_dir / "custos.csv", cost_rows)
    return Catalogue(ids, cat_idx, sub, popularity, launch_day, discontinue_day, np.round(price_on_day, 2))


def _promotions(rng: np.random.Generator, catalogue: Catalogue, stores: Stores, cal: Calendar, out_dir: Path,
                rows: dict[str, int]) -> Promotions:
    """Chain-wide or single-store promotions, 10-30% off for 5-14 days, on popular SKUs mostly."""
    n_sku, n_st = len(catalogue.ids), len(stores.ids)
    n_promo = max(3, cal.n // 6)
    sku = rng.choice(n_sku, n_promo, p=catalogue.popularity / catalogue.popularity.sum())
    first = rng.integers(0, cal.n - 5, n_promo)
    length = rng.integers(5, 15, n_promo)
    store = np.where(rng.random(n_promo) < 0.6, -1, rng.integers(0, n_st, n_promo))
    pct = rng.choice([10, 15, 20, 25, 30], n_promo)
    chain = np.zeros((n_sku, cal.n), dtype=np.float32)
    per_store: dict[int, np.ndarray] = {}
    for s, d0, ln, st, p in zip(sku, first, length, store, pct):
        target = chain if st < 0 else per_store.setdefault(int(st), np.zeros((n_sku, cal.n), np.float32))
        target[s, d0:d0 + ln] = np.maximum(target[s, d0:d0 + ln], p)
    rows["promocoes"] = _write(out_dir / "promocoes.csv", {
        "cod_promo": [f"PR{i + 1:04d}" for i in range(n_promo)], "cod_prod": catalogue.ids[sku],
        "cod_loja": np.where(store < 0, "", stores.ids[store.clip(0)]),
        "data_inicio": [cal.dates[d].isoformat() for d in first],
        "data_fim": [cal.dates[min(d + ln - 1, cal.n - 1)].isoformat() for d, ln in zip(first, length)],
        "desconto_pct": pct,
    })
    return Promotions(chain, per_store)


def _tickets(rng: np.random.Generator, cfg: Scale, stores: Stores, cal: Calendar,
             retail: dict[date, tuple[str, float]], chunk: np.ndarray, first_customer: int) -> Tickets:
    """Tickets per store of ``chunk`` and day (size x weekday x season x retail dates x holidays), at
    hours that follow the store's profile (Saturdays lean to the afternoon), each with a seller of
    the store; known customers are numbered after ``first_customer`` (they shop in their chunk)."""
    day_factor = _day_factor(cal, retail)
    per_store_day = rng.poisson(cfg.tickets_per_store_day * stores.size[chunk, None] * day_factor[None, :]).ravel()
    store = np.repeat(np.repeat(chunk.astype(np.int16), cal.n), per_store_day)
    day = np.repeat(np.tile(np.arange(cal.n, dtype=np.int16), len(chunk)), per_store_day)
    n_tix = len(store)
    hour = np.empty(n_tix, dtype=np.int64)
    for name, weights in PROFILES.items():
        p = np.array(weights, float) / sum(weights)
        mask = stores.profile[store] == name
        sat = mask & (cal.weekday[day] == 5)
        hour[mask & ~sat] = OPEN_HOUR + rng.choice(12, (mask & ~sat).sum(), p=p)
        sat_p = p * SATURDAY_TILT
        hour[sat] = OPEN_HOUR + rng.choice(12, sat.sum(), p=sat_p / sat_p.sum())
    second = hour * 3600 + rng.integers(0, 3600, n_tix)
    first_seller = np.r_[0, np.cumsum(stores.sellers_per_store)[:-1]]
    seller = first_seller[store] + (rng.random(n_tix) * stores.sellers_per_store[store]).astype(int)
    customer = np.where(rng.random(n_tix) < 0.4, first_customer + rng.integers(1, max(200, n_tix // 6), n_tix), 0)
    return Tickets(store, day, second, seller, customer)


def _day_factor(cal: Calendar, retail: dict[date, tuple[str, float]]) -> np.ndarray:
    """Each day's expected traffic relative to a plain day: weekday × season × retail dates × holidays
    (closed on 25/12 and 1/1)."""
    br_holidays = public_holidays(range(cal.start.year, END_DATE.year + 1), "BR")
    day_of_year = np.array([d.timetuple().tm_yday for d in cal.dates])
    season = 1 + 0.12 * np.cos(2 * np.pi * (day_of_year - 350) / 365.25)  # summer/Christmas high
    retail_lift = np.array([retail.get(d, ("", 1.0))[1] for d in cal.dates])
    closed = np.array([(d.month, d.day) in {(12, 25), (1, 1)} for d in cal.dates])
    holiday_factor = np.where([d in br_holidays for d in cal.dates], 0.7, 1.0)
    return WEEKDAY_FACTOR[cal.weekday] * season * retail_lift * holiday_factor * ~closed


def _basket_lines(rng: np.random.Generator, tickets: Tickets, catalogue: Catalogue, promotions: Promotions,
                  cal: Calendar, pairs: list[tuple[int, int, float]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, float]]]:
    """Basket lines (ticket, sku, quantity): popularity draws accepted by category season, promotion
    lift and whether the SKU is on sale yet, plus the planted complementary ``pairs`` (drawn with the
    first chunk's lines when empty, then the same in every chunk)."""
    n_sku = len(catalogue.ids)
    slot_ticket = np.repeat(np.arange(len(tickets.store), dtype=np.int32), 2 + rng.poisson(2.5, len(tickets.store)))
    cum = np.cumsum(catalogue.popularity / catalogue.popularity.sum())
    slot_sku = np.minimum(np.searchsorted(cum, rng.random(len(slot_ticket), dtype=np.float32)), n_sku - 1).astype(np.int32)
    slot_day = tickets.day[slot_ticket]
    month = np.array([d.month for d in cal.dates])
    season_by_cat = np.ones((len(CATEGORIES), cal.n))
    for c, (months, lift) in CATEGORY_SEASON.items():
        season_by_cat[list(CATEGORIES).index(c)] = np.where(np.isin(month, months), lift, 1.0)
    pct = promotions.pct(slot_sku, slot_day, tickets.store[slot_ticket])
    weight = season_by_cat[catalogue.category[slot_sku], slot_day] * (1 + PROMO_LIFT_PER_PCT * pct)
    active = (slot_day >= catalogue.launch_day[slot_sku]) & (slot_day < catalogue.discontinue_day[slot_sku])
    # ~40% of slots survive; the cap at 1 only bites for deep promotions in a category's season
    keep = active & (rng.random(len(slot_sku), dtype=np.float32) < np.minimum(weight / 2.5, 1.0))
    line_ticket, line_sku = slot_ticket[keep], slot_sku[keep]
    del slot_ticket, slot_sku, slot_day, pct, weight, active, keep
    pairs = pairs or _plant_pairs(rng, catalogue.subcategory, catalogue.popularity)
    extra_t, extra_s = [], []
    for a, b, p in pairs:
        has_a = line_ticket[line_sku == a]
        add = has_a[rng.random(len(has_a)) < p]
        extra_t.append(add)
        extra_s.append(np.full(len(add), b, dtype=np.int32))
    line_ticket = np.concatenate([line_ticket, *extra_t])
    line_sku = np.concatenate([line_sku, *extra_s])
    order = np.lexsort((line_sku, line_ticket))
    line_ticket, line_sku = line_ticket[order], line_sku[order]
    repeated = np.r_[False, (line_ticket[1:] == line_ticket[:-1]) & (line_sku[1:] == line_sku[:-1])]
    line_ticket, line_sku = line_ticket[~repeated], line_sku[~repeated]
    qty = np.where(rng.random(len(line_sku)) < 0.12, 2, 1) + (rng.random(len(line_sku)) < 0.03)
    return line_ticket, line_sku, qty, pairs


def _censor_by_stock(rng: np.random.Generator, tickets: Tickets, line_ticket: np.ndarray, line_sku: np.ndarray,
                     qty: np.ndarray, stores: Stores, catalogue: Catalogue, cal: Calendar, chunk: np.ndarray,
                     files: CsvAppender) -> tuple[np.ndarray, dict[str, int]]:
    """Simulate stock store by store (bounded memory); write the snapshots; which lines could sell."""
    l_store = tickets.store[line_ticket]
    by_store = np.argsort(l_store, kind="stable")
    bounds = np.searchsorted(l_store[by_store], np.arange(len(stores.ids) + 1))
    sold_ok = np.zeros(len(line_ticket), dtype=bool)
    parts: list[tuple[np.ndarray, ...]] = []
    stockout_days = supplier_failures = 0
    for st in chunk:
        idx = by_store[bounds[st]:bounds[st + 1]]
        ok, snap_sku, snap_day, snap_on_hand, n_out, n_fail = _simulate_store(
            rng, line_sku[idx], tickets.day[line_ticket[idx]], tickets.second[line_ticket[idx]], qty[idx],
            cal.n, cal.weekday, int(stores.delivery_weekday[st]), catalogue.launch_day)
        sold_ok[idx] = ok
        parts.append((np.full(len(snap_sku), st, np.int32), snap_sku, snap_day, snap_on_hand))
        stockout_days += n_out
        supplier_failures += n_fail
    snap_store, snap_sku, snap_day, snap_on_hand = (np.concatenate(x) for x in zip(*parts))
    files.write("estoque", {
        "cod_loja": _labels(stores.ids, snap_store), "cod_prod": _labels(catalogue.ids, snap_sku),
        "data": pa.array(cal.days[snap_day]), "estoque": snap_on_hand,
    })
    return sold_ok, {"stockout_days": stockout_days, "supplier_failures": supplier_failures,
                     "lines_lost_to_stockouts": int((~sold_ok).sum())}


def _sales_file(rng: np.random.Generator, tickets: Tickets, line_ticket: np.ndarray, line_sku: np.ndarray,
                qty: np.ndarray, stores: Stores, catalogue: Catalogue, promotions: Promotions, cal: Calendar,
                first_ticket: int, files: CsvAppender) -> dict:
    """Append to vendas.csv: the sold lines at the day's price and promotion, plus returns (0.8% of
    lines come back 1-20 days later in a ticket of their own), ticket codes numbered from
    ``first_ticket``. Returns facts for the truth file, each seller's revenue by month (for
    targets) and how many ticket codes were used."""
    lt_store, lt_day = tickets.store[line_ticket], tickets.day[line_ticket]
    unit_price = catalogue.price_on_day[line_sku, lt_day]
    discount = np.round(unit_price * qty * promotions.pct(line_sku, lt_day, lt_store) / 100, 2)
    line_no = np.arange(len(line_ticket)) - np.searchsorted(line_ticket, line_ticket) + 1
    sold_at = cal.days[lt_day].astype("datetime64[s]") + tickets.second[line_ticket].astype("timedelta64[s]")
    ret = np.flatnonzero(rng.random(len(line_ticket)) < 0.008)
    ret_day = np.minimum(lt_day[ret] + rng.integers(1, 21, len(ret)), cal.n - 1)
    ret_at = cal.days[ret_day].astype("datetime64[s]") + (
        OPEN_HOUR * 3600 + rng.integers(0, 11 * 3600, len(ret))).astype("timedelta64[s]")
    customer = np.r_[tickets.customer[line_ticket], tickets.customer[line_ticket[ret]]]
    n_tix = len(tickets.store)
    first = TICKET_BASE + first_ticket
    files.write("vendas", {
        "cod_transacao": np.r_[first + line_ticket, first + n_tix + np.arange(len(ret))],
        "item": np.r_[line_no, np.ones(len(ret), dtype=np.int64)],
        "cod_loja": _labels(stores.ids, np.r_[lt_store, lt_store[ret]]),
        "cod_vendedor": _labels(stores.seller_ids, np.r_[tickets.seller[line_ticket], tickets.seller[line_ticket[ret]]]),
        "cod_cliente": pa.array(customer, mask=customer == 0),
        "cod_prod": _labels(catalogue.ids, np.r_[line_sku, line_sku[ret]]),
        "quantidade": np.r_[qty, -qty[ret]],
        "preco_unitario": np.r_[unit_price, unit_price[ret]],
        "desconto": np.r_[discount, np.zeros(len(ret))],
        "data_venda": pa.array(np.r_[sold_at, ret_at]),
    })
    n_months = (cal.days[-1].astype("datetime64[M]") - cal.days[0].astype("datetime64[M]")).astype(int) + 1
    month_idx = (cal.days[lt_day].astype("datetime64[M]") - cal.days[0].astype("datetime64[M]")).astype(int)
    n_sel = len(stores.seller_ids)
    seller_month = np.bincount(tickets.seller[line_ticket] * n_months + month_idx, weights=unit_price * qty - discount,
                               minlength=n_sel * n_months).reshape(n_sel, n_months)
    return {"tickets": len(np.unique(line_ticket)), "return_lines": len(ret), "seller_month": seller_month,
            "numbers_used": n_tix + len(ret)}


def _targets_rules_schedules(rng: np.random.Generator, stores: Stores, cal: Calendar, seller_month: np.ndarray,
                             out_dir: Path, rows: dict[str, int]) -> None:
    """Monthly targets near each seller's typical sales, the commission rules, and the last eight
    weeks of shifts (morning 10-16 or evening 16-22, one day off a week)."""
    n_sel, n_months = seller_month.shape
    months = np.arange(cal.days[0].astype("datetime64[M]"), cal.days[0].astype("datetime64[M]") + n_months)
    typical = np.maximum(seller_month.mean(axis=1, keepdims=True), 100)
    target = np.round(typical * rng.uniform(0.9, 1.15, (n_sel, n_months)) / 100) * 100
    rows["metas"] = _write(out_dir / "metas.csv", {
        "id_employee": np.repeat(stores.seller_ids, n_months), "mes": np.tile(months.astype(str), n_sel),
        "sales_target": target.ravel(),
    })
    rows["regras_comissao"] = _write(out_dir / "regras_comissao.csv", {
        "cod_regra": [r[0] for r in COMMISSION_RULES], "tipo": [r[1] for r in COMMISSION_RULES],
        "categoria": [r[2] for r in COMMISSION_RULES], "atingimento_min": [r[3] for r in COMMISSION_RULES],
        "taxa": [r[4] for r in COMMISSION_RULES],
    })
    sched_days = np.arange(max(0, cal.n - 56), cal.n)
    s_sel = np.repeat(np.arange(n_sel), len(sched_days))
    s_day = np.tile(sched_days, n_sel)
    works = (s_day + s_sel) % 7 != 0  # one day off a week, staggered
    s_sel, s_day = s_sel[works], s_day[works]
    morning = (s_sel + s_day // 7) % 2 == 0
    shift_start = cal.days[s_day].astype("datetime64[s]") + np.where(morning, 10, 16).astype("timedelta64[h]")
    rows["escalas"] = _write(out_dir / "escalas.csv", {
        "cod_loja": stores.ids[stores.seller_store[s_sel]], "id_employee": stores.seller_ids[s_sel],
        "inicio": pa.array(shift_start), "fim": pa.array(shift_start + np.timedelta64(6, "h")),
    })


def _satisfaction(seed: int, stores: Stores, cal: Calendar, out_dir: Path, rows: dict[str, int]) -> dict[str, float]:
    """NPS-style survey answers (0-10), about one a day per store of size 1: each store has its own
    share of promoters (9-10) and detractors (0-6). Drawn from a stream of their own, so the other
    files stay what they were for a seed. Returns each store's true NPS."""
    rng = np.random.default_rng([seed, 7])
    n_stores = len(stores.ids)
    promoters, detractors = rng.uniform(0.35, 0.7, n_stores), rng.uniform(0.05, 0.25, n_stores)
    answers = rng.poisson(1.2 * stores.size[:, None], (n_stores, cal.n))
    store = np.repeat(np.arange(n_stores), answers.sum(axis=1))
    day = np.concatenate([np.repeat(np.arange(cal.n), a) for a in answers])
    kind = rng.random(len(store))
    score = np.where(kind < promoters[store], rng.integers(9, 11, len(store)),
                     np.where(kind < promoters[store] + detractors[store], rng.integers(0, 7, len(store)),
                              rng.integers(7, 9, len(store))))
    rows["satisfacao"] = _write(out_dir / "satisfacao.csv", {
        "cod_resposta": [f"R{n:08d}" for n in range(len(store))], "cod_loja": _labels(stores.ids, store),
        "data": cal.days[day].astype(str), "nota": score,
    })
    return {s: round(100 * float(p - d), 1) for s, p, d in zip(stores.ids.tolist(), promoters, detractors)}


def _simulate_store(rng: np.random.Generator, sku: np.ndarray, day: np.ndarray, second: np.ndarray, qty: np.ndarray,
                    n_days: int, weekday: np.ndarray, delivery_weekday: int, launch_day: np.ndarray):
    """One store's stock, day by day: which lines could be sold, and the end-of-day snapshots.

    Each SKU is refilled on the store's delivery weekday up to ~12 days of its mean demand; 4% of
    SKUs suffer a supplier failure (three missed deliveries), so stock-outs are planted, not luck.
    Lines are served in time order and a line sells only while stock lasts (censored demand).
    """
    n_sku = len(launch_day)
    cell = sku.astype(np.int64) * n_days + day
    demand = np.bincount(cell, weights=qty, minlength=n_sku * n_days).reshape(n_sku, n_days)
    mean_daily = demand.mean(axis=1)
    order_up_to = np.ceil(mean_daily * 12 + 2 * np.sqrt(mean_daily * 7) + 1)
    failure = rng.random(n_sku) < 0.04
    failure_week = rng.integers(2, max(3, n_days // 7), n_sku)
    start = np.empty((n_sku, n_days), dtype=np.float32)
    delivered = np.zeros((n_sku, n_days), dtype=bool)
    on_hand = order_up_to.copy()
    for d in range(n_days):
        if weekday[d] == delivery_weekday:
            blocked = failure & (failure_week <= d // 7) & (d // 7 <= failure_week + 2)
            refill = ~blocked & (on_hand < order_up_to)
            on_hand = np.where(refill, order_up_to, on_hand)
            delivered[:, d] = refill
        start[:, d] = on_hand
        on_hand = on_hand - np.minimum(demand[:, d], on_hand)
    order = np.lexsort((second, cell))
    cell_sorted, qty_sorted = cell[order], qty[order]
    group_start = np.r_[0, np.flatnonzero(cell_sorted[1:] != cell_sorted[:-1]) + 1]
    csum = np.cumsum(qty_sorted)
    through = csum - np.repeat(csum[group_start] - qty_sorted[group_start], np.diff(np.r_[group_start, len(order)]))
    ok = np.empty(len(cell), dtype=bool)
    ok[order] = through <= start.ravel()[cell_sorted]
    sold = np.bincount(cell[ok], weights=qty[ok], minlength=n_sku * n_days).reshape(n_sku, n_days)
    end = start - sold
    days_idx = np.arange(n_days)[None, :]
    snap = (sold > 0) | delivered | (days_idx == np.maximum(launch_day, 0)[:, None])  # moves + opening count
    snap &= days_idx >= launch_day[:, None]
    snap_sku, snap_day = np.nonzero(snap)
    return (ok, snap_sku.astype(np.int32), snap_day.astype(np.int32), end[snap_sku, snap_day].astype(np.int32),
            int((end <= 0).sum()), int(failure.sum()))


def _labels(names: np.ndarray, index: np.ndarray) -> pa.Array:
    """names[index] built by Arrow (compact strings, unlike numpy's fixed-width unicode)."""
    return pa.array(names.tolist()).take(pa.array(index))


def _plant_pairs(rng: np.random.Generator, sub: np.ndarray, popularity: np.ndarray) -> list[tuple[int, int, float]]:
    """Complementary pairs between popular SKUs of complementary subcategories."""
    pairs: list[tuple[int, int, float]] = []
    used: set[int] = set()
    for sa, sb in COMPLEMENTS:
        a_cands = [i for i in np.argsort(-popularity) if sub[i] == sa and i not in used][:8]
        b_cands = [i for i in np.argsort(-popularity) if sub[i] == sb and i not in used][:8]
        for a, b in list(zip(a_cands, b_cands))[:2]:
            pairs.append((int(a), int(b), round(float(rng.uniform(0.3, 0.5)), 2)))
            used.update((a, b))
    return pairs


def _table(columns: dict) -> pa.Table:
    """Columns as given (strings stay strings, empty = missing) as one Arrow table."""
    return pa.table({k: v if isinstance(v, (pa.Array, np.ndarray)) else pa.array(np.asarray(v).tolist())
                     for k, v in columns.items()})


def _write(path: Path, columns: dict) -> int:
    """One CSV with a header."""
    table = _table(columns)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return table.num_rows
