"""The assistant on Telegram (python-telegram-bot 22, long polling): messages and button presses go
to :class:`~serving.bot.assistant.Assistant` in a worker thread, its replies come back with inline
keyboards, and a background task sends the pushes that fall due. ``VITRINE_TELEGRAM_API_URL``
points the real client at another Bot API server (the tests' local one)."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from serving.bot.assistant import Assistant, Reply

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

    async def push_loop(app: Application) -> None:
        while True:
            await asyncio.sleep(assistant.settings.bot_check_seconds)
            try:
                for chat_id, reply in await asyncio.to_thread(assistant.due_pushes):
                    await send(app, chat_id, [reply])
            except TelegramError as exc:
                log.warning("a push could not be sent: %s", exc)
            except Exception:  # noqa: BLE001 - the loop outlives one bad round
                log.exception("the push round failed")

    pushes: list[asyncio.Task] = []

    async def start_pushes(app: Application) -> None:
        pushes.append(asyncio.create_task(push_loop(app), name="pushes"))

    async def stop_pushes(_app: Application) -> None:
        for task in pushes:
            task.cancel()

    app = (ApplicationBuilder().token(token).base_url(api_url).concurrent_updates(8)
           .post_init(start_pushes).post_stop(stop_pushes).build())
    app.add_handler(MessageHandler(filters.TEXT, on_message))
    app.add_handler(CallbackQueryHandler(on_button))
    return app
