"""Disk guard and retention for the recordings directory.

Owns: the free-space check (``DiskGuard``; the free-space source is a parameter, so tests set
a threshold above the real free space or pass their own function), the free-space watch of a
running recording (``SpaceWatch``: samples every ``interval`` seconds at most, estimates how
fast the file system fills and says "stop now" while ffmpeg can still finish its segment above
``min_free``; it checks sooner as the space runs out), and retention: the pure plan of which
finished sessions to delete, oldest first, to keep the recordings under a total size and/or a
maximum age, never touching a recording in progress, and applying that plan.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from dylived.store.space import FreeSpace, free_bytes


logger = logging.getLogger(__name__)

GIB = 1 << 30

CHECK_INTERVAL = 2.0  # seconds between free-space checks while recording (at most)
STOP_LEAD = 4.0  # seconds of writing at the observed rate that a stop must be ahead of (a loaded
# machine takes seconds from the decision to ffmpeg's exit, and the database grows meanwhile)
MIN_CHECK_INTERVAL = 0.25  # the quickest re-check when the space is running out


@dataclass(frozen=True, slots=True)
class DiskGuard:
    """Says when free space under ``path`` is below ``min_free`` bytes.

    Args:
        path: the recordings directory (need not exist yet).
        min_free: bytes that must stay free (default 2 GiB).
        interval: the longest wait, in seconds, between two checks while recording.
        free: the free-space source; ``free_bytes`` (statvfs) unless a test passes another.
        stop_lead: a recording is stopped when, at the rate the space is being used, it would
            reach ``min_free`` within this many seconds (ffmpeg's graceful stop must finish
            before that).
    """

    path: Path
    min_free: int = 2 * GIB
    interval: float = CHECK_INTERVAL
    free: FreeSpace = free_bytes
    stop_lead: float = STOP_LEAD

    @property
    def resume_free(self) -> int:
        """Free bytes needed to start again after a stop for space (min_free + 25 %), so a
        recording does not flap between starting and stopping at the threshold."""
        return self.min_free + self.min_free // 4

    def resume_after(self, needed: int) -> int:
        """Free bytes needed to start again after a run stopped for space needing ``needed``
        bytes above ``min_free`` (its ``SpaceWatch.needed_at_stop``): at least ``resume_free``,
        and never less than that run needed, or the next run starts with less room than the
        last one stopped at and crosses ``min_free`` before its watch has learned the rate (a
        14 MiB tmpfs fell 120-160 KiB under it that way: stopped at 1 MB of headroom, resumed
        at 0.8 MB, then the start-up burst of ~470 KB)."""
        return max(self.resume_free, self.min_free + needed)

    def is_low(self, threshold: int | None = None) -> bool:
        """Free space under ``threshold`` (``min_free`` by default); False when unreadable."""
        try:
            return self.free(self.path) < (self.min_free if threshold is None else threshold)
        except OSError:
            logger.exception("cannot read the free space of %s", self.path)
            return False

    def available(self) -> int:
        """Free bytes now (-1 when they cannot be read)."""
        try:
            return self.free(self.path)
        except OSError:
            return -1


@dataclass(frozen=True, slots=True)
class SpaceCheck:
    """One sample of a ``SpaceWatch``: whether to stop now, and when to look again."""

    stop: bool
    free: int  # bytes free now (-1: could not read)
    rate: float  # bytes per second the file system is filling at (0: not filling)
    next_in: float  # seconds until the next check


class SpaceWatch:
    """The free space of one recording run, sampled and extrapolated (not thread-safe).

    ``check(now)`` reads the free space, updates the fill rate (the larger of the last
    interval's rate and a moving average, so a burst counts at once and a lull slowly) and
    says ``stop`` when the space left above ``min_free`` would be used up within
    ``stop_lead`` seconds at that rate, plus the largest recent drop between two checks (or
    is already gone). The drop matters for HLS: ffmpeg fetches whole media segments and writes
    each at once, so between bursts the rate looks small and the next burst can cross
    ``min_free`` before the next check (a 14 MiB tmpfs fell 352 KiB under it that way). The
    next check comes after at most ``interval`` seconds, sooner as the time to ``min_free``
    shrinks. One watch per ffmpeg run (a drop seen before a stop must not stop the next run at
    once); what a stopped run needed (``needed_at_stop``) sets when the next may start
    (``DiskGuard.resume_after``).
    """

    def __init__(self, guard: DiskGuard) -> None:
        self.guard = guard
        self._last: tuple[float, int] | None = None
        self._average = 0.0
        self._burst = 0  # the largest drop of free space between two checks
        self._largest_drop = 0  # the same, never forgotten (a run's start-up burst)
        self.needed_at_stop = 0  # bytes above min_free to start again after this run stopped

    def check(self, now: float) -> SpaceCheck:
        guard = self.guard
        try:
            free = guard.free(guard.path)
        except OSError:
            logger.exception("cannot read the free space of %s", guard.path)
            return SpaceCheck(False, -1, 0.0, guard.interval)
        rate = self._average
        first = self._last is None  # no rate yet: look again soon, a fast stream shows at once
        if self._last is not None and now > self._last[0]:
            instant = max(0.0, (self._last[1] - free) / (now - self._last[0]))
            self._average = 0.5 * self._average + 0.5 * instant
            rate = max(instant, self._average)
            # the largest recent drop, a quarter of it forgotten every ``interval`` seconds
            # (per check would forget it within a second of frequent checks near the end)
            fade = 0.75 ** ((now - self._last[0]) / guard.interval)
            self._burst = max(self._last[1] - free, int(self._burst * fade))
            self._largest_drop = max(self._largest_drop, self._last[1] - free)
        self._last = (now, free)
        headroom = free - guard.min_free - self._burst
        if headroom <= rate * guard.stop_lead:
            # the room it stopped with, and its start-up burst again, within that much once more
            # (a drop from elsewhere, another program's 10 GiB copy, must not hold it off forever)
            room = max(0, free - guard.min_free)
            self.needed_at_stop = room + min(self._largest_drop, room)
            return SpaceCheck(True, free, rate, guard.interval)
        next_in = MIN_CHECK_INTERVAL if first else guard.interval
        if rate > 0:  # look again at the latest half-way to the moment we must stop
            next_in = min(next_in, (headroom / rate - guard.stop_lead) / 2)
        return SpaceCheck(False, free, rate, max(MIN_CHECK_INTERVAL, next_in))


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
    """Delete the files of ``doomed`` sessions (and directories left empty); bytes freed.

    An MP4's subtitles beside it (``<stem>.ass``, written by the remux) go with it.
    """
    freed = 0
    for session in doomed:
        beside = [p.with_suffix(".ass") for p in session.files if p.suffix == ".mp4"]
        for path in [*beside, *session.files]:
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
