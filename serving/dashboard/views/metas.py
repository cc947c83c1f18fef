"""Metas e comissões: each seller's month to date and projected: attainment, pace, commission."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import store_picker

store = store_picker()
team = pd.DataFrame(get("team_summary", store_id=store)["sellers"])
st.title(f"🎯 Metas e comissões — loja {store}")
if team.empty:
    st.info("Nenhum vendedor cadastrado nesta loja.")
    st.stop()
st.caption(f"Mês até {fmt.day(team['today'].iloc[0])} · dados do armazém até {fmt.day(team['data_through'].iloc[0])}"
           f" · {int(team['live_lines'].sum())} item(ns) lançados agora no caixa")
total, target, commission, projected = st.columns(4)
total.metric("Vendas da equipe no mês", fmt.money(team["sales_month"].sum()))
has_target = team["target"].notna()
target.metric("Da meta somada", fmt.pct(team.loc[has_target, "sales_month"].sum() / team.loc[has_target, "target"].sum() * 100)
              if has_target.any() and team.loc[has_target, "target"].sum() else "–")
commission.metric("Comissões acumuladas", fmt.money(team["commission_accrued"].sum()))
projected.metric("Comissões projetadas", fmt.money(team["commission_projected"].sum()))
st.dataframe(team[["name", "attainment_pct", "sales_month", "target", "daily_pace_needed", "sales_today",
                   "commission_accrued", "projected_sales", "commission_projected"]],
             hide_index=True, width="stretch", column_config={
                 "name": "Vendedor",
                 "attainment_pct": st.column_config.ProgressColumn("Da meta", format="%.1f%%", min_value=0, max_value=150),
                 "sales_month": st.column_config.NumberColumn("Vendas no mês (R$)", format="%.2f"),
                 "target": st.column_config.NumberColumn("Meta (R$)", format="%.2f"),
                 "daily_pace_needed": st.column_config.NumberColumn("Falta por dia (R$)", format="%.2f"),
                 "sales_today": st.column_config.NumberColumn("Hoje (R$)", format="%.2f"),
                 "commission_accrued": st.column_config.NumberColumn("Comissão (R$)", format="%.2f"),
                 "projected_sales": st.column_config.NumberColumn("Vendas projetadas (R$)", format="%.2f"),
                 "commission_projected": st.column_config.NumberColumn("Comissão projetada (R$)", format="%.2f")})
st.caption("Projeções: o ritmo do mês até hoje, mantido até o fim do mês.")
