"""Fixtures of the notification tests: the anyio backend and a real webhook on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.webhook import WebhookServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer()
    try:
        yield server
    finally:
        server.close()
