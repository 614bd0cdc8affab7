"""Disk guard and retention for the recordings directory.

Owns: the free-space check (``DiskGuard``; the free-space source is a parameter, so tests set
a threshold above the real free space or pass their own function) and retention: the pure
plan of which finished sessions to delete, oldest first, to keep the recordings under a total
size and/or a maximum age, never touching a recording in progress, and applying that plan.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path


logger = logging.getLogger(__name__)

GIB = 1 << 30
FreeBytes = Callable[[Path], int]


def free_bytes(path: Path) -> int:
    """Bytes available to an unprivileged writer on the file system holding ``path``."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    stats = os.statvfs(probe)
    return stats.f_bavail * stats.f_frsize


@dataclass(frozen=True, slots=True)
class DiskGuard:
    """Says when free space under ``path`` is below ``min_free`` bytes.

    Args:
        path: the recordings directory (need not exist yet).
        min_free: bytes that must stay free (default 2 GiB).
        interval: seconds between checks while recording (default 30).
        free: the free-space source; ``free_bytes`` (statvfs) unless a test passes another.
    """

    path: Path
    min_free: int = 2 * GIB
    interval: float = 30.0
    free: FreeBytes = free_bytes

    def is_low(self) -> bool:
        try:
            return self.free(self.path) < self.min_free
        except OSError:
            logger.exception("cannot read the free space of %s", self.path)
            return False

    def available(self) -> int:
        return self.free(self.path)


# ---------------------------------------------------------------- retention


@dataclass(frozen=True, slots=True)
class FinishedSession:
    """A finished session's recordings as retention sees them."""

    key: str  # an id the caller understands (session id, or a directory)
    ended_at_ms: int
    files: tuple[Path, ...]
    bytes: int


def plan_retention(
    sessions: Sequence[FinishedSession],
    *,
    now_ms: int,
    max_total_bytes: int | None = None,
    max_age_s: float | None = None,
    in_progress: Collection[str] = (),
    other_bytes: int = 0,
) -> list[FinishedSession]:
    """Pure: the finished sessions to delete, oldest first.

    A session older than ``max_age_s`` goes; then, oldest first, sessions go until the total
    (those kept plus ``other_bytes``, e.g. recordings in progress) is within
    ``max_total_bytes``. A session whose key is in ``in_progress`` is never chosen.
    """
    candidates = sorted(
        (s for s in sessions if s.key not in in_progress), key=lambda s: s.ended_at_ms
    )
    doomed: list[FinishedSession] = []
    kept: list[FinishedSession] = []
    for session in candidates:
        too_old = max_age_s is not None and now_ms - session.ended_at_ms > max_age_s * 1000
        (doomed if too_old else kept).append(session)
    if max_total_bytes is not None:
        total = other_bytes + sum(s.bytes for s in kept)
        total += sum(s.bytes for s in sessions if s.key in in_progress)
        while kept and total > max_total_bytes:
            oldest = kept.pop(0)
            doomed.append(oldest)
            total -= oldest.bytes
    return sorted(doomed, key=lambda s: s.ended_at_ms)


def apply_retention(doomed: Sequence[FinishedSession]) -> int:
    """Delete the files of ``doomed`` sessions (and directories left empty); bytes freed."""
    freed = 0
    for session in doomed:
        for path in session.files:
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            freed += size
            _remove_empty_parents(path.parent, stop_at_depth=2)
        logger.info("retention: deleted the recordings of session %s", session.key)
    return freed


def _remove_empty_parents(directory: Path, stop_at_depth: int) -> None:
    for _ in range(stop_at_depth):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def disk_usage(path: Path) -> tuple[int, int]:
    """(total, free) bytes of the file system holding ``path``."""
    usage = shutil.disk_usage(path)
    return usage.total, usage.free
