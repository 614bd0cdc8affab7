"""The database's share of a nearly full disk: a free-space floor and the events it cost.

Owns: reading the free space of the file system holding the database (``free_bytes``,
statvfs; a parameter of the writer, so a test can pass its own), and ``LostEvents``: the event
rows the writer could not store (free space under its floor, or shed while writes failed),
kept per session as a time range and handed back as ``events`` gaps (``AddGap``) once they can
be written. Pure bookkeeping plus one system call; no SQL.

The floor sits below the recorders' ``min_free`` (the daemon passes half of it): recording
stops first, event rows go on into the reserve between the two, and under the floor only the
small control rows (sessions, segments, gaps) are written, so SQLite meets a full disk
(SQLITE_FULL, a rolled-back transaction, never a corrupt file) as late as possible.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dylived.store.ops import AddGap, InsertEvents


FreeSpace = Callable[[Path], int]


def free_bytes(path: Path) -> int:
    """Bytes available to an unprivileged writer on the file system holding ``path``."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    stats = os.statvfs(probe)
    return stats.f_bavail * stats.f_frsize


@dataclass(slots=True)
class _Range:
    from_ms: int
    to_ms: int
    rows: int
    cause: str


class LostEvents:
    """Event rows that were not stored, per session: the earliest and latest received time."""

    def __init__(self) -> None:
        self._ranges: dict[int, _Range] = {}

    def __bool__(self) -> bool:
        return bool(self._ranges)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self._ranges.values())

    def add(self, op: InsertEvents, cause: str) -> int:
        """Count the rows of ``op`` as lost; how many."""
        if not op.events:
            return 0
        times = [e.received_at_ms for e in op.events]
        first, last = min(times), max(times)
        lost = self._ranges.get(op.session_id)
        if lost is None:
            self._ranges[op.session_id] = _Range(first, last, len(op.events), cause)
        else:
            lost.from_ms, lost.to_ms = min(lost.from_ms, first), max(lost.to_ms, last)
            lost.rows += len(op.events)
        return len(op.events)

    def gap(self, session_id: int) -> AddGap | None:
        """The ``events`` gap of one session's lost rows (forgotten here), or None."""
        lost = self._ranges.pop(session_id, None)
        if lost is None:
            return None
        return AddGap(session_id, "events", lost.from_ms, lost.to_ms, lost.cause)

    def gaps(self, sessions: Sequence[int] | None = None) -> list[AddGap]:
        """The gaps of ``sessions`` (every session by default), forgotten here."""
        keys = list(self._ranges) if sessions is None else sessions
        return [g for g in (self.gap(s) for s in keys) if g is not None]
