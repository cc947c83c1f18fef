"""The dashboard on the real service and the main job's data: each page through Streamlit's AppTest,
asserting the numbers it shows against the API's; the pages a role may not see refused; the
service down as a message. The browser test (real Streamlit server, headless Chromium) is in
test_dashboard_browser.py."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from serving import auth
from serving import format as fmt
from tests.conftest import REPO, call, free_port

APP = str(REPO / "serving" / "dashboard" / "app.py")


@pytest.fixture
def dashboard(service, monkeypatch):
    settings, url, tokens = service
    monkeypatch.setenv("VITRINE_SERVICE_URL", url)
    monkeypatch.delenv("VITRINE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.setenv("VITRINE_HOME", str(settings.home))  # as `vitrine dashboard` runs it

    def signed_in(token: str, page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.text_input[0].input(token)
        at.button[0].click()
        at.run()
        assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
        if page:
            at.switch_page(f"views/{page}.py")
            at.run()
            assert not at.exception, [e.value for e in at.exception]
        return at

    return settings, url, tokens, signed_in


def test_a_bad_token_stays_on_the_login_page(dashboard):
    *_, signed_in = dashboard
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input[0].input("not-a-token")
    at.button[0].click()
    at.run()
    assert [e.value for e in at.error] == ["Token inválido ou revogado."] and not at.exception


def test_estoque_counts_the_risks_and_offers_the_order(dashboard):
    settings, url, tokens, signed_in = dashboard
    at = signed_in(tokens["manager"], "estoque")
    alerts = call(url, "stock_alerts", tokens["manager"], store_id="L001", limit=500).json()["alerts"]
    risky = [a for a in alerts if a["stockout_probability"] >= 0.5]
    assert at.title[0].value == "📦 Estoque — loja L001"
    assert at.metric[0].value == fmt.number(len(risky))
    shown = at.dataframe[0].value
    assert list(shown["SKU"]) == [a["sku"] for a in risky]
    assert list(shown["Risco de faltar"]) == [fmt.pct(a["stockout_probability"] * 100, 0) for a in risky]
    first = risky[0]
    assert at.metric[1].value == f"{fmt.number(first['on_hand'])} un."
    assert at.metric[3].value == f"{fmt.number(first['order_quantity'])} un."
    at.slider[0].set_value(95).run()  # a stricter filter shows fewer
    assert at.metric[0].value == fmt.number(sum(a["stockout_probability"] >= 0.95 for a in alerts))


def test_metas_and_lojas_show_the_services_figures(dashboard):
    settings, url, tokens, signed_in = dashboard
    team = call(url, "team_summary", tokens["manager"], store_id="L001").json()["sellers"]
    at = signed_in(tokens["manager"], "metas")
    assert at.metric[0].value == fmt.money_short(sum(s["sales_month"] for s in team))
    assert at.metric[2].value == fmt.money_short(sum(s["commission_accrued"] for s in team))
    assert list(at.dataframe[0].value["Vendedor"]) == [s["name"] for s in team]
    assert list(at.dataframe[0].value["Vendas no mês"]) == [fmt.money(s["sales_month"]) for s in team]

    comparison = call(url, "store_comparison", tokens["manager"], store_id="L001").json()
    at.switch_page("views/lojas.py").run()
    assert not at.exception
    revenue = next(k for k in comparison["kpis"] if k["kpi"] == "revenue")
    assert at.metric[0].label == "Faturamento" and at.metric[0].value == fmt.money_short(revenue["store"])
    assert comparison["store_name"] in at.title[0].value


def test_historico_shows_the_team_or_one_seller_by_period(dashboard):
    settings, url, tokens, signed_in = dashboard
    at = signed_in(tokens["manager"], "historico")
    start, end = at.date_input[0].value
    team = call(url, "seller_history", tokens["manager"], store_id="L001", grain="month", start=str(start),
                end=str(end)).json()["periods"]
    assert at.title[0].value == "📈 Histórico — equipe da loja L001"
    assert at.metric[0].value == fmt.money_short(sum(p["sales"] for p in team))
    shown = at.dataframe[0].value
    assert list(shown["Vendas"]) == [fmt.money(p["sales"]) for p in reversed(team)]  # newest first
    assert list(shown["Início"]) == [fmt.day(p["start"]) for p in reversed(team)]
    seller = call(url, "team_summary", tokens["manager"], store_id="L001").json()["sellers"][0]
    at.selectbox(key="who").set_value(seller["seller_id"]).run()
    at.segmented_control(key="grain").set_value("week").run()
    assert not at.exception and at.title[0].value == f"📈 Histórico — {seller['name']}"
    start, end = at.date_input[0].value
    weeks = call(url, "seller_history", tokens["manager"], seller_id=seller["seller_id"], grain="week",
                 start=str(start), end=str(end)).json()["periods"]
    assert list(at.dataframe[0].value["Atendimentos"]) == [fmt.number(p["tickets"]) for p in reversed(weeks)]


def test_alertas_changes_the_rules_and_lists_who_changed_them(dashboard):
    settings, url, tokens, signed_in = dashboard
    at = signed_in(tokens["manager"], "alertas")
    assert at.title[0].value == "🔔 Alertas — loja L001"
    at.toggle(key="on-behind_pace").set_value(False)
    at.slider[1].set_value(60)
    at.form_submit_button[0].click().run()
    assert not at.exception and [s.value for s in at.success] == ["Regras salvas."]
    stored = call(url, "alert_rules", tokens["manager"], store_id="L001").json()
    assert not stored["enabled"]["behind_pace"] and stored["stock_risk_pct"] == 60
    changes = at.dataframe[-1].value
    assert set(changes["O quê"]) >= {"Tipos ligados", "Chance de ruptura"}
    assert changes["Quem"].iloc[0].startswith("Gil (#")  # the newest first
    assert "Abaixo do ritmo da meta: desligado" in set(changes["Depois"])
    call(url, "alert_rules", tokens["manager"], store_id="L001",
         change={"enabled": {"behind_pace": True}, "stock_risk_pct": 80})  # as the other tests expect


def test_relatorios_previews_saves_and_exports_a_shaped_report(dashboard):
    settings, url, tokens, signed_in = dashboard
    at = signed_in(tokens["manager"], "relatorios")
    shaped = {"name": "Prévia", "metrics": ["sales", "tickets", "attainment_pct"], "grain": "day", "audience": "self",
              "schedule": "daily", "report_id": None}
    table = call(url, "report_preview", tokens["manager"], store_id="L001", report=shaped).json()
    shown = at.dataframe[0].value
    assert list(shown["Quem"]) == [r["name"] for r in table["rows"]]
    assert list(shown["Vendas"]) == [fmt.money(r["values"]["sales"]) for r in table["rows"]]
    at.text_input[0].input("Semana da equipe")
    at.selectbox[1].set_value("week")
    at.form_submit_button[0].click().run()
    assert not at.exception and [s.value for s in at.success] == ["Relatório salvo."]
    saved = call(url, "reports", tokens["manager"], store_id="L001").json()["reports"]
    assert any(r["name"] == "Semana da equipe" and r["grain"] == "week" for r in saved)
    assert [b.label for b in at.get("download_button")] == ["Baixar CSV", "Baixar PDF"]
    trail = at.dataframe[-1].value  # who created it, with what
    assert list(trail.iloc[0][["Ação", "Relatório"]]) == ["Criou", "Semana da equipe"]
    assert "Período: A semana de ontem" in trail.iloc[0]["O quê"] and trail.iloc[0]["Quem"].startswith("Gil (#")


def test_escala_lists_the_peaks_of_the_plan(dashboard):
    settings, url, tokens, signed_in = dashboard
    plan = call(url, "staffing_plan", tokens["manager"], store_id="L001", plan_on="p90").json()
    at = signed_in(tokens["manager"], "escala")
    peaks = "\n".join(f"- {fmt.day(p['date'])}: {p['start']:02d}h–{p['end']:02d}h" for p in plan["peaks"])
    assert plan["peaks"] and any(m.value == peaks for m in at.markdown)
    assert len(at.get("vega_lite_chart")) == 2  # the two heatmaps


def test_cross_sell_builds_a_basket_and_shows_the_suggestions(dashboard):
    settings, url, tokens, signed_in = dashboard
    at = signed_in(tokens["manager"], "cross_sell")
    at.text_input[0].input("P00001").run()
    at.button(key="add-P00001").click().run()
    expected = call(url, "cross_sell", tokens["manager"], basket=["P00001"], store_id="L001", k=5).json()["suggestions"]
    suggestions = at.dataframe[0].value
    assert list(suggestions["Produto"]) == [s["name"] for s in expected]
    pairs = call(url, "strong_pairs", tokens["manager"], store_id="L001", k=15).json()["pairs"]
    assert len(at.dataframe) == 2 and len(at.dataframe[1].value) == len(pairs) > 0


def test_modelos_shows_champions_and_is_for_analysts_only(dashboard):
    settings, url, tokens, signed_in = dashboard
    models = call(url, "models", tokens["analyst"]).json()["models"]
    at = signed_in(tokens["analyst"], "modelos")
    champions = [m for m in at.markdown if m.value.startswith("Campeão")]
    assert [m.value for m in champions] == [f"Campeão: versão **{m['champion']}**" for m in models]
    assert len(at.get("image")) == sum(len(m["plots"]) for m in models) > 0
    with pytest.raises(ValueError, match="Known pages") as refused:  # not in a manager's menu
        signed_in(tokens["manager"], "modelos")
    assert "lojas.py" in str(refused.value) and "modelos.py'" not in str(refused.value).split("Known pages")[1]


def test_a_seller_sees_cross_sell_only_and_the_service_down_is_a_message(dashboard, monkeypatch):
    settings, url, tokens, signed_in = dashboard
    with pytest.raises(ValueError, match="Known pages") as refused:  # a seller's menu: cross-sell and history
        signed_in(tokens["seller"], "estoque")
    views = REPO / "serving" / "dashboard" / "views"
    assert str(refused.value).split("Known pages: ")[1] == f"['{views}/cross_sell.py', '{views}/historico.py']."
    monkeypatch.setenv("VITRINE_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    down = AppTest.from_file(APP, default_timeout=60)
    down.run()
    down.text_input[0].input(tokens["manager"])
    down.button[0].click()
    down.run()
    assert [e.value for e in down.error] == ["O serviço está fora do ar agora; tente de novo em instantes."]
    assert not down.exception


def test_the_underperforming_products_are_the_chains_best_selling_less_here(service):
    settings, url, tokens = service
    comparison = call(url, "store_comparison", tokens["manager"], store_id="L001").json()
    flagged = pd.DataFrame(comparison["underperforming_products"])
    assert not flagged.empty and (flagged["store_share_pct"] < flagged["chain_share_pct"] / 2).all()
    user, _ = auth.add_user(settings, "Tela", "manager", store_id="L001")
    assert call(url, "me", auth.add_token(settings, user.user_id, "tela")).json()["name"] == "Tela"


PAGES_BY_ROLE = {"manager": ["estoque", "escala", "cross_sell", "metas", "historico", "lojas", "alertas", "relatorios"],
                 "analyst": ["modelos"]}
RAW_NUMBER = re.compile(r"-?\d{4,}([.,]\d+)?|-?\d+\.\d{1,2}")  # 1234 or 12.5: not how Brazilians write numbers
UNTRANSLATED = ("nan", "None", "never", "NaN", "Choose options", "Page not found", "champion", "promoted")


def test_every_page_writes_numbers_the_brazilian_way_and_never_nan_or_english(dashboard):
    settings, url, tokens, signed_in = dashboard
    for role, pages in PAGES_BY_ROLE.items():
        at = signed_in(tokens[role])
        for page in pages:
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
            texts = [m.value for m in at.metric] + [m.value for m in at.markdown] + [c.value for c in at.caption]
            texts += [box.placeholder for box in at.multiselect]
            for frame in [d.value for d in at.dataframe]:
                for column in frame.columns:
                    cells = [str(v) for v in frame[column]]
                    texts += cells
                    if column not in ("SKU", "Versão", "Produto", "Quem leva", "Também leva", "Métrica", "Motivo"):
                        raw = [c for c in cells if RAW_NUMBER.fullmatch(c)]
                        assert not raw, f"{page}: column {column} shows {raw[:3]}"
            shown = [t for t in texts if any(re.search(rf"\b{word}\b", t) for word in UNTRANSLATED)]
            assert not shown, f"{page}: {shown[:3]}"


def test_a_refresh_keeps_the_user_signed_in_until_they_sign_out(dashboard):
    settings, url, tokens, signed_in = dashboard
    at = signed_in(tokens["manager"], "metas")
    session = at.query_params["s"]
    assert session and session not in tokens.values()  # the address holds a session id, not the token
    again = AppTest.from_file(APP, default_timeout=60)  # F5: a new browser session on the same address
    again.query_params["s"] = session
    again.run()
    assert not again.exception and not again.text_input, "the refresh showed the login page"
    assert any("Gerente" in m.value or "gerente" in m.value for m in again.sidebar.markdown)
    again.sidebar.button[0].click().run()  # Sair
    assert again.text_input and "s" not in again.query_params
    after = AppTest.from_file(APP, default_timeout=60)
    after.query_params["s"] = session
    after.run()
    assert after.text_input, "a closed session still signs in"
    forged = AppTest.from_file(APP, default_timeout=60)
    forged.query_params["s"] = "not-a-session"
    forged.run()
    assert forged.text_input and not forged.exception
