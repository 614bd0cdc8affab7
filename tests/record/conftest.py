"""Fixtures of the recording tests: the anyio backend (asyncio, as the daemon runs), and
``ffmpeg_bin``: each distinct ffmpeg on the machine in turn (tests/ffmpegs.py), for the tests
where ffmpeg versions differ (recording, segmenting, a frame-size change, crash recovery, the
probe); the test id names the version (``[ffmpeg5.1]``)."""

from __future__ import annotations

import pytest

from tests.ffmpegs import ffmpeg_bin


__all__ = ["ffmpeg_bin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
