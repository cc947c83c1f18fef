"""What the bot sends unasked: each manager's daily report and the reports their store shaped,
new stock-out risks and refused sales, new promotions on what a seller sells, and the live
alerts. Each push is recorded as sent only once Telegram accepted it, so nothing is lost to a
failed send and nothing is sent twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial

from serving import format as fmt
from serving.api_client import Refused, ServiceDown, VitrineApi
from serving.bot.chats import Chat, Chats
from serving.bot.wording import (
    Push,
    Reply,
    alert_line,
    alert_text,
    refusal_line,
    report_text,
)
from warehouse import reports
from warehouse.settings import Settings

log = logging.getLogger("vitrine.bot")
HIGH_RISK = 0.8  # stock-out probability before the next delivery that is worth a push
NEW_PROMOTION_DAYS = 7  # a promotion that started this recently is news to a seller who sold its product lately


class Pushes:
    """The assistant's pushes (mixed into :class:`~serving.bot.assistant.Assistant`, which gives
    the chats, the service and the clock, and words the daily report)."""

    settings: Settings
    api: VitrineApi
    chats: Chats
    clock: Callable[[], datetime]
    daily_report: Callable[[Chat], str]

    def due_pushes(self) -> list[Push]:
        """What is due now: each manager's daily report once a day from the report time, stock-out
        risks above HIGH_RISK and refused sales not pushed to them before. Each is recorded as sent
        by its ``delivered`` once Telegram accepted it, so a failed send is due again next time; a
        manager whose call to the service fails is tried next time too."""
        now = self.clock()
        report_at = datetime.strptime(self.settings.bot_report_time, "%H:%M").time()
        due = []
        for chat in self.chats.managers():
            try:
                if not chat.mute_report and now.time() >= report_at and chat.last_report != now.date().isoformat():
                    due.append(Push(chat.chat_id, Reply(self.daily_report(chat)),
                                    partial(self.chats.report_sent, chat.chat_id, now.date())))
                if not chat.mute_stock:
                    alerts = self.api.call("stock_alerts", chat.token, store_id=chat.store_id, limit=20)["alerts"]
                    risky = {a["sku"]: a for a in alerts if a["stockout_probability"] >= HIGH_RISK}
                    new = self.chats.not_pushed("stock_pushed", chat.chat_id, list(risky))
                    if new:
                        due.append(Push(chat.chat_id, Reply("🚨 Novo risco de ruptura:\n" + "\n".join(
                            alert_line(n, risky[s]) for n, s in enumerate(new, 1)), (("📦 Ver estoque", "/estoque"),)),
                            partial(self.chats.pushed, "stock_pushed", chat.chat_id, new)))
                refused = self.api.call("refused_sales", chat.token, store_id=chat.store_id, limit=20)["refused"]
                by_id = {r["refusal_id"]: r for r in refused}
                new = self.chats.not_pushed("refusals_pushed", chat.chat_id, sorted(by_id))
                if new:  # never muted: someone may be inflating their sales
                    due.append(Push(chat.chat_id, Reply("⚠️ Venda recusada pelo caixa (valores implausíveis):\n" + "\n".join(
                        refusal_line(by_id[r]) for r in new)), partial(self.chats.pushed, "refusals_pushed", chat.chat_id, new)))
            except (ServiceDown, Refused) as exc:
                log.warning("push for chat %s postponed: %s", chat.chat_id, exc)
        if now.time() >= report_at:
            due += self._due_reports(now)
        for chat in self.chats.sellers():
            if chat.mute_promotions:
                continue
            try:
                answer = self.api.call("promotions", chat.token, seller_id=chat.seller_id)
            except (ServiceDown, Refused) as exc:
                log.warning("promotions for chat %s postponed: %s", chat.chat_id, exc)
                continue
            since = date.fromisoformat(answer["today"]) - timedelta(days=NEW_PROMOTION_DAYS)
            fresh = {p["promo_id"]: p for p in answer["promotions"]
                     if p["you_sell_it"] and date.fromisoformat(p["starts_on"]) > since}
            new = self.chats.not_pushed("promotions_pushed", chat.chat_id, sorted(fresh))
            if new:
                due.append(Push(chat.chat_id, Reply("🏷️ Promoção nova no que você vende:\n" + "\n".join(
                    f"• {fresh[p]['name']} — {fmt.pct(fresh[p]['discount_pct'], 0)} off até {fmt.day(fresh[p]['ends_on'])}"
                    for p in new) + "\n(/silenciar promocoes para não receber mais)", (("🏷️ Ver promoções", "/promocoes"),)),
                    partial(self.chats.pushed, "promotions_pushed", chat.chat_id, new)))
        return due

    def _due_reports(self, now: datetime) -> list[Push]:
        """The reports the stores' managers shaped whose schedule falls today (asked from the report
        time): to their audience (the manager; the whole team; each seller their own line), once per
        report and period. A store is asked once, with the first of its managers' chats."""
        due, people = [], self.chats.people()
        for store_id in sorted({c.store_id for c in people if c.role == "manager"}):
            managers = [c for c in people if c.role == "manager" and c.store_id == store_id]
            try:
                shaped = self.api.call("reports", managers[0].token, store_id=store_id)["reports"]
                for report in shaped:
                    if not reports.due(report["schedule"], now.date()):
                        continue
                    table = self.api.call("report_preview", managers[0].token, store_id=store_id,
                                          report_id=report["report_id"])
                    key = f"{report['report_id']}:{table['period_start']}"
                    audience = managers if report["audience"] == "self" else [c for c in people if c.store_id == store_id]
                    for chat in [c for c in audience if not c.mute_report]:  # /silenciar relatorio: these too
                        rows = table["rows"] if chat.role == "manager" or report["audience"] == "team" else [
                            r for r in table["rows"] if r["seller_id"] == chat.seller_id]
                        if rows and self.chats.not_pushed("reports_pushed", chat.chat_id, [key]):
                            due.append(Push(chat.chat_id, Reply(report_text(table, rows)),
                                            partial(self.chats.pushed, "reports_pushed", chat.chat_id, [key])))
            except (ServiceDown, Refused) as exc:
                log.warning("reports of store %s postponed: %s", store_id, exc)
        return due

    def due_alerts(self) -> list[Push]:
        """The alerts raised since each chat last received one (target milestones: serving/live_alerts.py),
        oldest first; those raised before the chat was linked are skipped, not sent."""
        due = []
        for chat in self.chats.people():
            seen = self.chats.last_alert(chat.chat_id)
            try:
                found = self.api.call("alerts", chat.token, after_id=seen)
            except (ServiceDown, Refused) as exc:
                log.warning("alerts for chat %s postponed: %s", chat.chat_id, exc)
                continue
            if found["quiet_now"]:  # the store's quiet hours: they wait, nothing is lost
                continue
            if not found["alerts"] and found["last_id"] > seen:  # only kinds the store's rules keep from this chat
                self.chats.alert_delivered(chat.chat_id, found["last_id"])
            for alert in found["alerts"]:
                if alert["raised_at"] < chat.linked_at:
                    self.chats.alert_delivered(chat.chat_id, alert["alert_id"])
                    continue
                due.append(Push(chat.chat_id, Reply(alert_text(alert, chat)),
                                partial(self.chats.alert_delivered, chat.chat_id, alert["alert_id"])))
        return due
