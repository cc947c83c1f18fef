"""Estoque: the store's stock-out risks with filters, a SKU's history and forecast fan, the order CSV."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import show_table, store_picker

store = store_picker()
st.title(f"📦 Estoque — loja {store}")
alerts = pd.DataFrame(get("stock_alerts", slow=True, store_id=store, limit=500)["alerts"])
if alerts.empty:
    st.info("Nenhum risco de ruptura nesta loja: todo SKU tem estoque para o prazo de reposição.")
    st.stop()

left, middle, right = st.columns(3)
categories = left.multiselect("Categoria", sorted(alerts["category"].unique()), placeholder="Todas")
brands = middle.multiselect("Marca", sorted(alerts["brand"].unique()), placeholder="Todas")
risk = right.slider("Risco mínimo de faltar (%)", 0, 100, 50, step=5)
shown = alerts[alerts["stockout_probability"] * 100 >= risk]
if categories:
    shown = shown[shown["category"].isin(categories)]
if brands:
    shown = shown[shown["brand"].isin(brands)]

st.metric("SKUs em risco", fmt.number(len(shown)), help="com os filtros acima")
if shown.empty:
    st.info("Nenhum SKU com esses filtros. Baixe o risco mínimo ou limpe os filtros.")
    st.stop()
show_table(shown.assign(risco=shown["stockout_probability"] * 100), {
    "sku": ("SKU", "text"), "name": ("Produto", "text"), "category": ("Categoria", "text"), "brand": ("Marca", "text"),
    "on_hand": ("Em estoque (un.)", "int"), "days_of_cover": ("Dias de cobertura", "num1"),
    "stockout_date": ("Acaba em", "day"), "risco": ("Risco de faltar", "pct0"), "order_quantity": ("Pedir (un.)", "int")})
order = shown[shown["order_quantity"] > 0][["sku", "name", "category", "brand", "on_hand", "order_quantity"]]
st.download_button("⬇️ Sugestão de pedido (CSV)", order.to_csv(index=False).encode(), f"pedido-{store}.csv", "text/csv",
                   disabled=order.empty)

st.subheader("Histórico e previsão")
names = dict(zip(shown["sku"], shown["name"]))
sku = st.selectbox("Produto", list(names), format_func=lambda s: f"{s} — {names[s]}")
chosen = shown[shown["sku"] == sku].iloc[0]
history = pd.DataFrame(get("sku_history", slow=True, store_id=store, sku=sku)["days"])
forecast = pd.DataFrame(get("forecast", slow=True, store_id=store, skus=[sku], horizon_days=28)["days"])
a, b, c = st.columns(3)
a.metric("Em estoque", f"{fmt.number(chosen['on_hand'])} un.")
b.metric("Acaba em", fmt.day(chosen["stockout_date"]))
c.metric("Pedido sugerido", f"{fmt.number(chosen['order_quantity'])} un.")
layers = []
if not history.empty:
    layers.append(alt.Chart(history).mark_bar(opacity=0.5).encode(
        x=alt.X("date:T", title="dia"), y=alt.Y("units:Q", title="unidades por dia"), tooltip=["date:T", "units:Q"]))
if not forecast.empty:
    band = alt.Chart(forecast).encode(x="date:T")
    layers += [band.mark_area(opacity=0.25).encode(y="p10:Q", y2="p90:Q", tooltip=["date:T", "p10:Q", "p50:Q", "p90:Q"]),
               band.mark_line().encode(y="p50:Q")]
if layers:
    st.altair_chart(alt.layer(*layers), width="stretch")
    st.caption("Barras: vendido por dia. Faixa: previsão P10–P90; linha: P50 (a mediana).")
else:
    st.info("Sem histórico nem previsão para este SKU.")
