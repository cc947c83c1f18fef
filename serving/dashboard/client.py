"""The dashboard's side of the API: calls with the signed-in user's token, cached for a while (live
figures briefly, models longer), slow calls under a spinner, and trouble as a message on the page
(the service down, a refusal, an expired token) — never a traceback."""

from __future__ import annotations

import json

import streamlit as st

from serving.api_client import Refused, ServiceDown, VitrineApi
from warehouse.settings import load_settings

LIVE_TTL = 30  # seconds: figures sellers move during the day
SLOW_TTL = 300  # models, plans and comparisons change with a pipeline run


@st.cache_resource
def _client(url: str) -> VitrineApi:
    return VitrineApi(url, timeout=20)


def _api() -> VitrineApi:
    return _client(load_settings().api_url)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def _live(url: str, endpoint: str, token: str, body: str) -> dict:
    return _client(url).call(endpoint, token, **json.loads(body))


@st.cache_data(ttl=SLOW_TTL, show_spinner=False)
def _slow(url: str, endpoint: str, token: str, body: str) -> dict:
    return _client(url).call(endpoint, token, **json.loads(body))


def get(endpoint: str, slow: bool = False, **body) -> dict:
    """The endpoint's reply for the signed-in user (cached); on trouble, a message and the page stops."""
    cached = _slow if slow else _live
    key = (load_settings().api_url, endpoint, st.session_state.get("token", ""), json.dumps(body, sort_keys=True, default=str))
    with st.spinner("Carregando…"):
        return _guarded(lambda: cached(*key))


def post(endpoint: str, **body) -> dict:
    """An action (never cached)."""
    with st.spinner("Enviando…"):
        return _guarded(lambda: _api().call(endpoint, st.session_state.get("token", ""), **body))


def sign_in(token: str) -> dict | None:
    """The user behind ``token`` (then kept in the session), or None when the service says no."""
    try:
        user = _api().call("me", token.strip())
    except Refused:
        return None
    except ServiceDown:
        st.error("O serviço está fora do ar agora; tente de novo em instantes.")
        st.stop()
    st.session_state["token"], st.session_state["user"] = token.strip(), user
    return user


def _guarded(call):
    try:
        return call()
    except ServiceDown:
        st.error("O serviço está fora do ar ou lento agora. Tente de novo em instantes.")
    except Refused as exc:
        if exc.status == 401:
            st.session_state.pop("user", None)
            st.error("Sua sessão não vale mais (token revogado). Entre de novo.")
        elif exc.status == 403:
            st.error("Isso não está disponível para o seu perfil.")
        else:
            st.warning(f"Não foi possível mostrar isto: {exc.message}")
    st.stop()
