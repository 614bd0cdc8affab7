"""Logging set-up: journald-aware line format, and the per-broadcaster logger adapter.

Owns the root handler only; modules log with ``logging.getLogger(__name__)`` and %-style
arguments. Imports nothing of dylived.

Two formats, chosen by :func:`setup_logging`:

* **journald** (``$JOURNAL_STREAM`` equals the ``st_dev:st_ino`` of the stream we write to;
  ``man systemd.exec``): ``<N>logger: message`` with the syslog priority prefix journald strips
  and stores (``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug; ``<2>`` critical), no
  timestamp (journald has its own). Each record is exactly ONE line, so a traceback stays one
  journal entry: line breaks inside a record are folded into ``" ⏎ "`` (U+23CE), readable in
  ``journalctl`` and greppable; ``journalctl -o cat | sed 's/ ⏎ /\\n/g'`` unfolds it.
* **plain** (a terminal, a file, or a redirected stream): ``2026-11-21T23:42:11.123+08:00 INFO
  dylived.watch.broadcaster: message`` with the local ISO time and offset; tracebacks on their
  own lines.

Every line about a broadcaster goes through :func:`broadcaster_logger`, which prefixes the
message with ``broadcaster=<key> room=<room_id|->`` (the room is set once it is known).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO


FOLD = " ⏎ "

# logging level -> syslog priority (sd-daemon.h SD_CRIT … SD_DEBUG)
_PRIORITIES: tuple[tuple[int, int], ...] = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

# Libraries that log every request or job run at INFO; above DEBUG they only speak on trouble.
_CHATTY_LIBRARIES = ("apscheduler", "httpx", "httpcore", "websockets", "aiosqlite")


def syslog_priority(levelno: int) -> int:
    """The syslog priority for a logging level (anything below INFO is debug, 7)."""
    for threshold, priority in _PRIORITIES:
        if levelno >= threshold:
            return priority
    return 7


def is_journal_stream(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``$JOURNAL_STREAM`` names this very stream (not merely when it is set)."""
    env = os.environ if environ is None else environ
    expected = env.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or no file descriptor (StringIO)
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def _context(record: logging.LogRecord) -> str:
    key = getattr(record, "broadcaster", None)
    if key is None:
        return ""
    return f"broadcaster={key} room={getattr(record, 'room', None) or '-'} "


class _ContextFormatter(logging.Formatter):
    """Fills ``%(context)s``: ``broadcaster=<key> room=<room|-> `` when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        record.context = _context(record)
        return super().format(record)


class JournalFormatter(_ContextFormatter):
    """``<N>logger: message`` on one line; tracebacks folded with ``" ⏎ "``."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(context)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        folded = FOLD.join(line for line in text.splitlines() if line.strip())
        return f"<{syslog_priority(record.levelno)}>{folded}"


class PlainFormatter(_ContextFormatter):
    """``ISO-time LEVEL logger: message``, local time with its UTC offset."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(context)s%(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return (
            datetime.fromtimestamp(record.created, UTC)
            .astimezone()
            .isoformat(timespec="milliseconds")
        )


class _DylivedHandler(logging.StreamHandler[TextIO]):
    """Marks the handler setup_logging installed, so a second call replaces it."""


def setup_logging(
    level: str | int = "info",
    stream: TextIO | None = None,
    *,
    journal: bool | None = None,
) -> logging.Handler:
    """Install the root handler (replacing one installed before) and set the level.

    Args:
        level: ``debug``/``info``/``warning``/``error`` (any case) or a logging level number.
        stream: where lines go; default ``sys.stderr`` at call time.
        journal: force the journald format on or off; None detects it from ``$JOURNAL_STREAM``.

    Returns:
        The installed handler.

    Raises:
        ValueError: an unknown level name.
    """
    if isinstance(level, str):
        if level.lower() not in LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
        levelno = LEVELS[level.lower()]
    else:
        levelno = level
    out = sys.stderr if stream is None else stream
    use_journal = is_journal_stream(out) if journal is None else journal
    handler = _DylivedHandler(out)
    if use_journal:
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(PlainFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _DylivedHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(levelno)
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(
            logging.NOTSET if levelno <= logging.DEBUG else logging.WARNING
        )
    logging.captureWarnings(True)
    return handler


class BroadcasterLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds ``broadcaster`` and ``room`` to every record; the formatters render them as
    ``broadcaster=<key> room=<room_id|->`` before the message."""

    def __init__(self, logger: logging.Logger, key: str, room: str | None = None) -> None:
        super().__init__(logger, {"broadcaster": key})
        self.key = key
        self.room = room

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {
            **(kwargs.get("extra") or {}),
            "broadcaster": self.key,
            "room": self.room or "-",
        }
        return msg, kwargs


def broadcaster_logger(
    key: str, room: str | None = None, logger: logging.Logger | str = "dylived"
) -> BroadcasterLogger:
    """A logger adapter for one broadcaster; set ``.room`` when the room id becomes known."""
    base = logging.getLogger(logger) if isinstance(logger, str) else logger
    return BroadcasterLogger(base, key, room)
