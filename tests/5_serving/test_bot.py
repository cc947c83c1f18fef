"""The bot end to end: the real python-telegram-bot client polling a local Bot API server over HTTP,
and the real service over the main job's data. Users link with one-time codes, unknown chats are
refused, each command's figures are the service's for that user, pushes arrive at their time (a
controllable clock), and a service that is down gets a friendly message, never a traceback."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from serving import auth
from serving import format as fmt
from serving.api_client import VitrineApi
from serving.bot.assistant import NOT_LINKED, SERVICE_DOWN, Assistant
from serving.bot.chats import Chats
from serving.bot.pushes import HIGH_RISK
from serving.bot.telegram import build_application
from tests.conftest import TODAY, VITRINE, call, free_port
from tests.fake_telegram import TOKEN, BotThread, FakeBotApi
from warehouse.settings import load_settings

ZONE = ZoneInfo("America/Sao_Paulo")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def bot(service):
    settings, url, tokens = service
    bot_settings = load_settings(home=settings.home, bot_check_seconds=0.3, bot_alert_seconds=0.3,
                                 bot_report_time="08:00")
    clock = Clock(datetime(2026, 10, 31, 7, 0, tzinfo=ZONE))
    assistant = Assistant(bot_settings, VitrineApi(url), Chats(bot_settings), clock)
    telegram = FakeBotApi()
    running = BotThread(build_application(assistant, TOKEN, telegram.url))
    yield settings, url, tokens, telegram, assistant, clock
    running.stop()
    telegram.close()


def seller_of(url: str, manager_token: str, store: str = "L001") -> dict:
    return call(url, "team_summary", manager_token, store_id=store).json()["sellers"][0]


PROMOTION_PUSH = "🏷️ Promoção nova"  # pushed on the bot's own clock: it may land between a question and its answer


def ask(telegram: FakeBotApi, chat_id: int, text: str, replies: int = 1, press: bool = False) -> list:
    """Send ``text`` from the chat (or press a button sending it) and wait for the bot's next
    ``replies`` answers (a promotion push arriving meanwhile is not one)."""
    def answers() -> list:
        return [s for s in telegram.sent if s.chat_id == chat_id and not s.text.startswith(PROMOTION_PUSH)]

    before = len(answers())
    (telegram.press if press else telegram.say)(chat_id, text)
    while len(answers()) < before + replies:
        telegram.wait_for(chat_id, len([s for s in telegram.sent if s.chat_id == chat_id]) + 1)
    return answers()[before:before + replies]


def link(telegram: FakeBotApi, chat_id: int, code: str) -> list:
    return ask(telegram, chat_id, f"/start {code}", 2)


def arrived(telegram: FakeBotApi, chat_id: int, wanted, timeout: float = 30) -> object:
    """The first message to the chat that ``wanted`` accepts, waiting up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in telegram.sent if s.chat_id == chat_id and wanted(s)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, [s.text for s in telegram.sent if s.chat_id == chat_id]
        time.sleep(0.1)


def wait_for_stock_push(telegram: FakeBotApi, chat_id: int, alerts: list[dict]) -> None:
    """A newly linked manager whose store has high stock-out risks gets them pushed within a push
    round; wait for that push, so that it does not land between a command and its answer."""
    if any(a["stockout_probability"] >= HIGH_RISK for a in alerts):
        deadline = time.monotonic() + 30
        while not any("Novo risco de ruptura" in s.text for s in telegram.sent if s.chat_id == chat_id):
            assert time.monotonic() < deadline, "no stock-out push for a store with high risks"
            time.sleep(0.1)


def test_an_unknown_chat_gets_one_polite_refusal_and_nothing_else(bot):
    *_, telegram, _, _ = bot
    telegram.say(1001, "/vendas")
    telegram.say(1001, "quanto vendi hoje?")
    replies = telegram.wait_for(1001, 2)
    assert [r.text for r in replies] == [NOT_LINKED, NOT_LINKED]
    time.sleep(1)
    assert len([s for s in telegram.sent if s.chat_id == 1001]) == 2


