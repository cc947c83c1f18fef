"""The vitrine API (BentoML 1.4): the only door the bot and the dashboard use.

Every endpoint but ``health`` needs ``Authorization: Bearer <token>`` (tokens from ``vitrine users
add``); the role and the store of the token's user decide what it may see (serving/auth.py), and
every call leaves an audit row. Bad input is a 4xx naming the field (pydantic), never a traceback.
The models are the registry's champions (serving/champions.py), re-checked every
``VITRINE_MODEL_POLL_SECONDS`` and on ``reload`` (admins), so a new champion serves without a
restart. BentoML also serves ``/healthz``, ``/readyz`` and the Prometheus ``/metrics``.

Run it with ``vitrine serve`` (or ``bentoml serve serving.service:Vitrine``).
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus

import bentoml
from bentoml.exceptions import BentoMLException
from pydantic import Field

from serving import auth
from serving.champions import Champions
from serving.figure_endpoints import FigureEndpoints
from serving.guard import Guarded
from serving.live_figures import LiveFigures
from serving.model_endpoints import ModelEndpoints
from serving.schemas import (
    ROW_ID_MAX,
    LinkCode,
    PipelineRun,
    Readiness,
    Redeemed,
    UserInfo,
)
from serving.store_endpoints import StoreEndpoints
from warehouse.local_files import keep_private
from warehouse.privacy import pseudonym_key
from warehouse.settings import load_settings


@bentoml.service(name="vitrine", traffic={"timeout": 30})
class Vitrine(ModelEndpoints, FigureEndpoints, StoreEndpoints, Guarded):
    """The service: its state and its own endpoints (health, readiness, reload, chat links, the
    caller, pipeline runs); the rest by area in serving/model_endpoints.py,
    serving/figure_endpoints.py and serving/store_endpoints.py, all behind serving/guard.py."""

    def __init__(self) -> None:
        self.settings = load_settings()
        keep_private(self.settings.home.resolve())  # the audit trail and posted sales it writes are private
        self.champions = Champions(self.settings)
        self.champions.refresh()
        self.figures = LiveFigures(self.settings)
        self.pseudonym_key = pseudonym_key(self.settings)
        self._stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True, name="champion-poll").start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.model_poll_seconds):
            self.champions.refresh()
            self.figures.refresh()

    @bentoml.api
    async def health(self) -> dict:
        """Liveness, no token needed."""
        return {"status": "ok"}

    @bentoml.api
    def readiness(self, ctx: bentoml.Context) -> Readiness:
        """The models being served, their versions and where from; ``degraded`` when the registry is
        unreachable and last good copies serve."""
        self._guard(ctx, "readiness", {}, auth.ROLES)
        status = self._status()
        if status["status"] == "not ready":
            ctx.response.status_code = HTTPStatus.SERVICE_UNAVAILABLE
        return Readiness(**status)

    def _status(self) -> dict:
        """The models' status, and the published figures: without them the live endpoints cannot answer."""
        status = self.champions.status()
        status["today"] = self.figures.today()
        published = self.figures.published
        meta = published.meta if published else None
        status["figures"] = {"published_at": meta["published_at"], "data_through": str(meta["data_through"]),
                             "live_upto": meta["live_upto"]} if meta else None
        if meta is None and status["status"] == "ready":
            status["status"] = "degraded"
        return status

    @bentoml.api
    def reload(self, ctx: bentoml.Context) -> Readiness:
        """Ask the registry for new champions now (admins)."""
        user = self._guard(ctx, "reload", {}, ("admin",))
        self.champions.refresh()
        self.figures.refresh()
        auth.record(self.settings, user, "reload", {}, 200)
        return Readiness(**self._status())

    @bentoml.api
    def link_code(self, ctx: bentoml.Context, user_id: int = Field(ge=1, le=ROW_ID_MAX),
                  minutes: int = Field(24 * 60, ge=1, le=7 * 24 * 60)) -> LinkCode:
        """A one-time code linking a chat of the bot to a user (managers: their store's sellers and
        managers; admins: anyone). The user sends ``/start CODE`` to the bot."""
        request = {"user_id": user_id, "minutes": minutes}
        user = self._guard(ctx, "link_code", request, ("manager", "admin"))
        try:
            code, expires = auth.issue_link_code(self.settings, user_id, user, minutes)
            target = auth.user(self.settings, user_id)
        except auth.AuthError as exc:
            self._deny(user, "link_code", request, HTTPStatus.NOT_FOUND, f"user_id: {exc}")
        except PermissionError as exc:
            self._deny(user, "link_code", request, HTTPStatus.FORBIDDEN, str(exc))
        auth.record(self.settings, user, "link_code", request, 200)
        return LinkCode(user_id=user_id, name=target.name, code=code, expires_at=expires)

    @bentoml.api
    def redeem_link(self, code: str = Field(min_length=4, max_length=32),
                    label: str = Field(min_length=1, max_length=80, description="where the token lives, e.g. telegram:12345")
                    ) -> Redeemed:
        """Spend a link code for a token of its user (the code is the credential: no bearer token)."""
        try:
            user, token = auth.redeem_link_code(self.settings, code, label)
        except auth.AuthError as exc:
            auth.record(self.settings, None, "redeem_link", {"label": label}, int(HTTPStatus.FORBIDDEN))
            raise BentoMLException(str(exc), error_code=HTTPStatus.FORBIDDEN) from None
        auth.record(self.settings, user, "redeem_link", {"label": label}, 200)
        return Redeemed(token=token, user=UserInfo(user_id=user.user_id, name=user.name, role=user.role,
                                                     store_id=user.store_id, seller_id=user.seller_id))

    @bentoml.api
    def me(self, ctx: bentoml.Context) -> UserInfo:
        """Who the token belongs to: name, role, store and seller (the dashboard shows pages by role)."""
        user = self._guard(ctx, "me", {}, auth.ROLES)
        auth.record(self.settings, user, "me", {}, 200)
        return UserInfo(user_id=user.user_id, name=user.name, role=user.role, store_id=user.store_id,
                        seller_id=user.seller_id)

    @bentoml.api
    def run_pipeline(self, ctx: bentoml.Context) -> PipelineRun:
        """Start ``vitrine pipeline run`` now, unless one is running (analysts, admins)."""
        from serving import pipeline_runs

        user = self._guard(ctx, "run_pipeline", {}, ("analyst", "admin"))
        state = pipeline_runs.start(self.settings)
        auth.record(self.settings, user, "run_pipeline", {}, 200)
        return PipelineRun(**state)

    @bentoml.api
    def pipeline_status(self, ctx: bentoml.Context) -> PipelineRun:
        """The last pipeline run asked for through the API: running, succeeded or failed, and its log's end."""
        from serving import pipeline_runs

        user = self._guard(ctx, "pipeline_status", {}, ("analyst", "admin"))
        auth.record(self.settings, user, "pipeline_status", {}, 200)
        return PipelineRun(**pipeline_runs.status(self.settings))


class RequestLimits:
    """Every endpoint takes JSON of at most ``VITRINE_MAX_BODY_BYTES``: another body type is a 415 and
    a larger body a 413, here, before BentoML reads it (its form parser answers a malformed
    multipart body with a 500, and nothing else bounds what a client may send). A body without a
    length (chunked) is read here up to the limit."""

    def __init__(self, app) -> None:
        self.app = app
        self.limit = load_settings().max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        kind = headers.get(b"content-type", b"application/json").split(b";")[0].strip().lower()
        if kind != b"application/json":
            await _refuse(send, 415, "send the body as application/json")
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _refuse(send, 413, f"the body is over the limit of {self.limit} bytes")
            return
        if length is None:  # chunked: read it here, up to the limit, then hand it on whole
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if len(body) > self.limit:
                    await _refuse(send, 413, f"the body is over the limit of {self.limit} bytes")
                    return
                if not message.get("more_body", False):
                    break
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


def _replay(body: bytes, rest):
    """An ASGI ``receive`` that gives the body read already, then waits on the connection as before."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return await rest()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


Vitrine.add_asgi_middleware(RequestLimits)
