"""Pieces every page uses: the store being looked at, and how a page says it has nothing to show."""

from __future__ import annotations

import streamlit as st

from serving.dashboard.client import get


def store_picker() -> str:
    """The user's own store, or (analysts, admins) the store chosen in the sidebar."""
    user = st.session_state["user"]
    if user["store_id"]:
        return user["store_id"]
    stores = get("stores", slow=True)["stores"]
    if not stores:
        st.info("Nenhuma loja publicada ainda: rode o pipeline uma vez.")
        st.stop()
    labels = {s["store_id"]: f"{s['store_id']} — {s['name']}" for s in stores}
    return st.sidebar.selectbox("Loja", list(labels), format_func=labels.get, key="store")
