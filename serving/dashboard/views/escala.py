"""Escala: the week's forecast traffic and sellers needed per day and hour, gaps vs the schedule, peaks."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import show_table, store_picker

store = store_picker()
st.title(f"👥 Escala — loja {store}")
plan_on = st.radio("Planejar para", ["p90", "p50"], horizontal=True,
                   format_func={"p90": "dia movimentado (P90)", "p50": "dia típico (P50)"}.get)
plan = get("staffing_plan", slow=True, store_id=store, plan_on=plan_on)
hours = pd.DataFrame(plan["hours"])
if hours.empty:
    st.info("Ainda não há previsão de movimento para esta loja: rode o pipeline.")
    st.stop()
hours["dia"] = [fmt.weekday_day(d) for d in hours["date"]]
days = list(dict.fromkeys(hours["dia"]))
st.caption(f"Base da previsão: {plan['basis']} · modelo v{plan['model_version']}")

heat = alt.Chart(hours).mark_rect().encode(
    x=alt.X("hour:O", title="hora"), y=alt.Y("dia:N", sort=days, title=None),
    color=alt.Color("sellers_needed:Q", title="vendedores", scale=alt.Scale(scheme="blues")),
    tooltip=["dia", "hour", "tickets_p50", "tickets_p90", "sellers_needed", "scheduled", "gap"])
labels = heat.mark_text(baseline="middle").encode(text="sellers_needed:Q", color=alt.value("black"))
st.subheader("Vendedores necessários")
st.altair_chart(heat + labels, width="stretch")

st.subheader("Movimento previsto (atendimentos por hora)")
st.altair_chart(alt.Chart(hours).mark_rect().encode(
    x=alt.X("hour:O", title="hora"), y=alt.Y("dia:N", sort=days, title=None),
    color=alt.Color(f"tickets_{plan_on}:Q", title="atendimentos", scale=alt.Scale(scheme="oranges")),
    tooltip=["dia", "hour", "tickets_p50", "tickets_p90"]), width="stretch")

gaps = hours[hours["gap"].notna() & (hours["gap"] < 0)]
st.subheader("Furos na escala")
if hours["scheduled"].isna().all():
    st.info("Sem escala cadastrada para estes dias: não há furos a comparar.")
elif gaps.empty:
    st.success("A escala cobre todas as horas da semana.")
else:
    show_table(gaps.assign(gap=-gaps["gap"], hora=[f"{h:02d}h" for h in gaps["hour"]]), {
        "dia": ("Dia", "text"), "hora": ("Hora", "text"), "sellers_needed": ("Necessários", "int"),
        "scheduled": ("Escalados", "int"), "gap": ("Faltam", "int"), "sales_at_risk": ("Vendas em risco", "money")})
st.subheader("Picos")
peaks = plan["peaks"]
st.write("\n".join(f"- {fmt.day(p['date'])}: {p['start']:02d}h–{p['end']:02d}h" for p in peaks) or "Nenhum pico previsto.")
