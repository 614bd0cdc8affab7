"""The platform request budget, the risk-control circuit breaker, and per-broadcaster cooldowns.

Owns the three rules that keep dylived from getting its user blocked (anchors.md T1):

- ``RequestBudget``: at most ``max_in_flight`` status requests to one platform at a time, and
  at least ``min_spacing`` seconds between the starts of two requests, so a thousand
  broadcasters due at once are spread out instead of bursting.
- ``CircuitBreaker`` (pure; the caller passes ``now``): a risk-control signal (empty 200 body,
  403/412, 429) opens it and pauses the whole platform for a bounded, growing time; the 429's
  ``Retry-After`` is honoured when it asks for longer. After the pause exactly one probe request
  is let through (HALF_OPEN); success closes the breaker, another risk signal re-opens it with
  a doubled pause.
- ``ErrorCooldown`` (pure): a broadcaster whose checks keep failing is checked less often,
  exponentially, up to ``error_backoff_max``.

Only ``RequestBudget`` touches anyio (a semaphore and a sleep); the rest is plain arithmetic on
monotonic seconds. Imports nothing from the rest of dylived.
"""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio


@dataclass(frozen=True, slots=True)
class BudgetStatistics:
    """How the request budget is doing: now, and the worst seen since start."""

    in_flight: int
    max_in_flight_seen: int
    waiting: int
    requests_started: int


class RequestBudget:
    """Caps concurrent requests to one platform and spaces their starts.

    Args:
        max_in_flight: requests allowed at the same time (>= 1).
        min_spacing: seconds between the starts of two consecutive requests (>= 0).
    """

    def __init__(self, max_in_flight: int, min_spacing: float) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if min_spacing < 0:
            raise ValueError("min_spacing must not be negative")
        self.max_in_flight = max_in_flight
        self.min_spacing = min_spacing
        # fast_acquire: an uncontended acquire does not yield to the loop (one pass less per
        # request); the request that follows yields soon enough.
        self._slots = anyio.Semaphore(max_in_flight, fast_acquire=True)
        self._start_lock = anyio.Lock(fast_acquire=True)
        self._next_start = -math.inf
        self._in_flight = 0
        self._max_seen = 0
        self._waiting = 0
        self._started = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free slot and for the spacing, then hold the slot for one request.

        Cancel safety: cancelling while waiting gives up nothing; the slot is released when
        the block exits, however it exits.
        """
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            # Starts are serialised so two waiters cannot both claim the same start time.
            async with self._start_lock:
                delay = self._next_start - anyio.current_time()
                if delay > 0:
                    await anyio.sleep(delay)
                self._next_start = anyio.current_time() + self.min_spacing
            self._in_flight += 1
            self._started += 1
            self._max_seen = max(self._max_seen, self._in_flight)
            try:
                yield
            finally:
                self._in_flight -= 1
        finally:
            self._slots.release()

    def statistics(self) -> BudgetStatistics:
        return BudgetStatistics(
            in_flight=self._in_flight,
            max_in_flight_seen=self._max_seen,
            waiting=self._waiting,
            requests_started=self._started,
        )


class BreakerState(enum.StrEnum):
    CLOSED = "closed"  # requests flow
    OPEN = "open"  # paused until ``reopen_at``
    HALF_OPEN = "half_open"  # one probe request is out; everyone else waits


@dataclass(frozen=True, slots=True)
class BreakerStatistics:
    state: BreakerState
    paused_until: float | None  # monotonic seconds, when OPEN
    current_pause: float  # the pause the next (or current) opening uses
    times_opened: int
    last_reason: str


class CircuitBreaker:
    """Platform-wide pause on risk-control signals; pure (the caller supplies ``now``).

    Args:
        pause: the first pause, seconds.
        pause_max: the longest pause; a Retry-After longer than this is capped to it too.
    """

    def __init__(self, pause: float, pause_max: float) -> None:
        if pause <= 0 or pause_max < pause:
            raise ValueError("need 0 < pause <= pause_max")
        self.first_pause = pause
        self.pause_max = pause_max
        self.state = BreakerState.CLOSED
        self._next_pause = pause
        self._reopen_at: float | None = None
        self._times_opened = 0
        self.last_reason = ""

    def try_acquire(self, now: float) -> bool:
        """May a request go out now? After a pause, True exactly once (the probe)."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            assert self._reopen_at is not None
            if now >= self._reopen_at:
                self.state = BreakerState.HALF_OPEN
                return True
        return False

    def wait_time(self, now: float) -> float:
        """Seconds until ``try_acquire`` could next say yes (0 when closed; a guess half-open)."""
        if self.state is BreakerState.CLOSED:
            return 0.0
        if self.state is BreakerState.OPEN:
            assert self._reopen_at is not None
            return max(0.0, self._reopen_at - now)
        return min(self.first_pause, 1.0)  # the probe is out; look again soon

    def record_risk(self, now: float, reason: str, retry_after: float | None = None) -> float:
        """A risk-control signal: open (or re-open) the breaker; returns the pause in seconds.

        A signal from a request that started before the breaker opened does not lengthen the
        pause again: only CLOSED and HALF_OPEN (the probe failed) open it.
        """
        self.last_reason = reason
        if self.state is BreakerState.OPEN:
            assert self._reopen_at is not None
            if retry_after is not None:
                self._reopen_at = max(self._reopen_at, now + min(retry_after, self.pause_max))
            return self._reopen_at - now
        pause = self._next_pause
        if retry_after is not None:
            pause = max(pause, min(retry_after, self.pause_max))
        self.state = BreakerState.OPEN
        self._reopen_at = now + pause
        self._times_opened += 1
        self._next_pause = min(pause * 2, self.pause_max)
        return pause

    def record_success(self) -> bool:
        """A request came back fine; returns True when this closed an open breaker (recovery)."""
        if self.state is BreakerState.CLOSED:
            return False
        if self.state is BreakerState.OPEN:
            # A request that started before the breaker opened; the pause still stands.
            return False
        self.state = BreakerState.CLOSED
        self._reopen_at = None
        self._next_pause = self.first_pause
        return True

    def record_inconclusive(self) -> None:
        """The probe failed for a reason that says nothing about risk control: probe again."""
        if self.state is BreakerState.HALF_OPEN:
            self.state = BreakerState.OPEN
            self._reopen_at = -math.inf  # the next try_acquire probes at once

    def statistics(self, now: float) -> BreakerStatistics:
        return BreakerStatistics(
            state=self.state,
            paused_until=self._reopen_at if self.state is BreakerState.OPEN else None,
            current_pause=self._next_pause,
            times_opened=self._times_opened,
            last_reason=self.last_reason,
        )


class ErrorCooldown:
    """Per-broadcaster exponential cooldown after failed checks; pure.

    After ``n`` consecutive failures the next check waits ``base * 2**(n-1)`` seconds, at most
    ``maximum``; a success resets it.
    """

    def __init__(self, base: float, maximum: float) -> None:
        self.base = base
        self.maximum = maximum
        self.failures = 0
        self._not_before = -math.inf

    def record_failure(self, now: float, at_least: float = 0.0) -> float:
        """Count a failure; returns the delay before the next check is allowed."""
        self.failures += 1
        delay: float = min(self.base * float(2 ** (self.failures - 1)), self.maximum)
        delay = max(delay, at_least)
        self._not_before = now + delay
        return delay

    def record_success(self) -> None:
        self.failures = 0
        self._not_before = -math.inf

    def ready(self, now: float) -> bool:
        return now >= self._not_before

    def remaining(self, now: float) -> float:
        return max(0.0, self._not_before - now)
