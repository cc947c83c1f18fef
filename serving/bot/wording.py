"""How the bot words what the service answers (pt-BR, R$, dd/mm), for replies and pushes alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from serving import format as fmt
from serving.bot.chats import Chat


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, the message a press sends)



@dataclass(frozen=True)
class Push:
    """A message the bot sends unasked; ``delivered`` records it once Telegram accepted it."""

    chat_id: int
    reply: Reply
    delivered: Callable[[], None]



def alert_text(alert: dict, chat: Chat) -> str:
    """An alert in a sentence, addressed to the seller it is about or naming them to others."""
    you = alert["seller_id"] is not None and alert["seller_id"] == chat.seller_id
    if alert["kind"] == "below_forecast":
        return (f"📉 {alert['name']} ({alert['sku']}) vendeu {fmt.number(alert['units'])} un. de {fmt.day(alert['window_start'])} "
                f"a {fmt.day(alert['window_end'])}; a previsão esperava ao menos {fmt.number(alert['expected_p10'], 1)} "
                f"(provável: {fmt.number(alert['expected_p50'], 1)})."
                + "".join(f"\n• {action_text(a)}" for a in alert["actions"] or ()))
    if alert["kind"] == "stock_risk":
        return (f"🚨 {alert['name']} ({alert['sku']}): com as vendas de hoje, "
                f"{fmt.pct(alert['stockout_probability'] * 100, 0)} de chance de faltar antes da próxima entrega "
                f"({alert['lead_time_days']} dias). Restam {fmt.number(alert['on_hand'])} un.; "
                f"pedir {fmt.number(alert['order_quantity'])} un.")
    month = fmt.month_name(alert["month"])
    figures = f"{fmt.money(alert['sales_month'])} de {fmt.money(alert['target'])}"
    if alert["kind"] == "behind_pace":
        who = "Você está" if you else f"{alert['name']} está"
        return (f"⏱️ {who} abaixo do ritmo da meta de {month}: {fmt.money(alert['sales_month'])} vendidos, e o ritmo "
                f"pedia {fmt.money(alert['expected_sales'])} até ontem. Faltam {fmt.money(alert['daily_pace_needed'])} "
                f"por dia nos {alert['days_left']} dia(s) que restam.")
    if alert["kind"] == "team_milestone":
        return f"🏆 A equipe da loja {alert['store_id']} passou de {alert['milestone_pct']}% da meta de {month}: {figures}."
    if you:
        return f"🎯 Você passou de {alert['milestone_pct']}% da sua meta de {month}: {figures}."
    return f"🎯 {alert['name']} passou de {alert['milestone_pct']}% da meta de {month}: {figures}."


REPORT_METRICS = {  # label, how it is written
    "sales": ("Vendas", fmt.money), "tickets": ("Atend.", fmt.number), "avg_ticket": ("Ticket", fmt.money),
    "target": ("Meta", fmt.money), "attainment_pct": ("Da meta", fmt.pct), "commission": ("Comissão", fmt.money),
    "sales_last_year": ("Ano anterior", fmt.money), "change_pct": ("Variação", fmt.pct),
    "projected_sales": ("Projeção", fmt.money)}


def report_text(table: dict, rows: list[dict]) -> str:
    """A shaped report for Telegram: the period, then a line per person with the chosen figures."""
    lines = [f"📊 {table['name']} — {fmt.span(table['period_start'], table['period_end'])}" + (" (em andamento)" if table["in_progress"] else "")]
    for row in rows:
        figures = " · ".join(f"{REPORT_METRICS[m][0]} {REPORT_METRICS[m][1](row['values'][m])}" for m in table["metrics"])
        lines.append(f"{row['name']}: {figures}")
    return "\n".join(lines)


def action_text(action: dict) -> str:
    """A corrective action, with the numbers behind it."""
    if action["action"] == "restock":
        return f"Repor: o estoque zerou em {action['days_out']} dia(s) da janela."
    if action["action"] == "promotion":
        return f"Promover: sem promoção ativa, margem de {fmt.pct(action['margin_pct'], 0)}."
    if action["action"] == "placement":
        return (f"Exposição: {fmt.pct(action['store_share_pct'])} das vendas da categoria aqui, "
                f"{fmt.pct(action['chain_share_pct'])} na rede.")
    return f"Oferecer junto com {action['partner_name']} (levados juntos em {fmt.number(action['baskets'])} cestas)."



def refusal_line(r: dict) -> str:
    return (f"• Vendedor {r['seller_id']}, cupom {r['ticket_id']}: {r['quantity']} × {r['sku']} a "
            f"{fmt.money(r['unit_price'])} ({r['reason']})")


def alert_line(n: int, a: dict) -> str:
    when = f"acaba por volta de {fmt.day(a['stockout_date'])}" if a["stockout_date"] else "estoque no limite"
    return (f"{n}. {a['name']}: {fmt.pct(a['stockout_probability'] * 100, 0)} de chance de faltar; {when}. "
            f"Pedir {a['order_quantity']} un.")


def period_label(start: str, grain: str) -> str:
    """"out/26", "sem 20/10" or "sáb 25/10"."""
    if grain == "month":
        return f"{fmt.month_name(start)[:3]}/{start[2:4]}"
    return f"sem {fmt.day(start)}" if grain == "week" else fmt.weekday_day(start)
