"""Lojas: the store's last full month against the chain and similar stores; weakest areas and the
products selling under their chain share."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import show_table, store_picker

KPIS = {"revenue": "Faturamento", "tickets": "Atendimentos", "avg_ticket": "Ticket médio",
        "items_per_ticket": "Itens por ticket", "growth_pct": "Crescimento", "nps": "Satisfação"}
TILES_PER_ROW = 3
store = store_picker()
c = get("store_comparison", slow=True, store_id=store)
st.title(f"🏆 {c['store_name']} — {fmt.month_name(c['month'])}")
st.caption(f"Região {c['region'] or '–'} · lojas parecidas: {', '.join(c['similar_stores']) or 'nenhuma'}")
kpis = pd.DataFrame(c["kpis"]).assign(indicador=lambda k: k["kpi"].map(KPIS))
cols = [c for row in range(0, len(kpis), TILES_PER_ROW) for c in st.columns(TILES_PER_ROW)]  # values fit at 1280 px
for col, k in zip(cols, kpis.itertuples()):
    value = {"revenue": fmt.money_short, "avg_ticket": fmt.money, "growth_pct": fmt.pct, "tickets": fmt.number,
             "items_per_ticket": lambda v: fmt.number(v, 2), "nps": lambda v: f"NPS {fmt.number(v)}"}[k.kpi](k.store)
    gap = None if fmt.unknown(k.gap_pct) else f"{'+' if k.gap_pct >= 0 else ''}{fmt.pct(k.gap_pct)} vs parecidas"
    col.metric(k.indicador, value, gap, help=f"{int(k.rank)}º de {int(k.stores)} lojas" if pd.notna(k.rank) else None)
if c["areas_to_improve"]:
    st.warning("A melhorar: " + ", ".join(KPIS.get(a, a) for a in c["areas_to_improve"]))
else:
    st.success("A loja está à frente das parecidas em todos os indicadores.")
chart = kpis.dropna(subset=["gap_pct"])
if not chart.empty:
    st.altair_chart(alt.Chart(chart).mark_bar().encode(
        x=alt.X("gap_pct:Q", title="% contra as lojas parecidas"), y=alt.Y("indicador:N", title=None),
        color=alt.condition("datum.gap_pct < 0", alt.value("#d62728"), alt.value("#2ca02c"))), width="stretch")

st.subheader("Categorias abaixo da rede")
trailing = pd.DataFrame(c["trailing_categories"])
if trailing.empty:
    st.info("Nenhuma categoria vende bem abaixo da sua participação na rede.")
else:
    show_table(trailing, {"category": ("Categoria", "text"), "store_share_pct": ("Na loja", "pct"),
                          "chain_share_pct": ("Na rede", "pct")})
st.subheader("Produtos abaixo do esperado")
products = pd.DataFrame(c["underperforming_products"])
if products.empty:
    st.info("Nenhum dos 100 produtos mais vendidos da rede vende menos da metade do esperado aqui.")
else:
    show_table(products, {"name": ("Produto", "text"), "category": ("Categoria", "text"),
                          "store_share_pct": ("% das vendas da loja", "pct2"),
                          "chain_share_pct": ("% das vendas da rede", "pct2"), "sku": ("SKU", "text")})
