"""Alertas: the store's latest alerts, and its alert rules (kinds, to whom, thresholds, quiet hours),
which the manager changes here without support; every change is listed with who made it."""

from __future__ import annotations

from datetime import time

import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get, post
from serving.dashboard.widgets import show_table, store_picker
from warehouse.settings import load_settings

KINDS = {"seller_milestone": "Marco da meta (vendedor)", "team_milestone": "Marco da meta (equipe)",
         "behind_pace": "Abaixo do ritmo da meta", "stock_risk": "Risco de ruptura",
         "below_forecast": "Vendas abaixo da previsão"}
AUDIENCES = {"seller": "Vendedores", "manager": "Gerentes", "both": "Vendedores e gerentes"}
FIELDS = {"enabled": "Tipos ligados", "audience": "Para quem", "milestones_pct": "Marcos da meta",
          "behind_pace_pct": "Abaixo do ritmo", "stock_risk_pct": "Chance de ruptura",
          "below_window_days": "Janela da previsão (dias)", "quiet_from": "Silêncio de",
          "quiet_to": "Silêncio até"}
SHOWN = 50


def _changed(value: object, other: object) -> object:
    """Of a per-kind rule (a dict), only the kinds whose setting changed; any other value as it is."""
    if isinstance(value, dict) and isinstance(other, dict):
        return {k: v for k, v in value.items() if other.get(k) != v}
    return value


def _shown(value: object, field: str = "") -> str:
    """A rule's value as a manager reads it: ligado, 70%, 7 dias, 21:00, Vendedores e gerentes."""
    if field == "below_window_days":
        return f"{value} dias"
    if isinstance(value, bool):
        return "ligado" if value else "desligado"
    if isinstance(value, dict):
        return "; ".join(f"{KINDS.get(k, k)}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(f"{v}%" for v in value)
    if isinstance(value, int | float):
        return fmt.pct(value, 0)
    if value is None:
        return fmt.UNKNOWN
    return AUDIENCES.get(str(value), str(value))


store = store_picker()
user = st.session_state["user"]
st.title(f"🔔 Alertas — loja {store}")
found = get("alerts", store_id=store, limit=SHOWN, newest_first=True)["alerts"]
st.subheader("Últimos alertas")
if found:
    latest = pd.DataFrame(found).assign(
        when=lambda a: pd.to_datetime(a["raised_at"]).dt.tz_convert(load_settings().timezone).dt.strftime("%d/%m %H:%M"),
        kind=lambda a: a["kind"].map(KINDS))
    show_table(latest, {"when": ("Quando", "text"), "kind": ("Tipo", "text"), "name": ("Sobre", "text")})
else:
    st.info("Nenhum alerta ainda nesta loja.")

rules = get("alert_rules", store_id=store)
st.subheader("Regras")
may_change = user["role"] in ("manager", "admin")
with st.form("rules"):
    enabled, audience = {}, {}
    for kind, label in KINDS.items():
        on, to = st.columns([2, 2])
        enabled[kind] = on.toggle(label, rules["enabled"][kind], key=f"on-{kind}")
        audience[kind] = to.selectbox("Para", list(AUDIENCES), list(AUDIENCES).index(rules["audience"][kind]),
                                      format_func=AUDIENCES.get, key=f"to-{kind}", label_visibility="collapsed")
    milestones = st.multiselect("Marcos da meta (%)", [25, 50, 75, 90, 100, 110, 120, 150], rules["milestones_pct"],
                                placeholder="Escolha os marcos")
    pace = st.slider("Avisar quem está abaixo do ritmo da meta em mais de (%)", 5, 90, int(rules["behind_pace_pct"]))
    risk = st.slider("Avisar risco de ruptura a partir de (%)", 10, 99, int(rules["stock_risk_pct"]))
    window = st.slider("Vendas abaixo do P10 da previsão ao longo de (dias)", 3, 28, int(rules["below_window_days"]))
    quiet = st.toggle("Horário de silêncio (os avisos esperam até o fim)", rules["quiet_from"] is not None)
    start, end = st.columns(2)
    quiet_from = start.time_input("De", time.fromisoformat(rules["quiet_from"] or "21:00"), step=1800)
    quiet_to = end.time_input("Até", time.fromisoformat(rules["quiet_to"] or "08:00"), step=1800)
    if st.form_submit_button("Salvar", disabled=not may_change):
        change = {"enabled": enabled, "audience": audience, "milestones_pct": sorted(milestones),
                  "behind_pace_pct": pace, "stock_risk_pct": risk, "below_window_days": window}
        change |= ({"quiet_from": f"{quiet_from:%H:%M}", "quiet_to": f"{quiet_to:%H:%M}"} if quiet
                   else {"no_quiet_hours": True})
        rules = post("alert_rules", store_id=store, change=change)
        st.success("Regras salvas.")
if not may_change:
    st.caption("Só o gerente da loja (ou um administrador) muda as regras.")

if rules["changes"]:
    st.subheader("Mudanças")
    changes = pd.DataFrame(rules["changes"]).assign(
        when=lambda c: pd.to_datetime(c["changed_at"]).dt.strftime("%d/%m/%Y %H:%M"),
        what=lambda c: c["field"].map(FIELDS),
        before=lambda c: [_shown(_changed(o, n), f) for f, o, n in zip(c["field"], c["old"], c["new"])],
        after=lambda c: [_shown(_changed(n, o), f) for f, o, n in zip(c["field"], c["old"], c["new"])])
    show_table(changes, {"when": ("Quando (UTC)", "text"), "changed_by": ("Quem", "text"), "what": ("O quê", "text"),
                         "before": ("Antes", "text"), "after": ("Depois", "text")})
st.caption(f"Alertas chegam pelo bot em até um minuto depois da venda · {fmt.number(len(found))} mostrados")
