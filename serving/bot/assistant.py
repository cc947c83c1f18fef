"""What the bot says, whatever carries it (Telegram or the console): a chat's message in, replies out.

Every command calls the service with the chat's own token, so the service's scoping decides what
a user may see; the bot only words the answers (pt-BR, R$, dd/mm). A chat that is not linked gets
one polite refusal. Trouble never reaches the user as a traceback: the service down or slow is a
friendly message with a "try again" button, a refusal is said plainly, and a burst of messages
from one chat is slowed down (which also keeps link codes from being guessed).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.text import fold
from serving import format as fmt
from serving.api_client import Refused, ServiceDown, VitrineApi
from serving.bot.chats import MUTE_COLUMNS, PUSHES, Chat, Chats
from serving.bot.pushes import Pushes
from serving.bot.wording import Reply, alert_line, period_label
from warehouse.settings import Settings

log = logging.getLogger("vitrine.bot")
RATE_LIMIT = (12, 60.0)  # messages per chat per seconds


@dataclass(frozen=True)
class Command:
    roles: tuple[str, ...]
    help: str
    run: str  # the Assistant method's name


COMMANDS: dict[str, Command] = {
    "vendas": Command(("seller",), "suas vendas de hoje e do mês", "_sales"),
    "meta": Command(("seller",), "quanto da meta já foi e quanto falta por dia", "_target"),
    "comissao": Command(("seller",), "comissão acumulada e projetada", "_commission"),
    "historico": Command(("seller", "manager"), "vendas por período: /historico dia, semana ou mes", "_history"),
    "sugestao": Command(("seller", "manager"), "o que oferecer junto: /sugestao shampoo pitanga, P00012", "_cross_sell"),
    "margem": Command(("seller", "manager"), "os produtos de melhor margem", "_margin"),
    "tendencias": Command(("seller", "manager"), "produtos em alta na loja, para oferecer", "_trends"),
    "promocoes": Command(("seller", "manager"), "promoções de hoje na loja", "_promotions"),
    "estoque": Command(("manager",), "riscos de ruptura e o que pedir", "_stock"),
    "escala": Command(("manager",), "vendedores por hora amanhã e os picos", "_staffing"),
    "equipe": Command(("manager",), "o progresso de cada vendedor", "_team"),
    "ranking": Command(("manager",), "a loja contra a rede e lojas parecidas", "_ranking"),
    "relatorio": Command(("manager",), "o relatório do dia", "_report"),
    "alertas": Command(("manager",), "configurar os alertas da loja: /alertas ajuda", "_alert_rules"),
    "silenciar": Command(("seller", "manager"), "ligar ou desligar os avisos automáticos", "_mute"),
    "ajuda": Command(("seller", "manager", "analyst", "admin"), "esta lista", "_help"),
}
ROLE_NAMES = {"seller": "vendedores", "manager": "gerentes", "analyst": "analistas", "admin": "administradores"}
NOT_LINKED = ("Olá! Sou o assistente de vendas da CosmeticCo. Este chat ainda não está ligado a ninguém da equipe: "
              "peça um código ao seu gerente e envie /start CÓDIGO.")
PUSH_BUTTONS = {"relatorio": "Relatório", "estoque": "Estoque", "promocoes": "Promoções"}
HISTORY_GRAINS = {"dia": "day", "dias": "day", "semana": "week", "semanas": "week", "mes": "month", "meses": "month"}
HISTORY_WORDS = {"day": "dia", "week": "semana", "month": "mês"}
HISTORY_SHOWN = {"day": 7, "week": 6, "month": 6}  # what fits a phone screen
ALERT_KINDS = {"meta": "seller_milestone", "equipe": "team_milestone", "ritmo": "behind_pace", "ruptura": "stock_risk",
               "previsao": "below_forecast"}
AUDIENCES = {"vendedores": "seller", "gerentes": "manager", "todos": "both"}
ALERT_RULES_HELP = ("Para mudar os alertas:\n/alertas desligar ritmo (ou ligar; tipos: meta, equipe, ritmo, ruptura, "
                    "previsao)\n"
                    "/alertas ruptura 70 — avisar a partir de 70% de chance de faltar\n"
                    "/alertas ritmo 25 — avisar quem está 25% abaixo do ritmo da meta\n"
                    "/alertas marcos 50 100 120 — os marcos da meta\n"
                    "/alertas janela 7 — os dias em que um produto vendeu abaixo da previsão\n"
                    "/alertas silencio 21:00 08:00 (ou silencio nenhum)\n"
                    "/alertas para ritmo gerentes (vendedores, gerentes ou todos)")
SERVICE_DOWN = "⚠️ O sistema está fora do ar ou lento agora. Tente de novo em instantes."


class Assistant(Pushes):
    def __init__(self, settings: Settings, api: VitrineApi, chats: Chats,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings, self.api, self.chats = settings, api, chats
        zone = ZoneInfo(settings.timezone)
        self.clock = clock or (lambda: datetime.now(zone))
        self._recent: dict[int, deque] = {}

    # -- the door ----------------------------------------------------------------------------------
    def handle(self, chat_id: int, text: str) -> list[Reply]:
        """The replies to one message (or button press) from ``chat_id``. Blocking: the service is
        called synchronously; Telegram's handlers run this in a thread."""
        if self._flooded(chat_id):
            return [] if len(self._recent[chat_id]) > RATE_LIMIT[0] + 1 else [
                Reply("Calma 🙂 Muitas mensagens seguidas; aguarde um minutinho e tente de novo.")]
        text = (text or "").strip()
        command, _, args = text.partition(" ")
        command = command.lstrip("/").split("@")[0].lower()
        chat = self.chats.get(chat_id)
        try:
            if command == "start":
                return self._start(chat_id, chat, args.strip())
            if chat is None:
                return [Reply(NOT_LINKED)]
            known = COMMANDS.get(command)
            if known is None:
                return [Reply("Não conheço esse comando. Veja o que posso fazer:"), *self._help(chat, "")]
            if chat.role not in known.roles:
                return [Reply(f"O /{command} é para {' e '.join(ROLE_NAMES[r] for r in known.roles)}. "
                              "Veja o que você pode usar:"), *self._help(chat, "")]
            return getattr(self, known.run)(chat, args.strip())
        except ServiceDown as exc:
            log.warning("service down for %s: %s", command, exc)
            # a press sends the message again (a code is never echoed; Telegram caps button data at 64 bytes)
            retry = (("🔄 Tentar de novo", text),) if command != "start" and len(text.encode()) <= 64 else ()
            return [Reply(SERVICE_DOWN, retry)]
        except Refused as exc:
            log.info("refused %s: %s", command, exc)
            if exc.status == 401:
                self.chats.unlink(chat_id)
                return [Reply("Seu acesso foi encerrado. Peça um novo código ao seu gerente e envie /start CÓDIGO.")]
            if exc.status == 403:
                return [Reply("Isso não está disponível para o seu perfil.")]
            if command in ("escala", "relatorio") and "outside the forecast" in exc.message:
                return [Reply("Ainda não há previsão de movimento para amanhã: o modelo precisa ser treinado de novo.")]
            return [Reply("Não encontrei o que você pediu. Confira e tente de novo.")]
        except Exception:
            log.exception("bot command %s failed", command)
            return [Reply("Algo deu errado do meu lado; já registrei. Tente de novo em instantes.")]

    def _flooded(self, chat_id: int) -> bool:
        limit, window = RATE_LIMIT
        recent = self._recent.setdefault(chat_id, deque())
        now = time.monotonic()
        while recent and now - recent[0] > window:
            recent.popleft()
        recent.append(now)
        return len(recent) > limit

    def _start(self, chat_id: int, chat: Chat | None, code: str) -> list[Reply]:
        if not code:
            if chat is None:
                return [Reply(NOT_LINKED)]
            return [Reply(f"Olá de novo, {chat.name}!"), *self._help(chat, "")]
        try:
            redeemed = self.api.call("redeem_link", None, code=code[:32], label=f"telegram:{chat_id}")
        except Refused:
            return [Reply("Esse código não vale: é inválido, já foi usado ou expirou. Peça um novo ao seu gerente.")]
        chat = self.chats.link(chat_id, redeemed["user"], redeemed["token"])
        log.info("chat %s linked to user %s", chat_id, chat.user_id)
        return [Reply(f"Pronto, {chat.name}! Este chat agora é seu."), *self._help(chat, "")]

    def _help(self, chat: Chat, _args: str) -> list[Reply]:
        mine = [(name, c) for name, c in COMMANDS.items() if chat.role in c.roles]
        lines = [f"/{name} — {c.help}" for name, c in mine]
        buttons = tuple((f"/{name}", f"/{name}") for name, c in mine if name not in ("ajuda", "sugestao"))[:6]
        return [Reply("O que posso fazer por você:\n" + "\n".join(lines), buttons)]

    # -- sellers -----------------------------------------------------------------------------------
    def _summary(self, chat: Chat) -> dict:
        return self.api.call("seller_summary", chat.token)

    def _sales(self, chat: Chat, _args: str) -> list[Reply]:
        s = self._summary(chat)
        lines = [f"📊 Suas vendas, {s['name']}",
                 f"Hoje ({fmt.day(s['today'])}): {fmt.money(s['sales_today'])} em {s['tickets_today']} atendimento(s)",
                 f"No mês: {fmt.money(s['sales_month'])}"]
        if s["live_lines"]:
            lines.append(f"(inclui {s['live_lines']} item(ns) lançado(s) agora no caixa)")
        return [Reply("\n".join(lines), (("🎯 Meta", "/meta"), ("💰 Comissão", "/comissao")))]

    def _target(self, chat: Chat, _args: str) -> list[Reply]:
        s = self._summary(chat)
        if s["target"] is None:
            return [Reply(f"Você ainda não tem meta cadastrada para {fmt.month_name(s['today'])}. "
                          f"Vendas no mês: {fmt.money(s['sales_month'])}.")]
        lines = [f"🎯 Meta de {fmt.month_name(s['today'])}: {fmt.money(s['target'])}",
                 f"Vendido: {fmt.money(s['sales_month'])} ({fmt.pct(s['attainment_pct'])})"]
        missing = s["target"] - s["sales_month"]
        if missing <= 0:
            lines.append("Meta batida! 🎉 Cada venda agora ainda aumenta a comissão.")
        else:
            lines.append(f"Faltam {fmt.money(missing)} em {s['days_left']} dia(s): "
                         f"{fmt.money(s['daily_pace_needed'])} por dia.")
        return [Reply("\n".join(lines))]

    def _commission(self, chat: Chat, _args: str) -> list[Reply]:
        s = self._summary(chat)
        return [Reply(f"💰 Comissão acumulada no mês: {fmt.money(s['commission_accrued'])}\n"
                      f"Projeção até o fim do mês: {fmt.money(s['commission_projected'])} "
                      f"(se as vendas seguirem no ritmo: {fmt.money(s['projected_sales'])})")]

    def _history(self, chat: Chat, args: str) -> list[Reply]:
        """The last periods (a seller's own; a manager's team), each against the year before."""
        grain = HISTORY_GRAINS.get(fold(args.split()[0]) if args.split() else "mes")
        if grain is None:
            return [Reply("Use /historico dia, /historico semana ou /historico mes.")]
        body = {"store_id": chat.store_id} if chat.role == "manager" else {}
        found = self.api.call("seller_history", chat.token, grain=grain, **body)
        periods = found["periods"][-HISTORY_SHOWN[grain]:]
        who = f"equipe da loja {found['store_id']}" if found["seller_id"] is None else found["name"]
        lines = [f"📈 Histórico por {HISTORY_WORDS[grain]} — {who}"]
        for p in periods:
            line = (f"{period_label(p['start'], grain)}: {fmt.money(p['sales'])} · {fmt.number(p['tickets'])} atend."
                    f" · ticket {fmt.money(p['avg_ticket'])}")
            if p["attainment_pct"] is not None:
                line += f" · meta {fmt.pct(p['attainment_pct'], 0)}"
            line += f" · comissão {fmt.money(p['commission'])}"
            if p["change_pct"] is not None:
                line += f" · {'+' if p['change_pct'] >= 0 else ''}{fmt.pct(p['change_pct'], 0)} vs ano anterior"
            if p["in_progress"]:
                line += f" (em andamento; no ritmo atual: {fmt.money(p['projected_sales'])})"
            lines.append(line)
        others = tuple((f"Por {HISTORY_WORDS[g]}", f"/historico {w}") for w, g in (("dia", "day"), ("semana", "week"),
                                                                                  ("mes", "month")) if g != grain)
        return [Reply("\n".join(lines), others)]

    def _cross_sell(self, chat: Chat, args: str) -> list[Reply]:
        terms = [t.strip() for t in args.replace(";", ",").split(",") if t.strip()]
        if not terms:
            return [Reply("Envie os produtos da cesta, separados por vírgula. Exemplo: /sugestao shampoo pitanga, P00012")]
        basket, understood, missing = [], [], []
        for term in terms[:10]:
            found = self.api.call("products", chat.token, query=term[:100], limit=1)["products"]
            if found:
                basket.append(found[0]["sku"])
                understood.append(found[0]["name"])
            else:
                missing.append(term)
        if not basket:
            return [Reply("Não encontrei esses produtos. Tente o código (ex.: P00012) ou outra parte do nome.")]
        answer = self.api.call("cross_sell", chat.token, basket=basket, store_id=chat.store_id, k=5)
        lines = [f"🛍️ Cesta: {', '.join(understood)}"]
        if missing:
            lines.append(f"(não encontrei: {', '.join(missing)})")
        if answer["suggestions"]:
            lines.append("Ofereça também:")
            lines += [f"{n}. {x['name']} — {x['reason']}" for n, x in enumerate(answer["suggestions"], 1)]
        else:
            lines.append("Não tenho uma boa sugestão para essa cesta agora.")
        return [Reply("\n".join(lines))]

    def _margin(self, chat: Chat, _args: str) -> list[Reply]:
        body = {"k": 5} if chat.role != "seller" else {"k": 5, "seller_id": chat.seller_id}
        products = self.api.call("high_margin", chat.token, **body)["products"]
        if not products:
            return [Reply("Ainda não há margens calculadas para o catálogo.")]
        if products[0]["in_your_categories"]:
            lines = ["💎 O que mais rende para você: margem por unidade × o quanto você já vende da categoria"]
            lines += [f"{n}. {p['name']} — {fmt.money(p['margin_value'])} de margem por unidade "
                      f"({fmt.pct(p['margin_pct'], 0)} de {fmt.money(p['price'])}); {p['category']} é "
                      f"{fmt.pct(p['category_share_pct'], 0)} das suas vendas" for n, p in enumerate(products, 1)]
        else:
            lines = ["💎 Maior margem por unidade vendida, no catálogo:"]
            lines += [f"{n}. {p['name']} — {fmt.money(p['margin_value'])} por unidade "
                      f"({fmt.pct(p['margin_pct'], 0)} de {fmt.money(p['price'])})" for n, p in enumerate(products, 1)]
        return [Reply("\n".join(lines))]

    def _promotions(self, chat: Chat, _args: str) -> list[Reply]:
        body = {"seller_id": chat.seller_id} if chat.role == "seller" else {"store_id": chat.store_id}
        answer = self.api.call("promotions", chat.token, **body)
        if not answer["promotions"]:
            return [Reply(f"Nenhuma promoção ativa hoje ({fmt.day(answer['today'])}) na loja {answer['store_id']}.")]
        lines = [f"🏷️ Promoções de hoje ({fmt.day(answer['today'])}):"]
        lines += [f"• {p['name']} — {fmt.pct(p['discount_pct'], 0)} off até {fmt.day(p['ends_on'])}"
                  + (" ⭐" if p["in_your_categories"] else "") for p in answer["promotions"][:10]]
        if any(p["in_your_categories"] for p in answer["promotions"]):
            lines.append("⭐ nas categorias que você mais vende")
        return [Reply("\n".join(lines))]

    def _trends(self, chat: Chat, _args: str) -> list[Reply]:
        body = {"seller_id": chat.seller_id} if chat.role == "seller" else {"store_id": chat.store_id}
        answer = self.api.call("trends", chat.token, k=5, **body)
        window = fmt.span(answer["window_start"], answer["window_end"])
        if not answer["trends"]:
            return [Reply(f"Nenhum produto em alta clara na loja {answer['store_id']} ({window}).")]
        lines = [f"🔥 Em alta na loja {answer['store_id']} ({window}) — vale oferecer:"]
        lines += [f"{n}. {t['name']}{' ⭐' if t['in_your_categories'] else ''} — {t['reason']}"
                  for n, t in enumerate(answer["trends"], 1)]
        if any(t["in_your_categories"] for t in answer["trends"]):
            lines.append("⭐ nas categorias que você mais vende")
        return [Reply("\n".join(lines))]

    # -- managers ----------------------------------------------------------------------------------
    def today(self, chat: Chat) -> date:
        """The service's business date (it may replay a dataset that ended in the past)."""
        return date.fromisoformat(self.api.call("readiness", chat.token)["today"])

    def _stock_lines(self, chat: Chat, limit: int) -> list[str]:
        alerts = self.api.call("stock_alerts", chat.token, store_id=chat.store_id, limit=limit)["alerts"]
        return [alert_line(n, a) for n, a in enumerate(alerts, 1)]

    def _stock(self, chat: Chat, _args: str) -> list[Reply]:
        lines = self._stock_lines(chat, 5)
        if not lines:
            return [Reply(f"📦 Nenhum risco de ruptura na loja {chat.store_id}.")]
        return [Reply(f"📦 Maiores riscos de ruptura — loja {chat.store_id}:\n" + "\n".join(lines))]

    def _staffing_lines(self, chat: Chat) -> tuple[date, list[str], list[str]]:
        tomorrow = self.today(chat) + timedelta(days=1)
        plan = self.api.call("staffing_plan", chat.token, store_id=chat.store_id, week_start=tomorrow.isoformat())
        hours = [h for h in plan["hours"] if h["date"] == tomorrow.isoformat()]
        lines = []
        for h in hours:
            line = f"{h['hour']:02d}h: {h['sellers_needed']} vendedor(es)"
            if h["gap"] is not None and h["gap"] < 0:
                line += f" — escalados {h['scheduled']:g}, faltam {-h['gap']:g} ⚠️"
            elif h["gap"] is not None and h["gap"] > 0:
                line += f" — escalados {h['scheduled']:g}, sobram {h['gap']:g}"
            lines.append(line)
        peaks = [f"{p['start']:02d}h–{p['end']:02d}h" for p in plan["peaks"] if p["date"] == tomorrow.isoformat()]
        return tomorrow, lines, peaks

    def _staffing(self, chat: Chat, _args: str) -> list[Reply]:
        tomorrow, lines, peaks = self._staffing_lines(chat)
        if not lines:
            return [Reply(f"Ainda não há previsão de movimento para {fmt.day(tomorrow)}.")]
        text = f"👥 Escala para amanhã ({fmt.day(tomorrow)}), loja {chat.store_id}:\n" + "\n".join(lines)
        if peaks:
            text += "\nPicos: " + ", ".join(peaks)
        return [Reply(text)]

    def _team_lines(self, chat: Chat) -> list[str]:
        team = self.api.call("team_summary", chat.token, store_id=chat.store_id)["sellers"]
        return [f"{n}. {s['name']}: {fmt.pct(s['attainment_pct'])} da meta, {fmt.money(s['sales_month'])} "
                f"(ritmo necessário {fmt.money(s['daily_pace_needed'])}/dia)" for n, s in enumerate(team, 1)]

    def _team(self, chat: Chat, _args: str) -> list[Reply]:
        lines = self._team_lines(chat)
        return [Reply(f"👥 Equipe da loja {chat.store_id} no mês:\n" + ("\n".join(lines) or "Nenhum vendedor."))]

    def _ranking(self, chat: Chat, _args: str) -> list[Reply]:
        c = self.api.call("store_comparison", chat.token, store_id=chat.store_id)
        names = {"revenue": "Faturamento", "tickets": "Atendimentos", "avg_ticket": "Ticket médio",
                 "items_per_ticket": "Itens por ticket", "growth_pct": "Crescimento", "nps": "Satisfação (NPS)"}
        lines = [f"🏆 {c['store_name']} em {fmt.month_name(c['month'])} (parecidas: {', '.join(c['similar_stores']) or '–'})"]
        for k in c["kpis"]:
            value = fmt.pct(k["store"]) if k["kpi"] == "growth_pct" else fmt.number(k["store"]) if k["kpi"] == "nps" else (
                fmt.money(k["store"]) if k["kpi"] in ("revenue", "avg_ticket") else f"{k['store'] or 0:g}".replace(".", ","))
            rank = f"{k['rank']}º de {k['stores']}" if k["rank"] else "–"
            gap = f", {fmt.pct(k['gap_pct'])} vs parecidas" if k["gap_pct"] is not None else ""
            lines.append(f"{names.get(k['kpi'], k['kpi'])}: {value} ({rank}{gap})")
        if c["areas_to_improve"]:
            lines.append("A melhorar: " + ", ".join(names.get(a, a).lower() for a in c["areas_to_improve"]))
        if c["trailing_categories"]:
            lines.append("Categorias abaixo da rede: " + ", ".join(
                f"{t['category']} ({fmt.pct(t['store_share_pct'])} vs {fmt.pct(t['chain_share_pct'])})"
                for t in c["trailing_categories"][:3]))
        return [Reply("\n".join(lines))]

    def _report(self, chat: Chat, _args: str) -> list[Reply]:
        return [Reply(self.daily_report(chat))]

    def daily_report(self, chat: Chat) -> str:
        """The manager's morning read: the team, the top stock-out risks, tomorrow's peaks."""
        today = self.today(chat)
        team = self._team_lines(chat)
        stock = self._stock_lines(chat, 3)
        tomorrow, _, peaks = self._staffing_lines(chat)
        parts = [f"📋 Relatório do dia {fmt.day(today)} — loja {chat.store_id}",
                 "Equipe no mês:\n" + ("\n".join(team) or "nenhum vendedor"),
                 "Riscos de ruptura:\n" + ("\n".join(stock) or "nenhum"),
                 f"Picos de amanhã ({fmt.day(tomorrow)}): " + (", ".join(peaks) or "nenhum previsto")]
        return "\n\n".join(parts)

    def _mute(self, chat: Chat, args: str) -> list[Reply]:
        """Turn one of the role's automatic pushes off or on, and say where each stands."""
        mine = PUSHES[chat.role]
        what = fold(args).strip()
        if what in mine:
            self.chats.mute(chat.chat_id, what, not _muted(chat, what))
            chat = self.chats.get(chat.chat_id)
        elif what:
            return [Reply("Use " + " ou ".join(f"/silenciar {p}" for p in mine) + ".")]
        labels = {"relatorio": "Relatório diário", "estoque": "Novos riscos de ruptura",
                  "promocoes": "Promoções novas no que você vende"}
        at = {"relatorio": f" (às {self.settings.bot_report_time})"}
        lines = [f"{labels[p]}: " + ("desligado" if _muted(chat, p) else "ligado" + at.get(p, "")) for p in mine]
        return [Reply("🔔 Avisos automáticos:\n" + "\n".join(lines) + "\nToque para ligar ou desligar:",
                      tuple((PUSH_BUTTONS[p], f"/silenciar {p}") for p in mine))]

    def _alert_rules(self, chat: Chat, args: str) -> list[Reply]:
        """Show the store's alert rules, or change one: /alertas desligar ritmo, /alertas ruptura 70,
        /alertas marcos 50 100 120, /alertas silencio 21:00 08:00, /alertas para ritmo gerentes."""
        words = fold(args).replace("-", " ").split()
        change: dict = {}
        if words and words[0] in ("ligar", "desligar") and len(words) == 2 and words[1] in ALERT_KINDS:
            change = {"enabled": {ALERT_KINDS[words[1]]: words[0] == "ligar"}}
        elif words and words[0] in ("ruptura", "ritmo") and len(words) == 2 and words[1].rstrip("%").isdigit():
            change = {{"ruptura": "stock_risk_pct", "ritmo": "behind_pace_pct"}[words[0]]: int(words[1].rstrip("%"))}
        elif words and words[0] == "janela" and len(words) == 2 and words[1].isdigit():
            change = {"below_window_days": int(words[1])}
        elif words and words[0] == "marcos" and len(words) > 1 and all(w.rstrip("%").isdigit() for w in words[1:]):
            change = {"milestones_pct": [int(w.rstrip("%")) for w in words[1:]]}
        elif words[:2] == ["silencio", "nenhum"]:
            change = {"no_quiet_hours": True}
        elif words and words[0] == "silencio" and len(words) == 3:
            change = {"quiet_from": words[1], "quiet_to": words[2]}
        elif words and words[0] == "para" and len(words) == 3 and words[1] in ALERT_KINDS and words[2] in AUDIENCES:
            change = {"audience": {ALERT_KINDS[words[1]]: AUDIENCES[words[2]]}}
        elif words:
            return [Reply(ALERT_RULES_HELP)]
        body = {"store_id": chat.store_id} | ({"change": change} if change else {})
        try:
            rules = self.api.call("alert_rules", chat.token, **body)
        except Refused as exc:
            if exc.status != 422:
                raise
            return [Reply(f"Não mudei nada: {exc.message}\n\n{ALERT_RULES_HELP}")]
        milestones = ", ".join(f"{m}%" for m in rules["milestones_pct"])
        details = {"meta": f"marcos {milestones}", "equipe": f"marcos {milestones}",
                   "ritmo": f"mais de {fmt.pct(rules['behind_pace_pct'], 0)} abaixo do ritmo",
                   "ruptura": f"a partir de {fmt.pct(rules['stock_risk_pct'], 0)} de chance",
                   "previsao": f"vendas abaixo do P10 em {rules['below_window_days']} dias"}
        lines = [("✅ Regra alterada.\n" if change else "") + f"🔔 Alertas da loja {rules['store_id']}:"]
        for word, kind in ALERT_KINDS.items():
            state = "ligado" if rules["enabled"][kind] else "desligado"
            to = {"seller": "vendedores", "manager": "gerentes", "both": "vendedores e gerentes"}[rules["audience"][kind]]
            lines.append(f"• {word}: {state} — {details[word]}; para {to}")
        quiet = f"das {rules['quiet_from']} às {rules['quiet_to']}" if rules["quiet_from"] else "nenhum"
        lines.append(f"Silêncio (avisos guardados até o fim): {quiet}")
        buttons = tuple((f"{'Desligar' if rules['enabled'][k] else 'Ligar'} {w}",
                         f"/alertas {'desligar' if rules['enabled'][k] else 'ligar'} {w}") for w, k in ALERT_KINDS.items())
        return [Reply("\n".join(lines), buttons)]



def _muted(chat: Chat, push: str) -> bool:
    return bool(getattr(chat, MUTE_COLUMNS[push]))  # a Chat's fields are named as the chats table's columns
