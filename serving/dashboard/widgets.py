"""Pieces every page uses: the store being looked at, and tables written the Brazilian way."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from serving import format as fmt
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


def _text(value: object) -> str:
    return fmt.UNKNOWN if fmt.unknown(value) else str(value)


FORMATS = {  # how a column of each kind is written (serving/format.py: the project's one formatter)
    "text": _text, "money": fmt.money, "int": fmt.number, "num1": lambda v: fmt.number(v, 1),
    "num3": lambda v: fmt.number(v, 3),
    "pct": fmt.pct, "pct0": lambda v: fmt.pct(v, 0), "pct2": lambda v: fmt.pct(v, 2), "day": fmt.day,
}


def table(frame: pd.DataFrame, columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """``frame``'s ``columns`` (name → (pt-BR label, kind of FORMATS)) written as Brazilians read
    them: R$ 1.234,56, 1.234, 12,5%, 31/10, "–" for unknown. Strings, so the grid shows exactly that."""
    return pd.DataFrame({label: [FORMATS[kind](v) for v in frame[name]] for name, (label, kind) in columns.items()})


def excel_csv(shown: pd.DataFrame) -> bytes:
    """A :func:`table` as a CSV a Brazilian spreadsheet opens as it is: ``;`` between columns, UTF-8
    marked, the values written as on the screen."""
    return shown.to_csv(index=False, sep=";").encode("utf-8-sig")


def show_table(frame: pd.DataFrame, columns: dict[str, tuple[str, str]]) -> None:
    """:func:`table` on the page, numbers aligned right."""
    st.dataframe(table(frame, columns), hide_index=True, width="stretch", column_config={
        label: st.column_config.TextColumn(label, alignment="left" if kind == "text" else "right")
        for label, kind in columns.values()})
