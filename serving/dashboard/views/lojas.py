"""Lojas: the store's last full month against the chain and similar stores; weakest areas and the
products selling under their chain share."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import store_picker

KPIS = {"revenue": "Faturamento", "tickets": "Atendimentos", "avg_ticket": "Ticket médio",
        "items_per_ticket": "Itens por ticket", "growth_pct": "Crescimento (%)"}
store = store_picker()
c = get("store_comparison", slow=True, store_id=store)
st.title(f"🏆 {c['store_name']} — {fmt.month_name(c['month'])}")
st.caption(f"Região {c['region'] or '–'} · lojas parecidas: {', '.join(c['similar_stores']) or 'nenhuma'}")
kpis = pd.DataFrame(c["kpis"]).assign(indicador=lambda k: k["kpi"].map(KPIS))
cols = st.columns(len(kpis))
for col, k in zip(cols, kpis.itertuples()):
    value = fmt.money(k.store) if k.kpi in ("revenue", "avg_ticket") else (fmt.pct(k.store) if k.kpi == "growth_pct"
                                                                             else f"{k.store or 0:g}".replace(".", ","))
    col.metric(k.indicador, value, None if pd.isna(k.gap_pct) else f"{k.gap_pct:+.1f}% vs parecidas".replace(".", ","),
               help=f"{k.rank}º de {k.stores} lojas" if pd.notna(k.rank) else None)
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
    st.dataframe(trailing, hide_index=True, width="stretch", column_config={
        "category": "Categoria", "store_share_pct": st.column_config.NumberColumn("Na loja", format="%.1f%%"),
        "chain_share_pct": st.column_config.NumberColumn("Na rede", format="%.1f%%")})
st.subheader("Produtos abaixo do esperado")
products = pd.DataFrame(c["underperforming_products"])
if products.empty:
    st.info("Nenhum dos 100 produtos mais vendidos da rede vende menos da metade do esperado aqui.")
else:
    st.dataframe(products[["name", "category", "store_share_pct", "chain_share_pct", "sku"]], hide_index=True,
                 width="stretch", column_config={
                     "name": "Produto", "category": "Categoria", "sku": "SKU",
                     "store_share_pct": st.column_config.NumberColumn("% das vendas da loja", format="%.2f%%"),
                     "chain_share_pct": st.column_config.NumberColumn("% das vendas da rede", format="%.2f%%")})
