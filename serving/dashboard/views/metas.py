"""Metas e comissões: each seller's month to date and projected: attainment, pace, commission."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import show_table, store_picker

store = store_picker()
team = pd.DataFrame(get("team_summary", store_id=store)["sellers"])
st.title(f"🎯 Metas e comissões — loja {store}")
if team.empty:
    st.info("Nenhum vendedor cadastrado nesta loja.")
    st.stop()
st.caption(f"Mês até {fmt.day(team['today'].iloc[0])} · dados do armazém até {fmt.day(team['data_through'].iloc[0])}"
           f" · {int(team['live_lines'].sum())} item(ns) lançados agora no caixa")
total, target, commission, projected = st.columns(4)
total.metric("Vendas da equipe no mês", fmt.money_short(team["sales_month"].sum()))
has_target = team["target"].notna()
target.metric("Da meta somada", fmt.pct(team.loc[has_target, "sales_month"].sum() / team.loc[has_target, "target"].sum() * 100)
              if has_target.any() and team.loc[has_target, "target"].sum() else "–")
commission.metric("Comissões acumuladas", fmt.money_short(team["commission_accrued"].sum()))
projected.metric("Comissões projetadas", fmt.money_short(team["commission_projected"].sum()))
show_table(team, {
    "name": ("Vendedor", "text"), "attainment_pct": ("Da meta", "pct"), "sales_month": ("Vendas no mês", "money"),
    "target": ("Meta", "money"), "daily_pace_needed": ("Falta por dia", "money"), "sales_today": ("Hoje", "money"),
    "commission_accrued": ("Comissão", "money"), "projected_sales": ("Vendas projetadas", "money"),
    "commission_projected": ("Comissão projetada", "money")})
st.caption("Projeções: o ritmo do mês até hoje, mantido até o fim do mês.")
