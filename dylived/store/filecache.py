"""Small JSON documents kept beside the database in the state directory (reference data a
platform fetches and may fetch again: a gift catalogue, not archive rows).

Why a file and not the database: the database holds the archive and has one batched writer
with back-pressure for it (``store/writer.py``); a document of a few hundred KiB fetched once a
day, read once at start and replaced whole, needs none of that, and losing it costs one
refetch. :func:`write_json` replaces the file atomically (a temporary file in the same
directory, fsynced, renamed over it), so a crash leaves the old document or the new one, never
half of one. :func:`read_json` returns ``None`` for a missing, unreadable or corrupt file
(logged once per call) rather than raising: the caller fetches anew.

:func:`read_json` and :func:`write_json` block; :class:`JsonFileCache` is the same for the
event loop (each call in a worker thread), the ``load``/``save`` pair a platform's cached
reference data is given.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import anyio


logger = logging.getLogger(__name__)


def read_json(path: Path) -> Any | None:
    """The document at ``path``, or ``None`` when there is none or it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("cache %s: unreadable, ignored: %s", path, exc)
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        logger.warning("cache %s: not JSON, ignored: %s", path, exc)
        return None


def write_json(path: Path, value: Any) -> None:
    """Replace the document at ``path`` atomically (its directory is created when missing).

    Raises:
        OSError: the file could not be written (the old document, if any, is intact).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class JsonFileCache:
    """One document file for async callers: :meth:`load` (``None`` when absent or unusable)
    and :meth:`save` (atomic; ``OSError`` when it could not be written)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def load(self) -> Any | None:
        return await anyio.to_thread.run_sync(read_json, self.path)

    async def save(self, value: Any) -> None:
        await anyio.to_thread.run_sync(write_json, self.path, value)
