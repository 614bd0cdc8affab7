"""SIGHUP before the event loop handles signals: remembered, not fatal (its default action).

``dylived run`` calls ``remember`` first thing, before importing the daemon (about a second on
a busy machine); the daemon's command queue (``app.commands``) takes what was remembered
once its signal receiver is installed. Imports nothing but ``signal``.
"""

from __future__ import annotations

import signal
from types import FrameType


__all__ = ["remember", "take"]

_early: list[int] = []


def _note(signum: int, frame: FrameType | None) -> None:
    _early.append(signum)


def remember() -> None:
    """Until the event loop takes over, remember SIGHUP instead of dying of it."""
    signal.signal(signal.SIGHUP, _note)


def take() -> list[int]:
    """The signals remembered so far (each returned once)."""
    taken = list(_early)
    del _early[: len(taken)]
    return taken
