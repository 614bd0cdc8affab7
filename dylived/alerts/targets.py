"""Where an alert goes: a JSON webhook (``http(s)://``) or an Apprise URL (any other scheme).

:class:`WebhookTarget` sends one ``POST`` of :meth:`Alert.body` (JSON, UTF-8) through the
daemon's HTTP client (``net/http.py``; its own pool, so a hanging webhook holds no connection
the platform polls need); any 2xx is success. :class:`AppriseTarget` hands the alert's
``headline`` and ``message`` to Apprise (the optional ``notify`` extra) in a worker thread; a
cancelled send abandons the thread (Apprise has its own timeouts). Both raise
:class:`DeliveryFailed` with a one-line reason; neither logs the URL (it may hold a token):
``label`` is the scheme and host only.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from dylived.alerts.events import Alert
from dylived.config.notify import quiet_apprise
from dylived.errors import DylivedError
from dylived.net.http import HttpClient


class DeliveryFailed(Exception):
    """One attempt to deliver an alert failed (the reason is the message)."""


class Target(Protocol):
    url: str
    label: str

    async def send(self, alert: Alert) -> None: ...


def label_of(url: str) -> str:
    """``scheme://host`` of a URL: safe to log and show (no path, query or credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if _port(url) else "")


def _port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


class WebhookTarget:
    def __init__(self, url: str, http: HttpClient) -> None:
        self.url = url
        self.label = label_of(url)
        self._http = http

    async def send(self, alert: Alert) -> None:
        body = json.dumps(alert.body(), ensure_ascii=False).encode()
        headers = {
            "content-type": "application/json; charset=utf-8",
            "content-length": str(len(body)),
        }
        try:
            await self._http.fetch(
                self.url, method="POST", headers=headers, content=body, require_body=False
            )
        except DylivedError as exc:
            raise DeliveryFailed(str(exc).replace(self.url, self.label)) from None


class AppriseTarget:
    def __init__(self, url: str) -> None:
        self.url = url
        self.label = label_of(url)
        # the optional extra: config validation said so when it is missing
        with quiet_apprise() as apprise:
            self._apprise: Any = apprise.Apprise()
            added = self._apprise.add(url)
        if not added:
            raise ValueError(f"Apprise does not understand {self.label}")

    async def send(self, alert: Alert) -> None:
        def notify() -> bool:
            with quiet_apprise():
                return bool(self._apprise.notify(body=alert.message, title=alert.headline))

        ok = await anyio.to_thread.run_sync(notify, abandon_on_cancel=True)
        if not ok:
            raise DeliveryFailed(f"Apprise could not deliver to {self.label} (see its log)")


def make_target(url: str, http: HttpClient) -> Target:
    """The target for a validated ``[[notify]]`` URL."""
    if url.lower().startswith(("http://", "https://")):
        return WebhookTarget(url, http)
    return AppriseTarget(url)


__all__ = ["AppriseTarget", "DeliveryFailed", "Target", "WebhookTarget", "label_of", "make_target"]