def test_a_manager_links_a_seller_who_then_gets_their_own_figures(bot):
    settings, url, tokens, telegram, _, _ = bot
    seller = seller_of(url, tokens["manager"])
    user, seller_token = auth.add_user(settings, seller["name"], "seller", store_id="L001", seller_id=seller["seller_id"])
    other, _ = auth.add_user(settings, "Outra", "seller", store_id="L002", seller_id="V0010")
    assert call(url, "link_code", tokens["manager"], user_id=other.user_id).status_code == 403  # not their store
    issued = call(url, "link_code", tokens["manager"], user_id=user.user_id)
    assert issued.status_code == 200
    code = issued.json()["code"]

    welcome, help_text = link(telegram, 2001, code)
    assert welcome.text == f"Pronto, {seller['name']}! Este chat agora é seu."
    assert "/vendas" in help_text.text and "/estoque" not in help_text.text  # a seller's commands only
    assert "não vale" in ask(telegram, 2002, f"/start {code}")[0].text  # the same code again, from another chat
    assert all(code not in s.text for s in telegram.sent)

    summary = call(url, "seller_summary", seller_token).json()
    sales, target, commission = [ask(telegram, 2001, command)[0] for command in ("/vendas", "/meta", "/comissao")]
    assert fmt.money(summary["sales_today"]) in sales.text and fmt.money(summary["sales_month"]) in sales.text
    assert f"{summary['tickets_today']} atendimento" in sales.text
    if summary["target"] is not None:
        assert fmt.money(summary["target"]) in target.text and fmt.pct(summary["attainment_pct"]) in target.text
    assert fmt.money(summary["commission_accrued"]) in commission.text
    assert fmt.money(summary["commission_projected"]) in commission.text
    assert ("/meta" in dict(sales.buttons).values()) and "Traceback" not in sales.text
    weeks = call(url, "seller_history", seller_token, grain="week").json()["periods"][-6:]
    history = ask(telegram, 2001, "/historico semana")[0]
    assert history.text.startswith(f"📈 Histórico por semana — {seller['name']}")
    assert all(f"sem {fmt.day(p['start'])}: {fmt.money(p['sales'])}" in history.text for p in weeks)
    assert dict(history.buttons) == {"Por dia": "/historico dia", "Por mês": "/historico mes"}
    assert "Use /historico dia" in ask(telegram, 2001, "/historico ontem")[0].text


def test_cross_sell_understands_product_names_and_answers_with_reasons(bot):
    settings, url, tokens, telegram, _, _ = bot
    seller = seller_of(url, tokens["manager"])
    user, token = auth.add_user(settings, "Sugestão", "seller", store_id="L001", seller_id=seller["seller_id"])
    link(telegram, 3001, auth.issue_link_code(settings, user.user_id, None)[0])
    product = call(url, "products", token, query="P00001").json()["products"][0]
    typed = fmt_loose(product["name"])  # lower case, no accents: how a hurried seller types
    expected = call(url, "cross_sell", token, basket=[product["sku"]], store_id="L001", k=5).json()["suggestions"]
    answer = ask(telegram, 3001, f"/sugestao {typed}, XYZNADA")[0].text
    assert f"Cesta: {product['name']}" in answer and "não encontrei: XYZNADA" in answer
    assert expected and all(f"{s['name']} — {s['reason']}" in answer for s in expected)
    assert "separados por vírgula" in ask(telegram, 3001, "/sugestao")[0].text


def test_margin_and_promotions_for_the_seller(bot):
    settings, url, tokens, telegram, _, _ = bot
    seller = seller_of(url, tokens["manager"])
    user, token = auth.add_user(settings, "Margem", "seller", store_id="L001", seller_id=seller["seller_id"])
    link(telegram, 3101, auth.issue_link_code(settings, user.user_id, None)[0])
    best = call(url, "high_margin", token, seller_id=seller["seller_id"], k=5).json()["products"]
    promos = call(url, "promotions", token).json()
    margin, promotions = [ask(telegram, 3101, command)[0] for command in ("/margem", "/promocoes")]
    assert best and all(p["name"] in margin.text for p in best)
    assert all(p["name"] in promotions.text for p in promos["promotions"][:10])
    if not promos["promotions"]:
        assert "Nenhuma promoção ativa" in promotions.text
    since = (date.fromisoformat(promos["today"]) - timedelta(days=7)).isoformat()
    fresh = [p for p in promos["promotions"] if p["you_sell_it"] and p["starts_on"] > since]
    assert fresh, "the tiny data has promotions started this week on products this seller sold"
    pushed = arrived(telegram, 3101, lambda s: "Promoção nova" in s.text)  # pushed once, unasked
    assert all(p["name"] in pushed.text for p in fresh)
    time.sleep(1.5)
    assert len([s for s in telegram.sent if s.chat_id == 3101 and "Promoção nova" in s.text]) == 1
    muted = ask(telegram, 3101, "/silenciar promocoes")[0]
    assert "Promoções novas no que você vende: desligado" in muted.text
    assert list(muted.buttons) == [("Promoções", "/silenciar promocoes")]
    assert "Use /silenciar promocoes." in ask(telegram, 3101, "/silenciar estoque")[0].text  # a manager's push
    rising = call(url, "trends", token, k=5).json()
    said = ask(telegram, 3101, "/tendencias")[0].text
    assert rising["trends"], "the generated data has products taking off"
    assert all(f"{t['name']}" in said and t["reason"] in said for t in rising["trends"])


