"""Cross-sell: build a basket from product searches and see the suggestions with their reasons;
the store's strongest pairs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from serving import format as fmt
from serving.dashboard.client import get
from serving.dashboard.widgets import show_table, store_picker

store = store_picker()
st.title(f"🛍️ Cross-sell — loja {store}")
basket: dict[str, str] = st.session_state.setdefault("basket", {})

query = st.text_input("Buscar produto (nome ou código)", placeholder="ex.: shampoo pitanga, P00012")
if query.strip():
    found = get("products", slow=True, query=query.strip()[:100], limit=8)["products"]
    if not found:
        st.info("Nenhum produto encontrado. Tente outra parte do nome ou o código.")
    for p in found:
        name, add = st.columns([5, 1])
        name.write(f"{p['name']} · {p['sku']} · {fmt.money(p['price'])}")
        if add.button("Adicionar", key=f"add-{p['sku']}"):
            basket[p["sku"]] = p["name"]

st.subheader("Cesta")
if not basket:
    st.info("A cesta está vazia: busque um produto acima e adicione.")
else:
    for sku, name in list(basket.items()):
        item, remove = st.columns([5, 1])
        item.write(f"{name} · {sku}")
        if remove.button("Tirar", key=f"remove-{sku}"):
            basket.pop(sku)
            st.rerun()
    answer = get("cross_sell", basket=list(basket), store_id=store, k=5)
    st.subheader("Ofereça também")
    if answer["suggestions"]:
        suggestions = pd.DataFrame(answer["suggestions"])
        show_table(suggestions.assign(margin=suggestions["margin"] * 100), {
            "name": ("Produto", "text"), "reason": ("Por quê", "text"), "margin": ("Margem", "pct0"),
            "sku": ("SKU", "text")})
    else:
        st.info("Sem boa sugestão para esta cesta agora (produtos sem estoque ou sem histórico de compra junto).")

st.subheader("Pares mais fortes da loja")
pairs = pd.DataFrame(get("strong_pairs", slow=True, store_id=store, k=15)["pairs"])
if pairs.empty:
    st.info("Ainda não há pares comprados juntos o bastante nesta loja.")
else:
    show_table(pairs.assign(share=pairs["share_a_with_b"] * 100), {
        "name_a": ("Quem leva", "text"), "name_b": ("Também leva", "text"), "baskets": ("Cestas juntas", "int"),
        "share": ("% das vezes", "pct0"), "lift": ("Lift (×)", "num1")})
