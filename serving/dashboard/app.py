"""The managers' and analysts' dashboard (Streamlit, pt-BR): ``streamlit run serving/dashboard/app.py``
(or ``vitrine dashboard``). It talks only to the API, with the token the user signs in with;
the pages shown depend on the role."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `streamlit run` puts only this folder on the path

from serving.dashboard import sessions  # noqa: E402
from serving.dashboard.client import sign_in  # noqa: E402
from warehouse.local_files import keep_private  # noqa: E402
from warehouse.settings import load_settings  # noqa: E402

HERE = Path(__file__).resolve().parent
PAGES = {  # file, title, icon, roles
    "estoque": ("Estoque", "📦", ("manager", "analyst", "admin")),
    "escala": ("Escala", "👥", ("manager", "analyst", "admin")),
    "cross_sell": ("Cross-sell", "🛍️", ("seller", "manager", "analyst", "admin")),
    "metas": ("Metas e comissões", "🎯", ("manager", "analyst", "admin")),
    "historico": ("Histórico", "📈", ("seller", "manager", "analyst", "admin")),
    "lojas": ("Lojas", "🏆", ("manager", "analyst", "admin")),
    "alertas": ("Alertas", "🔔", ("manager", "analyst", "admin")),
    "relatorios": ("Relatórios", "📊", ("manager", "analyst", "admin")),
    "modelos": ("Modelos", "🧪", ("analyst", "admin")),
}

ROLES = {"seller": "vendedor", "manager": "gerente", "analyst": "analista", "admin": "administrador"}


def login() -> None:
    st.title("Vitrine — painel da loja")
    st.write("Entre com o seu token de acesso (o administrador o cria com `vitrine users add`).")
    with st.form("login"):
        token = st.text_input("Token", type="password")
        if st.form_submit_button("Entrar") and token:
            if sign_in(token):
                st.session_state["session_id"] = sessions.open_session(settings, token.strip())
                st.rerun()
            st.error("Token inválido ou revogado.")


def requested_page() -> str:
    """The page the address asks for ('' for the main page), under any base path the server has."""
    path = urlparse(st.context.url or "").path.strip("/")
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    if base and path.startswith(base):
        path = path[len(base):].strip("/")
    return path.split("/")[-1] if path else ""


def answering(asked: str, known: set[str], page) -> list:
    """A hidden page at an address the menu does not know, so Streamlit shows ``page`` there rather
    than its English "Page not found" dialog."""
    return [] if not asked or asked in known else [st.Page(page, title="Vitrine", url_path=asked, visibility="hidden")]


def not_found() -> None:
    st.title("Página não encontrada")
    st.write(f"O endereço /{requested_page()} não é uma página do painel, ou não é para o seu perfil. "
             "Escolha uma página no menu ao lado.")


def sign_out() -> None:
    if "session_id" in st.session_state:
        sessions.close_session(settings, st.session_state["session_id"])
    st.session_state.clear()
    st.query_params.clear()
    st.cache_data.clear()


def resume(session_id: str) -> dict | None:
    """The user of a session still open (a refresh, a bookmarked address), signed in again."""
    token = sessions.token_of(settings, session_id)
    found = sign_in(token) if token else None
    if found is not None:
        st.session_state["session_id"] = session_id
    return found


keep_private()
settings = load_settings()
st.set_page_config(page_title="Vitrine", page_icon="🛍️", layout="wide")
user = st.session_state.get("user")
if user is None and st.query_params.get("s"):
    user = resume(st.query_params["s"])
kiosk = settings.dashboard_token
if user is None and kiosk:
    user = sign_in(kiosk)
    if user is None:
        st.error("VITRINE_DASHBOARD_TOKEN não vale (revogado?): crie outro com `vitrine users add`.")
        st.stop()
asked = requested_page()
if user is None:  # any address shows the sign-in; once in, the same address shows its page
    entrance = st.Page(login, title="Entrar", icon="🔑")
    st.navigation([entrance, *answering(asked, {entrance.url_path}, login)]).run()
else:
    pages = [st.Page(HERE / "views" / f"{name}.py", title=title, icon=icon, url_path=name)
             for name, (title, icon, roles) in PAGES.items() if user["role"] in roles]
    if "session_id" in st.session_state:  # every page keeps the session in its address, so F5 keeps it
        st.query_params["s"] = st.session_state["session_id"]
    with st.sidebar:
        st.markdown(f"**{user['name']}** · {ROLES.get(user['role'], user['role'])}"
                    + (f" · loja {user['store_id']}" if user["store_id"] else ""))
        st.button("Sair", on_click=sign_out)
    st.navigation([*pages, *answering(asked, {p.url_path for p in pages}, not_found)]).run()