def test_a_managers_commands_carry_their_stores_figures(bot):
    settings, url, tokens, telegram, _, _ = bot
    manager, token = auth.add_user(settings, "Gerente Bot", "manager", store_id="L001")
    link(telegram, 4001, auth.issue_link_code(settings, manager.user_id, None)[0])
    wait_for_stock_push(telegram, 4001, call(url, "stock_alerts", token, store_id="L001", limit=20).json()["alerts"])
    alerts = call(url, "stock_alerts", token, store_id="L001", limit=5).json()["alerts"]
    team = call(url, "team_summary", token, store_id="L001").json()["sellers"]
    comparison = call(url, "store_comparison", token, store_id="L001").json()
    stock, equipe, ranking, escala, report = [ask(telegram, 4001, command)[0].text for command in (
        "/estoque", "/equipe", "/ranking", "/escala", "/relatorio")]
    assert all(a["name"] in stock and f"Pedir {a['order_quantity']} un." in stock for a in alerts)
    assert all(s["name"] in equipe and fmt.money(s["sales_month"]) in equipe for s in team)
    assert comparison["store_name"] in ranking and "Faturamento" in ranking
    assert "Escala para amanhã (01/11)" in escala and "Picos:" in escala
    assert report.startswith("📋 Relatório do dia 31/10 — loja L001") and team[0]["name"] in report
    assert ask(telegram, 4001, "/vendas", 2)[0].text.startswith("O /vendas é para vendedores.")  # a seller's command
    assert "Não conheço esse comando" in ask(telegram, 4001, "/vendass", 2)[0].text
    link(telegram, 4002, auth.issue_link_code(settings, manager.user_id, None)[0])  # 4001 has had its dozen a minute
    rules = ask(telegram, 4002, "/alertas")[0]
    assert rules.text.startswith("🔔 Alertas da loja L001") and "ruptura: ligado — a partir de 80% de chance" in rules.text
    assert ("Desligar ritmo", "/alertas desligar ritmo") in [tuple(b) for b in rules.buttons]
    changed = ask(telegram, 4002, "/alertas ruptura 70")[0].text
    assert changed.startswith("✅ Regra alterada.") and "a partir de 70% de chance" in changed
    assert "Não mudei nada: milestones_pct" in ask(telegram, 4002, "/alertas marcos 100 50")[0].text
    assert "/alertas silencio 21:00 08:00" in ask(telegram, 4002, "/alertas ajuda")[0].text
    stored = call(url, "alert_rules", token, store_id="L001").json()
    assert stored["stock_risk_pct"] == 70 and stored["changes"][0]["changed_by"].startswith("Gerente Bot")
    call(url, "alert_rules", token, store_id="L001", change={"stock_risk_pct": 80})
    months = call(url, "seller_history", token, store_id="L001", grain="month").json()["periods"][-6:]
    history = ask(telegram, 4002, "/historico")[0].text
    assert history.startswith("📈 Histórico por mês — equipe da loja L001")
    assert all(fmt.money(p["sales"]) in history and fmt.money(p["commission"]) in history for p in months)


