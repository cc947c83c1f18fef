"""Modelos (analysts): each model's champion, its backtest metrics and plots, the versions with the
gate's decisions, and a button that asks the service to run the pipeline."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from serving.dashboard.client import get, post
from serving.dashboard.widgets import show_table

TITLES = {"stock-forecaster": "Previsão de estoque", "cross-sell": "Cross-sell", "staffing": "Escala"}
STATES = {"never": "nenhum ainda", "running": "rodando", "succeeded": "concluído", "failed": "falhou"}
DECISIONS = {"promoted": "promovida", "rejected": "recusada"}  # the gate's two (training/tracking.py)


REASONS = (  # the champion gate's reasons (training/tracking.py writes them in English, for MLflow)
    ("same configuration as the champion, fitted on newer data", "mesma configuração da campeã, com dados mais novos"),
    ("the champion's method cannot be scored on this backtest: replaced",
     "o método da campeã não se avalia neste backtest: substituída"),
    ("no champion yet", "ainda não havia campeã"), ("lower is better, promoted", "menor é melhor: promovida"),
    ("higher is better, promoted", "maior é melhor: promovida"), ("not better, champion kept", "não é melhor: campeã mantida"),
    (" vs champion ", " contra a campeã "), ("is not a number", "não é um número"), ("candidate ", "candidata "),
    ("does not beat", "não supera"),
)


def reason_pt(reason: str | None) -> str:
    """The gate's reason in Portuguese, its numbers with a decimal comma (a phrase it does not know stays)."""
    text = reason or "–"
    for english, portuguese in REASONS:
        text = text.replace(english, portuguese)
    return re.sub(r"(\d)\.(\d)", r"\1,\2", text)


def moment(value: str | None) -> str:
    """An ISO time as 25/11 14:03 (UTC, as the runs record it); "–" when unknown."""
    return "–" if not value else datetime.fromisoformat(value).strftime("%d/%m %H:%M")
st.title("🧪 Modelos")

run = get("pipeline_status")
left, right = st.columns([3, 1])
left.write(f"Último pipeline pedido pelo painel: **{STATES.get(run['state'], run['state'])}**"
           + (f" (início {moment(run['started_at'])}, fim {moment(run['finished_at'])})" if run["started_at"] else ""))
if right.button("▶️ Rodar o pipeline agora", disabled=run["state"] == "running"):
    run = post("run_pipeline")
    st.cache_data.clear()
    st.success("Pipeline iniciado: ingestão, features, os três modelos e os números publicados. Acompanhe aqui.")
if run["log_tail"]:
    with st.expander("Fim do log do pipeline"):
        st.code(run["log_tail"])

for model in get("models", slow=True)["models"]:
    st.header(TITLES.get(model["name"], model["name"]))
    if model["champion"] is None:
        st.info("Ainda sem campeão: treine com `vitrine train` ou rode o pipeline.")
        continue
    st.write(f"Campeão: versão **{model['champion']}**")
    metrics = pd.DataFrame(sorted(model["metrics"].items()), columns=["métrica", "valor"])
    with st.expander(f"Métricas do backtest ({len(metrics)})"):
        show_table(metrics, {"métrica": ("Métrica", "text"), "valor": ("Valor", "num3")})
    for path in model["plots"]:
        plot = get("model_plot", slow=True, name=model["name"], version=model["champion"], path=path)
        st.image(base64.b64decode(plot["png_base64"]), caption=path.split("/")[-1])
    versions = pd.DataFrame(model["versions"])
    versions["criada"] = [datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%m/%Y %H:%M") for ms in versions["created_at"]]
    versions["campea"] = versions["champion"].map({True: "sim", False: ""})
    versions["decisao"] = versions["decision"].map(lambda d: DECISIONS.get(d, d))
    versions["motivo"] = versions["reason"].map(reason_pt)
    show_table(versions, {"version": ("Versão", "text"), "criada": ("Criada", "text"), "campea": ("Campeã", "text"),
                          "decisao": ("Decisão do portão", "text"), "motivo": ("Motivo", "text")})
