"""Histórico: sales, tickets, average ticket, attainment and commission by day, week or month over
any range the warehouse holds, against the same period a year before; the period in progress
projected to its end. A seller sees their own; a manager their team's or one seller's."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import excel_csv, show_table, store_picker, table

GRAINS = {"month": "Mês", "week": "Semana", "day": "Dia"}
SPAN_DAYS = {"month": 365, "week": 91, "day": 30}  # the range shown until the user picks one

user = st.session_state["user"]
grain = st.segmented_control("Período", list(GRAINS), format_func=GRAINS.get, default="month", key="grain") or "month"
today = date.fromisoformat(get("readiness", slow=True)["today"])
picked = st.date_input("De – até", (today - timedelta(days=SPAN_DAYS[grain]), today), max_value=today,
                       format="DD/MM/YYYY", key=f"range-{grain}")
start, end = (picked[0], picked[-1]) if isinstance(picked, tuple | list) and picked else (None, None)
body = {"grain": grain, "start": start, "end": end}
if user["role"] != "seller":
    store = store_picker()
    team = get("team_summary", store_id=store)["sellers"]
    who = {"": f"Equipe da loja {store}", **{s["seller_id"]: s["name"] for s in team}}
    chosen = st.selectbox("De quem", list(who), format_func=who.get, key="who")
    body |= {"seller_id": chosen} if chosen else {"store_id": store}
found = get("seller_history", **body)
periods = pd.DataFrame(found["periods"])
st.title(f"📈 Histórico — {found['name'] if found['seller_id'] else 'equipe da loja ' + found['store_id']}")
st.caption(f"De {fmt.day(found['start'])}/{found['start'][:4]} a {fmt.day(found['end'])}/{found['end'][:4]} · dados do "
           f"armazém até {fmt.day(found['data_through'])} · mais as vendas lançadas agora no caixa")
if periods.empty or not periods["sales"].any():
    st.info("Nenhuma venda neste período.")
    st.stop()
sales, tickets, commission, versus = st.columns(4)
sales.metric("Vendas", fmt.money_short(periods["sales"].sum()))
tickets.metric("Atendimentos", fmt.number(periods["tickets"].sum()))
commission.metric("Comissão", fmt.money_short(periods["commission"].sum()))
before = periods["sales_last_year"].dropna()
if len(before) and before.sum():
    change = (periods.loc[before.index, "sales"].sum() / before.sum() - 1) * 100
    versus.metric("Contra o ano anterior", f"{'+' if change >= 0 else ''}{fmt.pct(change)}")
chart = periods.assign(period=pd.to_datetime(periods["start"]))
lines = chart.melt("period", ["sales", "sales_last_year"], "serie", "valor").dropna()
lines["serie"] = lines["serie"].map({"sales": "Vendas", "sales_last_year": "Ano anterior"})
st.altair_chart(alt.Chart(lines).mark_line(point=True).encode(
    x=alt.X("period:T", title=None, axis=alt.Axis(format="%d/%m/%y")),
    y=alt.Y("valor:Q", title="R$"), color=alt.Color("serie:N", title=None, legend=alt.Legend(orient="bottom"))),
    use_container_width=True)
COLUMNS = {"start": ("Início", "day"), "sales": ("Vendas", "money"), "tickets": ("Atendimentos", "int"),
           "avg_ticket": ("Ticket médio", "money"), "target": ("Meta", "money"), "attainment_pct": ("Da meta", "pct"),
           "commission": ("Comissão", "money"), "sales_last_year": ("Ano anterior", "money"),
           "change_pct": ("Variação", "pct"), "projected_sales": ("Projeção", "money")}
shown = periods.iloc[::-1]
show_table(shown, COLUMNS)
if periods["in_progress"].any():
    st.caption("Projeção: o período em andamento no ritmo até hoje. Ano anterior: os mesmos dias da semana 52 "
               "semanas antes (no mês, o mesmo mês).")
st.download_button("Baixar CSV", excel_csv(table(shown, COLUMNS)),
                   file_name=f"historico-{found['store_id']}-{found['seller_id'] or 'equipe'}-{grain}.csv",
                   mime="text/csv")