def test_the_daily_report_and_new_stock_risks_are_pushed_at_their_time(bot):
    settings, url, tokens, telegram, assistant, clock = bot
    manager, token = auth.add_user(settings, "Gerente Push", "manager", store_id="L002")
    clock.now = datetime(2026, 10, 31, 7, 59, tzinfo=ZONE)
    link(telegram, 5001, auth.issue_link_code(settings, manager.user_id, None)[0])
    time.sleep(1.5)  # a few push rounds before 08:00: no report yet
    assert not [s for s in telegram.sent if s.chat_id == 5001 and "Relatório" in s.text]
    risky = [a for a in call(url, "stock_alerts", token, store_id="L002", limit=20).json()["alerts"]
             if a["stockout_probability"] >= 0.8]
    if risky:
        pushed = next(s for s in telegram.wait_for(5001, 3) if "Novo risco" in s.text)
        assert all(a["name"] in pushed.text for a in risky) and pushed.after_update_s is not None

    shaped = call(url, "reports", token, store_id="L002", save={
        "name": "Fechamento L002", "metrics": ["sales", "attainment_pct"], "grain": "day", "audience": "self",
        "schedule": "daily"}).json()["reports"][-1]
    table = call(url, "report_preview", token, store_id="L002", report_id=shaped["report_id"]).json()
    clock.now = datetime(2026, 10, 31, 8, 0, tzinfo=ZONE)
    deadline = time.monotonic() + 10
    while not [s for s in telegram.sent if s.chat_id == 5001 and "Relatório do dia" in s.text]:
        assert time.monotonic() < deadline, "no report pushed at 08:00"
        time.sleep(0.1)
    shaped_push = arrived(telegram, 5001, lambda s: s.text.startswith("📊 Fechamento L002 — 30/10"))
    assert all(f"{r['name']}: Vendas {fmt.money(r['values']['sales'])}" in shaped_push.text for r in table["rows"])
    time.sleep(1)
    assert len([s for s in telegram.sent if s.chat_id == 5001 and s.text.startswith("📊 Fechamento")]) == 1  # once
    assert len([s for s in telegram.sent if s.chat_id == 5001 and "Relatório do dia" in s.text]) == 1  # once a day
    assert len([s for s in telegram.sent if s.chat_id == 5001 and "Novo risco" in s.text]) == (1 if risky else 0)

    telegram.say(5001, "/silenciar relatorio")
    deadline = time.monotonic() + 10
    while not any("Relatório diário: desligado" in s.text for s in telegram.sent if s.chat_id == 5001):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    clock.now = datetime(2026, 11, 1, 8, 30, tzinfo=ZONE)  # the next day, silenced
    time.sleep(1.5)
    assert len([s for s in telegram.sent if s.chat_id == 5001 and "Relatório do dia" in s.text]) == 1


def test_a_sale_the_point_of_sale_could_not_post_is_pushed_to_the_stores_managers_once(bot):
    settings, url, tokens, telegram, _, _ = bot
    manager, _ = auth.add_user(settings, "Gerente Caixa", "manager", store_id="L002")
    link(telegram, 5002, auth.issue_link_code(settings, manager.user_id, None)[0])
    inflated = {"ticket_id": "PUSH-1", "line": 1, "store_id": "L002", "seller_id": "V0010", "sku": "P00001",
                "quantity": 3, "unit_price": 5000.0, "discount": 0, "sold_at": f"{TODAY}T15:00:00"}
    assert call(url, "sales", tokens["pos"], lines=[inflated]).status_code == 422
    deadline = time.monotonic() + 10
    while not [s for s in telegram.sent if s.chat_id == 5002 and "PUSH-1" in s.text]:
        assert time.monotonic() < deadline, "no push for the refused sale"
        time.sleep(0.1)
    pushed = next(s for s in telegram.sent if s.chat_id == 5002 and "PUSH-1" in s.text)
    assert "V0010" in pushed.text and fmt.money(5000.0) in pushed.text and "catalogue band" in pushed.text
    time.sleep(1.5)  # a few more rounds: pushed once
    assert len([s for s in telegram.sent if s.chat_id == 5002 and "PUSH-1" in s.text]) == 1


