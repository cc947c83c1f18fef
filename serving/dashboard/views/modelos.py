"""Modelos (analysts): each model's champion, its backtest metrics and plots, the versions with the
gate's decisions, and a button that asks the service to run the pipeline."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from serving.dashboard.client import get, post

TITLES = {"stock-forecaster": "Previsão de estoque", "cross-sell": "Cross-sell", "staffing": "Escala"}
st.title("🧪 Modelos")

run = get("pipeline_status")
left, right = st.columns([3, 1])
left.write(f"Último pipeline pedido pelo painel: **{run['state']}**"
           + (f" (início {run['started_at']}, fim {run['finished_at'] or '–'})" if run["started_at"] else ""))
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
        st.dataframe(metrics, hide_index=True, width="stretch")
    for path in model["plots"]:
        plot = get("model_plot", slow=True, name=model["name"], version=model["champion"], path=path)
        st.image(base64.b64decode(plot["png_base64"]), caption=path.split("/")[-1])
    versions = pd.DataFrame(model["versions"])
    versions["criada"] = [datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%m/%Y %H:%M") for ms in versions["created_at"]]
    st.dataframe(versions[["version", "criada", "champion", "decision", "reason"]], hide_index=True,
                 width="stretch", column_config={
                     "version": "Versão", "champion": "Campeã", "decision": "Decisão do portão", "reason": "Motivo"})
