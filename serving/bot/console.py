"""The assistant in a terminal: the same replies as on Telegram, with no token and no network but
the service's, so a newcomer can try every command (link first with ``/start CODE``)."""

from __future__ import annotations

from collections.abc import Callable

from serving.bot.assistant import Assistant
from serving.bot.wording import Reply

CONSOLE_CHAT = -1  # the console's chat id in the bot's memory (Telegram's private chats are positive)


def render(reply: Reply) -> str:
    """A reply as terminal text; buttons become the commands they would send."""
    text = reply.text
    if reply.buttons:
        text += "\n  [botões: " + " | ".join(f"{label} → {data}" for label, data in reply.buttons) + "]"
    return text


def run_console(assistant: Assistant, read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> None:
    """Read messages until end of input (Ctrl-D) or /sair; print the bot's replies."""
    write("Assistente CosmeticCo no terminal. Escreva como no Telegram: /start CÓDIGO para entrar, /ajuda, /sair.")
    while True:
        try:
            line = read("você> ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if line in ("/sair", "sair"):
            return
        if line:
            for reply in assistant.handle(CONSOLE_CHAT, line):
                write("bot> " + render(reply))
