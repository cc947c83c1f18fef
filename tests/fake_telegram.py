"""A local stand-in for Telegram's Bot API over HTTP (api.telegram.org is out of reach here): the real
python-telegram-bot client polls it with ``getUpdates`` and answers with ``sendMessage``, exactly as
it would talk to Telegram. Tests play the users: :meth:`FakeBotApi.say` and :meth:`FakeBotApi.press`
queue updates, :meth:`FakeBotApi.wait_for` collects what the bot sent. Each sent message carries
how long after its update was handed to the bot it arrived (the bot's reply time)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TOKEN = "123456:TEST-TOKEN"


@dataclass(frozen=True)
class Sent:
    chat_id: int
    text: str
    buttons: list[tuple[str, str]]
    after_update_s: float | None  # since the last update of this chat was handed out (None: a push)
    at: float  # time.monotonic() when it arrived


class FakeBotApi:
    def __init__(self) -> None:
        self.updates: list[dict] = []
        self.sent: list[Sent] = []
        self.handed_out: dict[int, float] = {}  # chat → when its latest update left in getUpdates
        self.calls: list[str] = []
        self.failing = False  # while set, sendMessage answers 502 Bad Gateway, as Telegram does in an outage
        self._next_id = 1
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-bot-api").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the users' side ---------------------------------------------------------------------------
    def say(self, chat_id: int, text: str) -> None:
        message = {"message_id": self._next_id, "date": int(time.time()), "text": text, **_chat(chat_id)}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._queue({"message": message})

    def press(self, chat_id: int, data: str) -> None:
        self._queue({"callback_query": {"id": str(self._next_id), "chat_instance": "1", "data": data,
                                        "from": _chat(chat_id)["from"],
                                        "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                                                    **_chat(chat_id)}}})

    def wait_for(self, chat_id: int, count: int, timeout: float = 30.0) -> list[Sent]:
        """The first ``count`` messages sent to the chat since it was last cleared; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                mine = [s for s in self.sent if s.chat_id == chat_id]
                if len(mine) >= count:
                    return mine[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"chat {chat_id}: {len(mine)} of {count} messages after {timeout} s: {mine}")
                self._changed.wait(left)

    def clear(self, chat_id: int) -> None:
        with self._changed:
            self.sent = [s for s in self.sent if s.chat_id != chat_id]

    def _queue(self, body: dict) -> None:
        with self._changed:
            self.updates.append({"update_id": self._next_id, **body})
            self._next_id += 1
            self._changed.notify_all()

    # -- the bot's side ----------------------------------------------------------------------------
    def _answer(self, method: str, params: dict) -> object:
        self.calls.append(method)
        if method == "getMe":
            return {"id": 42, "is_bot": True, "first_name": "Vitrine", "username": "vitrine_test_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method == "getUpdates":
            return self._updates(int(params.get("offset", 0) or 0), float(params.get("timeout", 0) or 0))
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            markup = params.get("reply_markup") or {}
            buttons = [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]
            with self._changed:
                handed = self.handed_out.get(chat_id)
                self.sent.append(Sent(chat_id, params["text"], buttons,
                                      None if handed is None else time.monotonic() - handed, time.monotonic()))
                self._changed.notify_all()
            return {"message_id": len(self.sent), "date": int(time.time()), "text": params["text"], **_chat(chat_id)}
        return True  # deleteWebhook, answerCallbackQuery, close, …

    def _updates(self, offset: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + min(timeout, 2.0)  # short polls: the bot stops quickly in tests
        with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed ones are gone
            while not self.updates and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            now = time.monotonic()
            for update in self.updates:
                body = update.get("message") or update["callback_query"]["message"]
                self.handed_out[body["chat"]["id"]] = now
            return list(self.updates)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                match = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>\w+)", self.path)
                if not match or match["token"] != TOKEN:
                    return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: _maybe_json(v[0]) for k, v in parse_qs(raw).items()}
                if fake.failing and match["method"] == "sendMessage":
                    return self._reply(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
                self._reply(200, {"ok": True, "result": fake._answer(match["method"], params)})

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the bot stopped polling mid-request
                    pass

            def log_message(self, *args) -> None:
                pass

        return Handler


def _chat(chat_id: int) -> dict:
    return {"chat": {"id": chat_id, "type": "private", "first_name": "Teste"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Teste"}}


def _maybe_json(value: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return value


class BotThread:
    """A python-telegram-bot Application polling in a thread of its own (as ``run_polling`` runs it
    in ``vitrine bot``), stopped cleanly by :meth:`stop`."""

    def __init__(self, app) -> None:
        import asyncio

        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True, name="bot")
        self.thread.start()

    def _run(self) -> None:
        import asyncio

        asyncio.set_event_loop(self.loop)
        self.app.run_polling(timeout=1, stop_signals=None, close_loop=False)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.app.stop_running)
        self.thread.join(timeout=30)
