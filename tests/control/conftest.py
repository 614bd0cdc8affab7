"""Fixtures of the control tests: the anyio backend and a short Unix-socket path."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sock_path() -> Iterator[Path]:
    """A socket path short enough for AF_UNIX (108 bytes), in a directory that is removed after."""
    directory = Path(tempfile.mkdtemp(prefix="dylctl-"))
    try:
        yield directory / "run" / "control.sock"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