def test_a_sale_that_passes_a_target_milestone_reaches_the_seller_and_the_manager_once(bot):
    """The alert is raised when the point of sale posts the line and pushed at the bot's next look;
    a Telegram outage delays it without losing it, and a replayed sale raises nothing new."""
    from warehouse.alert_rules import DEFAULTS

    MILESTONES = DEFAULTS.milestones_pct
    settings, url, tokens, telegram, _, _ = bot
    team = call(url, "team_summary", tokens["admin"], store_id="L002").json()["sellers"]
    seller = next(s for s in team if s["target"] and s["attainment_pct"] < MILESTONES[-1] - 5)
    milestone = next(m for m in MILESTONES if m > seller["attainment_pct"])
    user, seller_token = auth.add_user(settings, seller["name"], "seller", store_id="L002", seller_id=seller["seller_id"])
    manager, _ = auth.add_user(settings, "Gerente Metas", "manager", store_id="L002")
    link(telegram, 8101, auth.issue_link_code(settings, user.user_id, None)[0])
    link(telegram, 8102, auth.issue_link_code(settings, manager.user_id, None)[0])
    time.sleep(1)  # a manager's first pushes (stock risks) land before the sale

    product = max(call(url, "products", tokens["admin"], query="perfume", limit=20).json()["products"],
                  key=lambda p: p["price"] or 0)
    missing = milestone / 100 * seller["target"] - seller["sales_month"] + 1
    quantity = min(200, int(missing // product["price"]) + 1)
    lines = [{"ticket_id": f"META-{n}", "line": 1, "store_id": "L002", "seller_id": seller["seller_id"],
              "sku": product["sku"], "quantity": quantity, "unit_price": product["price"], "discount": 0,
              "sold_at": f"{TODAY}T16:{n:02d}:00"} for n in range(int(missing // (quantity * product["price"])) + 1)]
    telegram.failing = True  # Telegram is down when the alert is raised
    posted = call(url, "sales", tokens["pos"], lines=lines)
    assert posted.status_code == 200 and posted.json()["accepted"] == len(lines), posted.text
    mine = call(url, "alerts", seller_token).json()["alerts"]
    assert [(a["kind"], a["milestone_pct"]) for a in mine if a["seller_id"] == seller["seller_id"]] == [
        ("seller_milestone", milestone)]
    time.sleep(1.5)  # several rounds fail meanwhile
    telegram.failing = False
    text = f"passou de {milestone}%"
    own = arrived(telegram, 8101, lambda s: text in s.text)
    assert own.text.startswith("🎯 Você") and fmt.money(seller["target"]) in own.text
    told = arrived(telegram, 8102, lambda s: text in s.text and seller["name"] in s.text)
    assert told.text.startswith(f"🎯 {seller['name']}")

    assert call(url, "sales", tokens["pos"], lines=lines).json()["accepted"] == 0  # replayed: nothing new
    time.sleep(1.5)
    for chat in (8101, 8102):
        assert len([s for s in telegram.sent if s.chat_id == chat and text in s.text and
                    (chat == 8101 or seller["name"] in s.text)]) == 1
    assert call(url, "alerts", tokens["manager"], store_id="L002").status_code == 403  # another store's manager


def test_the_service_down_gets_a_friendly_message_and_a_retry_button(bot):
    settings, url, _, telegram, assistant, _ = bot
    seller, _ = auth.add_user(settings, "Sem Serviço", "seller", store_id="L002", seller_id="V0010")
    link(telegram, 6001, auth.issue_link_code(settings, seller.user_id, None)[0])
    working = assistant.api
    assistant.api = VitrineApi(f"http://127.0.0.1:{free_port()}", timeout=2)  # nobody listens there
    try:
        down = ask(telegram, 6001, "/vendas")[0]
        assert down.text == SERVICE_DOWN and down.buttons == [("🔄 Tentar de novo", "/vendas")]
        linking = ask(telegram, 6002, "/start ABCD2345")[0]
        assert linking.text == SERVICE_DOWN and not linking.buttons  # a code is never sent back
    finally:
        assistant.api = working
    retried = ask(telegram, 6001, "/vendas", press=True)[0]  # the retry button, with the service back
    assert "Suas vendas" in retried.text


def test_a_revoked_user_is_unlinked_and_a_flood_is_slowed_down(bot):
    settings, url, _, telegram, _, _ = bot
    seller, _ = auth.add_user(settings, "Revogada", "seller", store_id="L002", seller_id="V0010")
    link(telegram, 7001, auth.issue_link_code(settings, seller.user_id, None)[0])
    auth.revoke(settings, seller.user_id)
    assert "acesso foi encerrado" in ask(telegram, 7001, "/vendas")[0].text
    assert ask(telegram, 7001, "/vendas")[0].text == NOT_LINKED

    for _ in range(20):
        telegram.say(7101, "/ajuda")
    time.sleep(2)
    replies = [s.text for s in telegram.sent if s.chat_id == 7101]
    assert len(replies) == 13 and sum(r.startswith("Calma") for r in replies) == 1  # then silence


def test_link_codes_expire_and_serve_once(service):
    settings, _, _ = service
    user, _ = auth.add_user(settings, "Código", "seller", store_id="L002", seller_id="V0010")
    code, expires = auth.issue_link_code(settings, user.user_id, None, minutes=1)
    assert len(code) == 8 and expires > datetime.now(UTC)
    linked, token = auth.redeem_link_code(settings, code.lower(), "telegram:1")
    assert linked.user_id == user.user_id and auth.authenticate(settings, token).user_id == user.user_id
    with pytest.raises(auth.AuthError, match="invalid, used or expired"):
        auth.redeem_link_code(settings, code, "telegram:2")
    stale, _ = auth.issue_link_code(settings, user.user_id, None, minutes=1)
    with auth._connect(settings) as db:  # an hour later, as far as the code knows
        db.execute("UPDATE link_codes SET expires_at = ? WHERE user_id = ?",  # this user's only: the home is shared
                   ((datetime.now(UTC) - timedelta(hours=1)).isoformat(), user.user_id))
    with pytest.raises(auth.AuthError):
        auth.redeem_link_code(settings, stale, "telegram:3")
    manager = auth.User(0, "M", "manager", "L001", None)
    with pytest.raises(PermissionError):
        auth.issue_link_code(settings, user.user_id, manager)  # a seller of another store


def test_the_console_runs_the_same_assistant_without_telegram(service):
    settings, url, tokens = service
    seller = seller_of(url, tokens["manager"])
    user, _ = auth.add_user(settings, "Console", "seller", store_id="L001", seller_id=seller["seller_id"])
    code, _ = auth.issue_link_code(settings, user.user_id, None)
    done = subprocess.run([*VITRINE, "bot", "--console", "--home", str(settings.home)], input=f"/start {code}\n/vendas\n/sair\n",
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "VITRINE_SERVICE_URL": url, "VITRINE_TODAY": TODAY})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "bot> Pronto, Console!" in done.stdout and "bot> 📊 Suas vendas" in done.stdout
    assert code not in done.stdout.replace(f"/start {code}", "")


def test_money_and_dates_are_written_the_brazilian_way():
    assert fmt.money(1234567.891) == "R$ 1.234.567,89" and fmt.money(-5) == "-R$ 5,00" and fmt.money(None) == "–"
    assert fmt.pct(87.54) == "87,5%" and fmt.day("2026-11-01") == "01/11" and fmt.month_name("2026-03-01") == "março"
    assert fmt.number(1234.4) == "1.234" and fmt.number(12.54, 1) == "12,5" and fmt.number(-0.2) == "0"
    assert fmt.pct(float("nan")) == fmt.money(float("nan")) == fmt.day(pd.NaT) == "–"  # never "nan%"
    assert [fmt.money_short(v) for v in (950, 13_100, 339_400, 1_234_567)] == [
        "R$ 950,00", "R$ 13,1 mil", "R$ 339 mil", "R$ 1,2 mi"]


def test_a_product_below_its_forecast_is_told_with_each_action_and_its_numbers():
    from serving.bot.chats import Chat
    from serving.bot.wording import alert_text

    manager = Chat(1, 1, "Gil", "manager", "L1", None, "t", False, False, None, "2024-01-01", False)
    alert = {"kind": "below_forecast", "seller_id": None, "store_id": "L1", "name": "Batom Rosa", "sku": "P1",
             "units": 0.0, "expected_p10": 7.0, "expected_p50": 14.0, "window_start": "2024-03-04",
             "window_end": "2024-03-10", "actions": [
                 {"action": "restock", "days_out": 4}, {"action": "promotion", "margin_pct": 50.0},
                 {"action": "placement", "store_share_pct": 2.5, "chain_share_pct": 11.0},
                 {"action": "pairing", "partner_sku": "P2", "partner_name": "Perfume Flor", "baskets": 20}]}
    assert alert_text(alert, manager) == (
        "📉 Batom Rosa (P1) vendeu 0 un. de 04/03 a 10/03; a previsão esperava ao menos 7,0 (provável: 14,0).\n"
        "• Repor: o estoque zerou em 4 dia(s) da janela.\n"
        "• Promover: sem promoção ativa, margem de 50%.\n"
        "• Exposição: 2,5% das vendas da categoria aqui, 11,0% na rede.\n"
        "• Oferecer junto com Perfume Flor (levados juntos em 20 cestas).")


def fmt_loose(name: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", name.lower())
    return "".join(c for c in folded if not unicodedata.combining(c))
