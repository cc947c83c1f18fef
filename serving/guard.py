"""What every endpoint of the API goes through: the token, the role, the store, and the audit.

Each endpoint calls :meth:`Guarded._guard` first; a refusal is recorded (serving/auth.py) and
raised as the HTTP status that says why. The helpers below turn "not found", "no model yet" and
"no figures yet" into the same kind of answer, so every endpoint refuses alike.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import TypeVar

import bentoml
import pandas as pd
from bentoml.exceptions import BentoMLException

from serving import auth
from serving.champions import Champions
from serving.live_figures import LiveFigures, UnknownError
from warehouse.settings import Settings

T = TypeVar("T")


def bearer_token(ctx: bentoml.Context) -> str | None:
    header = ctx.request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def none_if_nan(value):
    return None if value is None or pd.isna(value) else value


class Guarded:
    """The service's state the endpoints share, and the checks they make (see the module doc)."""

    settings: Settings
    champions: Champions
    figures: LiveFigures
    pseudonym_key: str

    def _guard(self, ctx: bentoml.Context, endpoint: str, request: dict, roles: tuple[str, ...],
               store_id: str | None = None) -> auth.User:
        user = auth.authenticate(self.settings, bearer_token(ctx))
        if user is None:
            self._deny(None, endpoint, request, HTTPStatus.UNAUTHORIZED, "missing, unknown or revoked token")
        if user.role not in roles:
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"the {user.role} role cannot use {endpoint}")
        if store_id is not None and not user.may_see_store(store_id):
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"store {store_id} is not yours")
        return user

    def _deny(self, user: auth.User | None, endpoint: str, request: dict, status: HTTPStatus, message: str):
        auth.record(self.settings, user, endpoint, request, int(status))
        raise BentoMLException(message, error_code=status)

    def _found(self, user: auth.User, endpoint: str, request: dict, field: str | None, lookup: Callable[[], T]) -> T:
        """``lookup()``; a seller, store or product the figures do not know is a 404 naming ``field``."""
        try:
            return lookup()
        except UnknownError as exc:
            self._deny(user, endpoint, request, HTTPStatus.NOT_FOUND, f"{field}: {exc}" if field else str(exc))

    def _model(self, user: auth.User, endpoint: str, request: dict, name: str):
        served = self.champions.get(name)
        if served is None:
            self._deny(user, endpoint, request, HTTPStatus.SERVICE_UNAVAILABLE,
                       f"no {name} model is loaded yet: {self.champions.errors.get(name, 'not trained')}")
        return served

    def _figures(self, user: auth.User, endpoint: str, request: dict) -> LiveFigures:
        if not self.figures.ready:
            self._deny(user, endpoint, request, HTTPStatus.SERVICE_UNAVAILABLE,
                       "no figures published yet: run `vitrine pipeline run` once")
        return self.figures

    def _seller_for(self, user: auth.User, endpoint: str, request: dict, seller_id: str | None) -> str:
        """The seller asked about: a seller asks about themself; others must name one they may see."""
        if seller_id is None:
            if user.seller_id is None:
                self._deny(user, endpoint, request, HTTPStatus.BAD_REQUEST, "seller_id: required for your role")
            seller_id = user.seller_id
        try:
            store = self.figures.seller(seller_id)["store_id"]
        except UnknownError:  # only those who may see every seller learn that an id does not exist
            if user.role not in ("analyst", "admin"):
                self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"seller {seller_id} is not yours to see")
            self._deny(user, endpoint, request, HTTPStatus.NOT_FOUND, f"seller_id: unknown seller {seller_id!r}")
        if not user.may_see_seller(seller_id, store):
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"seller {seller_id} is not yours to see")
        return seller_id

    def _store_and_seller(self, user: auth.User, endpoint: str, request: dict, store_id: str | None,
                          seller_id: str | None) -> tuple[str, str | None]:
        """The store asked about (a seller: their own; others name one they may see) and the seller
        whose categories come first, if any."""
        if seller_id is not None or user.role == "seller":
            seller_id = self._seller_for(user, endpoint, request, seller_id)
            store_id = store_id or self.figures.seller(seller_id)["store_id"]
        store_id = store_id or user.store_id
        if store_id is None:
            self._deny(user, endpoint, request, HTTPStatus.BAD_REQUEST, "store_id: required for your role")
        if not user.may_see_store(store_id):
            self._deny(user, endpoint, request, HTTPStatus.FORBIDDEN, f"store {store_id} is not yours")
        return store_id, seller_id
