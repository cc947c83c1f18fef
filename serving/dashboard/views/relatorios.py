"""Relatórios: the store's reports, shaped here without support (which figures, which period, for
whom, how often the bot sends them), with a preview of the table as it stands and its CSV or PDF."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get, post
from serving.dashboard.widgets import excel_csv, show_table, store_picker, table

METRICS = {"sales": ("Vendas", "money"), "tickets": ("Atendimentos", "int"), "avg_ticket": ("Ticket médio", "money"),
           "target": ("Meta", "money"), "attainment_pct": ("Da meta", "pct"), "commission": ("Comissão", "money"),
           "sales_last_year": ("Ano anterior", "money"), "change_pct": ("Variação", "pct"),
           "projected_sales": ("Projeção", "money")}
GRAINS = {"day": "Ontem", "week": "A semana de ontem", "month": "O mês de ontem"}
AUDIENCES = {"self": "Só eu", "team": "Toda a equipe (a tabela inteira)", "each_seller": "Cada vendedor (a sua linha)"}
SCHEDULES = {"daily": "Todo dia", "weekly": "Toda segunda-feira", "monthly": "Todo dia 1º", "none": "Só quando eu pedir"}
ACTIONS = {"created": "Criou", "changed": "Alterou", "deleted": "Excluiu"}
FIELDS = {"name": ("Nome", str), "metrics": ("Indicadores", lambda ms: ", ".join(METRICS[m][0] for m in ms)),
          "grain": ("Período", GRAINS.get), "audience": ("Para quem", AUDIENCES.get),
          "schedule": ("Envio", SCHEDULES.get)}
NEW = 0


def what_changed(old: dict | None, new: dict | None) -> str:
    """A change in words: each field that differs, before → after (a whole definition when created)."""
    if old is None or new is None:
        shown = new or old
        return " · ".join(f"{label}: {say(shown[f])}" for f, (label, say) in FIELDS.items() if f != "name")
    return " · ".join(f"{label}: {say(old[f])} → {say(new[f])}" for f, (label, say) in FIELDS.items() if old[f] != new[f])


def pdf(title: str, shown: pd.DataFrame) -> bytes:
    """The table as a one-page PDF (landscape A4), as written on the screen. Built when the button is
    pressed, on Streamlit's own thread: a bare Figure, not pyplot's global state."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.69, 8.27))
    axes = figure.subplots()
    axes.axis("off")
    axes.set_title(title, loc="left", fontsize=14)
    grid = axes.table(cellText=shown.to_numpy(), colLabels=list(shown.columns), loc="upper left", cellLoc="right")
    grid.auto_set_font_size(False)
    grid.set_fontsize(9)
    grid.auto_set_column_width(list(range(shown.shape[1])))
    out = io.BytesIO()
    figure.savefig(out, format="pdf", bbox_inches="tight")
    return out.getvalue()


store = store_picker()
user = st.session_state["user"]
st.title(f"📊 Relatórios — loja {store}")
saved = get("reports", store_id=store)["reports"]
names = {NEW: "➕ Novo relatório", **{r["report_id"]: r["name"] for r in saved}}
chosen = st.selectbox("Relatório", list(names), format_func=names.get, key="report")
current = next((r for r in saved if r["report_id"] == chosen), {
    "name": "", "metrics": ["sales", "tickets", "attainment_pct"], "grain": "day", "audience": "self", "schedule": "daily"})
may_change = user["role"] in ("manager", "admin")
with st.form("shape"):
    name = st.text_input("Nome", current["name"], max_chars=60, placeholder="Ex.: Fechamento do dia")
    metrics = st.multiselect("Indicadores", list(METRICS), current["metrics"], format_func=lambda m: METRICS[m][0],
                             placeholder="Escolha os indicadores")
    left, middle, right = st.columns(3)
    grain = left.selectbox("Período", list(GRAINS), list(GRAINS).index(current["grain"]), format_func=GRAINS.get)
    audience = middle.selectbox("Para quem", list(AUDIENCES), list(AUDIENCES).index(current["audience"]),
                                format_func=AUDIENCES.get)
    schedule = right.selectbox("Envio pelo bot", list(SCHEDULES), list(SCHEDULES).index(current["schedule"]),
                               format_func=SCHEDULES.get)
    saving = st.form_submit_button("Salvar", disabled=not may_change)
shaped = {"name": name or "Prévia", "metrics": metrics or ["sales"], "grain": grain, "audience": audience,
          "schedule": schedule}
if saving:
    if not name.strip() or not metrics:
        st.warning("Dê um nome e escolha ao menos um indicador.")
    else:
        post("reports", store_id=store, save={**shaped, "report_id": chosen or None})
        st.cache_data.clear()
        st.success("Relatório salvo.")
if chosen and may_change and st.button("Excluir este relatório"):
    post("reports", store_id=store, delete_id=chosen)
    st.cache_data.clear()
    st.rerun()

preview = get("report_preview", store_id=store, report={**shaped, "report_id": None})
frame = pd.DataFrame([{"name": r["name"], **r["values"]} for r in preview["rows"]])
columns = {"name": ("Quem", "text"), **{m: METRICS[m] for m in preview["metrics"]}}
start = preview["period_start"]
period = fmt.span(start, preview["period_end"])
st.subheader(f"Prévia — {period}" + (" (em andamento)" if preview["in_progress"] else ""))
show_table(frame, columns)
shown = table(frame, columns)
csv_column, pdf_column = st.columns(2)
csv_column.download_button("Baixar CSV", excel_csv(shown),
                           file_name=f"relatorio-{store}-{start}.csv", mime="text/csv")
pdf_column.download_button("Baixar PDF", lambda: pdf(f"{preview['name']} — loja {store} — {period}", shown),  # on click
                           file_name=f"relatorio-{store}-{start}.pdf", mime="application/pdf")
changes = get("reports", store_id=store)["changes"]  # after a save too (the cache was cleared)
if changes:
    st.subheader("Mudanças")
    trail = pd.DataFrame([{"when": c["changed_at"], "changed_by": c["changed_by"], "action": ACTIONS[c["action"]],
                           "report": (c["new"] or c["old"])["name"], "what": what_changed(c["old"], c["new"])}
                          for c in changes]).assign(when=lambda c: pd.to_datetime(c["when"]).dt.strftime("%d/%m/%Y %H:%M"))
    show_table(trail, {"when": ("Quando (UTC)", "text"), "changed_by": ("Quem", "text"), "action": ("Ação", "text"),
                       "report": ("Relatório", "text"), "what": ("O quê", "text")})
st.caption("O bot envia no horário do relatório diário. Valores como no histórico: a meta do mês repartida pelos "
           "dias, a comissão na taxa que o mês atingiu.")
