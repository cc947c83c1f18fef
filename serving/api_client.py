"""The one client of the vitrine API that the bot and the dashboard share: a call is a POST of JSON
with the user's token, and what can go wrong comes back as two errors a front door can word for
people: the service is down or slow (:class:`ServiceDown`: try again later) or it refused the
request (:class:`Refused`, with the HTTP status and the service's message).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


class ServiceDown(RuntimeError):
    """The service did not answer in time, or failed on its side (5xx)."""


@dataclass
class Refused(Exception):
    """The service said no (4xx): ``status`` and its message (which names the field at fault)."""
    status: int
    message: str

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


class VitrineApi:
    """``call(endpoint, token, **body)`` → the reply's JSON. Retries once on a dropped connection."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)

    def call(self, endpoint: str, token: str | None, **body) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        for attempt in (1, 2):
            try:
                reply = self.http.post(f"{self.url}/{endpoint}", json=body, headers=headers)
                break
            except httpx.TimeoutException as exc:
                raise ServiceDown(f"{endpoint}: no answer in {self.http.timeout.read:g} s") from exc
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise ServiceDown(f"{endpoint}: {exc.__class__.__name__}") from exc
        if reply.status_code >= 500:
            raise ServiceDown(f"{endpoint}: HTTP {reply.status_code}")
        if reply.status_code >= 400:
            try:
                body = reply.json()
            except ValueError:
                body = reply.text
            errors = body if isinstance(body, list) else [body]  # BentoML answers [{"error": …}]
            message = "; ".join(str(e.get("error", e)) if isinstance(e, dict) else str(e) for e in errors)
            raise Refused(reply.status_code, str(message))
        return reply.json()

    def close(self) -> None:
        self.http.close()
