"""Fixtures of the recording tests: the anyio backend (asyncio, as the daemon runs)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
