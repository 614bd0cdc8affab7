"""The pure rules of event capture: settings, reconnect policy, counters.

Used by ``dylived/capture/component.py`` (the EventCapture component; its docstring explains the
behaviour). No I/O, no clock: callers pass ``now`` and an injected ``random.Random``.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass
from datetime import UTC, tzinfo

from dylived.net.proxy import ProxyUrl
from dylived.wire.backoff import reconnect_delay


UNDECODABLE_WARN_EVERY = 60.0  # seconds between two undecodable-share warnings


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """The platform-neutral tuning of event capture (seconds); the platform's push settings
    are its ``EventSource``'s."""

    proxy: ProxyUrl | None = None  # the broadcaster's proxy for the WebSocket (None = direct)
    healthy_after_s: float = 60.0
    max_failed_attempts: int = 6
    idle_timeout_s: float = 90.0
    open_timeout_s: float = 10.0
    reconnect_scale: float = 1.0  # multiplies the reconnect delays (tests shorten them)
    unknown_per_method: int = 50
    unknown_total: int = 500
    undecodable_window: int = 1000
    undecodable_warn_share: float = 0.05
    timezone: tzinfo = UTC  # daemon.timezone: the record_windows' wall clock (watch/filters.py)


class UnknownSampler:
    """Which unknown/undecodable messages to keep: the first N per method, M in all."""

    def __init__(self, per_method: int, total: int) -> None:
        self.per_method = per_method
        self.total = total
        self.kept: collections.Counter[str] = collections.Counter()
        self.seen = 0

    def take(self, method: str) -> bool:
        self.seen += 1
        if self.kept[method] >= self.per_method or sum(self.kept.values()) >= self.total:
            return False
        self.kept[method] += 1
        return True


class UndecodableMonitor:
    """The share of undecodable messages among the last ``window``; says when to warn."""

    def __init__(self, window: int, share: float, every_s: float = UNDECODABLE_WARN_EVERY) -> None:
        self.share = share
        self.every_s = every_s
        self._window: collections.deque[bool] = collections.deque(maxlen=window)
        self._bad = 0
        self._warned_at: float | None = None

    def add(self, undecodable: bool) -> None:
        window = self._window
        if len(window) == window.maxlen and window[0]:
            self._bad -= 1
        window.append(undecodable)
        self._bad += undecodable

    @property
    def current_share(self) -> float:
        return self._bad / len(self._window) if self._window else 0.0

    def should_warn(self, now: float) -> bool:
        """True (at most once per ``every_s``) when the share is above the threshold."""
        if len(self._window) < min(100, self._window.maxlen or 100):
            return False
        if self.current_share <= self.share:
            return False
        if self._warned_at is not None and now - self._warned_at < self.every_s:
            return False
        self._warned_at = now
        return True


class EventRate:
    """Events per minute over the last 60 s, in one-second buckets."""

    def __init__(self) -> None:
        self._buckets: collections.deque[list[int]] = collections.deque()

    def add(self, now: float, count: int) -> None:
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        self._trim(now)

    def per_minute(self, now: float) -> int:
        self._trim(now)
        return sum(count for _, count in self._buckets)

    def _trim(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] <= now - 60:
            self._buckets.popleft()


class ReconnectPolicy:
    """When to retry and when to give up; pure (the caller sleeps).

    ``attempt`` counts retries since the last healthy connection (the backoff index);
    ``failed_without_events`` counts consecutive attempts that brought no event.
    """

    def __init__(self, settings: CaptureSettings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.attempt = 0
        self.failed_without_events = 0

    def connection_ended(self, lasted_s: float, got_frames: bool) -> None:
        if lasted_s >= self.settings.healthy_after_s:
            self.attempt = 0
        if not got_frames:
            self.failed_without_events += 1
        self.attempt += 1

    def refused(self) -> None:
        self.attempt += 1
        self.failed_without_events += 1

    def failed(self) -> None:
        self.attempt += 1

    def events_arrived(self) -> None:
        self.failed_without_events = 0

    def should_give_up(self) -> bool:
        return self.failed_without_events >= self.settings.max_failed_attempts

    def delay(self, at_least: float = 0.0) -> float:
        if self.attempt == 0:
            return 0.0
        nominal = reconnect_delay(self.attempt, self.rng) * self.settings.reconnect_scale
        return max(nominal, at_least)
