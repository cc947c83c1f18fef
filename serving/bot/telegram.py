"""The assistant on Telegram (python-telegram-bot 22, long polling): messages and button presses go
to :class:`~serving.bot.assistant.Assistant` in a worker thread, its replies come back with inline
keyboards, and a background task sends the pushes that fall due. ``VITRINE_TELEGRAM_API_URL``
points the real client at another Bot API server (the tests' local one)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from serving.bot.assistant import Assistant
from serving.bot.wording import Push, Reply

log = logging.getLogger("vitrine.bot")


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [reply.buttons[i:i + 3] for i in range(0, len(reply.buttons), 3)]
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows])


def build_application(assistant: Assistant, token: str, api_url: str) -> Application:
    """The bot, ready to ``run_polling`` (or to start by hand, as the tests do)."""

    async def send(app: Application, chat_id: int, replies: list[Reply]) -> None:
        for reply in replies:
            await app.bot.send_message(chat_id, reply.text, reply_markup=keyboard(reply))

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = update.effective_chat.id
        replies = await asyncio.to_thread(assistant.handle, chat_id, update.effective_message.text or "")
        await send(context.application, chat_id, replies)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        replies = await asyncio.to_thread(assistant.handle, update.effective_chat.id, query.data or "")
        await send(context.application, update.effective_chat.id, replies)

    async def push_loop(app: Application, every: float, due: Callable[[], list[Push]]) -> None:
        """Send what ``due`` finds every ``every`` seconds; a push counts as delivered only once
        Telegram accepted it, so one that failed is found due again next round (and a chat's later
        pushes wait for it, keeping their order)."""
        while True:
            await asyncio.sleep(every)
            try:
                failed: set[int] = set()
                for push in await asyncio.to_thread(due):
                    if push.chat_id in failed:
                        continue
                    try:
                        await send(app, push.chat_id, [push.reply])
                    except TelegramError as exc:
                        log.warning("a push to chat %s could not be sent, retried next round: %s", push.chat_id, exc)
                        failed.add(push.chat_id)
                        continue
                    await asyncio.to_thread(push.delivered)
            except Exception:
                log.exception("the push round failed")

    pushes: list[asyncio.Task] = []

    async def start_pushes(app: Application) -> None:
        pushes.append(asyncio.create_task(push_loop(app, assistant.settings.bot_check_seconds, assistant.due_pushes),
                                          name="pushes"))
        pushes.append(asyncio.create_task(push_loop(app, assistant.settings.bot_alert_seconds, assistant.due_alerts),
                                          name="alerts"))

    async def stop_pushes(_app: Application) -> None:
        for task in pushes:
            task.cancel()

    app = (ApplicationBuilder().token(token).base_url(api_url).concurrent_updates(8)
           .post_init(start_pushes).post_stop(stop_pushes).build())
    app.add_handler(MessageHandler(filters.TEXT, on_message))
    app.add_handler(CallbackQueryHandler(on_button))
    return app
