"""The watchlist: one Watch per broadcaster, their poll times, one gate per platform.

APScheduler 3.11's ``AsyncIOScheduler`` only *triggers* polls (ecosystem.md §3, §8.6), through
its public API: one interval job per platform in the watchlist (``id="poll:<platform>"``, every
``tick`` seconds, ``max_instances=1``, ``coalesce=True``, run inline on the loop by APScheduler's
``DebugExecutor``) asks that platform's :class:`PollClock` which of its broadcasters are due and
calls ``watch.request_poll()`` for each (a flag and an event on the same loop). The clock keeps
each broadcaster's next poll time: first polls staggered over one interval, then every
``interval`` plus a fresh ``uniform(0, jitter)`` (as APScheduler's own interval jitter), missed
periods coalesced into one poll. A thousand broadcasters cost two scheduler wake-ups a second
per platform, and a poll starts at most ``tick`` late. The check itself, the session and
everything long-lived run in anyio task groups under ``Watchlist.run``; a Watch makes at most
one check at a time (its loop), so a broadcaster never has two status requests in flight.

While a broadcaster is LIVE its poll period is ``live_interval``; while PAUSED it has no poll
time. Every status request goes through the ``PlatformGate`` of the broadcaster's platform
(``BroadcasterOptions.platform``): the circuit breaker first (paused → ``CheckSkipped``, no
request), then the request budget (max in flight, min spacing); a ``RiskControl`` answer opens
that platform's breaker only (WARNING in the log, ``breaker`` in status), the probe after the
pause closes it again (logged). A platform's gate, clock and poll job exist while at least one
watched broadcaster is on it: made with its first, reconfigured by a reload, dropped with its
last. A broadcaster's error cooldown is its own (``Watch``).

``apply`` takes a new validated config and applies it as a diff: added broadcasters start
watching at once, removed ones stop (their session closes as ``daemon_stopped``), changed ones
get their new options without disturbing a live session (one moved to another platform is
restarted on that platform's gate); unchanged ones are not touched.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import anyio.abc
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from dylived.errors import RiskControl
from dylived.model import LiveStatus, WatchState
from dylived.platforms.base import Platform
from dylived.watch.broadcaster import (
    CheckSkipped,
    ComponentFactory,
    SessionStore,
    Watch,
    WatchSettings,
    WatchStatistics,
    recorder_running,
)
from dylived.watch.gates import BreakerStatistics, BudgetStatistics, CircuitBreaker, RequestBudget


logger = logging.getLogger(__name__)

SCHEDULER_TICK = 0.5  # seconds: the grid on which the poll scheduler wakes


class PollClock:
    """Each broadcaster's next poll time (anyio's clock) and its period (see the module doc).

    Args:
        jitter: each period is ``interval + uniform(0, jitter)`` seconds.
        rng: the jitter's random source (tests pass a seeded one).
    """

    def __init__(self, jitter: float, rng: random.Random | None = None) -> None:
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._due: dict[str, float] = {}
        self._interval: dict[str, float] = {}

    def _period(self, key: str) -> float:
        jitter = self.jitter
        return self._interval[key] + (self._rng.uniform(0, jitter) if jitter > 0 else 0.0)

    def schedule(
        self, key: str, interval: float, now: float, first_in: float | None = None
    ) -> None:
        """Poll ``key`` every ``interval`` s from now: first after ``first_in`` s, or a period."""
        self._interval[key] = interval
        self._due[key] = now + (first_in if first_in is not None else self._period(key))

    def remove(self, key: str) -> None:
        """No more polls for ``key`` (removed or paused) until it is scheduled again."""
        self._due.pop(key, None)
        self._interval.pop(key, None)

    def take_due(self, now: float) -> list[str]:
        """The keys due by ``now``, each moved to its next time (missed periods: one poll)."""
        due = [key for key, at in self._due.items() if at <= now]
        for key in due:
            after = self._due[key] + self._period(key)
            self._due[key] = after if after > now else now + self._period(key)
        return due

    def next_due(self, key: str) -> float | None:
        return self._due.get(key)

    def __len__(self) -> int:
        return len(self._due)


class PollOptions(Protocol):
    """The ``[poll]`` section (config.PollConfig), seconds unless named otherwise."""

    @property
    def interval(self) -> float: ...
    @property
    def jitter(self) -> float: ...
    @property
    def live_interval(self) -> float: ...
    @property
    def grace(self) -> float: ...
    @property
    def max_concurrent(self) -> int: ...
    @property
    def min_spacing(self) -> float: ...
    @property
    def error_backoff_max(self) -> float: ...
    @property
    def breaker_pause(self) -> float: ...
    @property
    def breaker_pause_max(self) -> float: ...


class BroadcasterOptions(Protocol):
    """One ``[[broadcaster]]`` with its overrides resolved (config.BroadcasterConfig)."""

    @property
    def key(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def interval(self) -> float: ...
    @property
    def max_session_minutes(self) -> float: ...


StatusFetcher = Callable[[BroadcasterOptions], Awaitable[LiveStatus]]


class StatusSource:
    """Resolves each broadcaster's target once (again when it changes), then asks its status.

    ``route`` picks the platform client of one broadcaster (the daemon: one per platform and
    proxy, ``app/daemon.ProxiedPlatforms``); without it every broadcaster uses ``platform``.
    """

    def __init__(self, platform: Platform, route: Callable[[Any], Platform] | None = None) -> None:
        self._route = route or (lambda broadcaster: platform)
        self._resolved: dict[str, tuple[str, str, object]] = {}

    async def fetch(self, broadcaster: BroadcasterOptions) -> LiveStatus:
        b: Any = broadcaster  # config.BroadcasterConfig: target_text is the target as written
        platform = self._route(b)
        cached = self._resolved.get(b.key)
        if cached is None or cached[:2] != (platform.name, b.target_text):
            cached = (platform.name, b.target_text, await platform.resolve(b.target_text))
            self._resolved[b.key] = cached
        return await platform.fetch_status(cached[2])


def wall_ms(at: float) -> int:
    """Unix ms of ``at``, a time on anyio's (monotonic) clock."""
    return int((time.time() + (at - anyio.current_time())) * 1000)


@dataclass(frozen=True, slots=True)
class GateStatistics:
    """One platform's gate as status and metrics show it."""

    platform: str
    broadcasters: int  # watched broadcasters on this platform
    breaker: BreakerStatistics
    open_until_ms: int | None  # Unix ms when the breaker is OPEN
    budget: BudgetStatistics
    max_in_flight: int  # the budget's limit
    requests: int  # status requests made since start (across reloads)
    risk_signals: int  # risk-control answers since start


class PlatformGate:
    """Breaker + budget in front of one platform's status requests."""

    def __init__(
        self,
        platform: str,
        poll: PollOptions,
        on_breaker: Callable[[str, bool, str], None] | None = None,
    ) -> None:
        self.platform = platform
        self.budget = RequestBudget(poll.max_concurrent, poll.min_spacing)
        self.breaker = CircuitBreaker(poll.breaker_pause, poll.breaker_pause_max)
        self.risk_signals = 0
        # told (platform, opened, detail) when the breaker opens or closes again (alerts)
        self.on_breaker = on_breaker
        self.requests = 0

    def reconfigure(self, poll: PollOptions) -> None:
        """New limits from a reload; requests already in flight finish under the old budget."""
        budget = self.budget
        if (budget.max_in_flight, budget.min_spacing) != (poll.max_concurrent, poll.min_spacing):
            self.budget = RequestBudget(poll.max_concurrent, poll.min_spacing)
        self.breaker.first_pause = poll.breaker_pause
        self.breaker.pause_max = poll.breaker_pause_max

    async def check(self, fetch: Callable[[], Awaitable[LiveStatus]]) -> LiveStatus:
        """Make one status request when breaker and budget allow.

        Raises:
            CheckSkipped: the breaker is open (no request was made).
            DylivedError: whatever ``fetch`` raised (RiskControl also opened the breaker).
        """
        if not self.breaker.try_acquire(anyio.current_time()):
            raise CheckSkipped(f"{self.platform} polling is paused (risk control)")
        async with self.budget.slot():
            self.requests += 1
            probing = self.breaker.state.value == "half_open"
            try:
                status = await fetch()
            except RiskControl as exc:
                self._risk(exc)
                raise
            except BaseException:
                if probing:
                    self.breaker.record_inconclusive()
                raise
        if self.breaker.record_success():
            logger.warning("%s polling resumed: the probe after risk control passed", self.platform)
            if self.on_breaker is not None:
                self.on_breaker(self.platform, False, "the probe after risk control passed")
        return status

    def _risk(self, exc: RiskControl) -> None:
        self.risk_signals += 1
        was_open = self.breaker.state.value == "open"
        pause = self.breaker.record_risk(anyio.current_time(), str(exc), exc.retry_after)
        if not was_open:
            logger.warning(
                "risk control from %s (%s): pausing its polling for %.0f s",
                self.platform,
                exc,
                pause,
            )
            if self.on_breaker is not None:
                self.on_breaker(self.platform, True, f"{exc}; paused for {pause:.0f} s")

    def statistics(self) -> BreakerStatistics:
        return self.breaker.statistics(anyio.current_time())

    def snapshot(self, broadcasters: int) -> GateStatistics:
        breaker = self.statistics()
        until = breaker.paused_until
        return GateStatistics(
            platform=self.platform,
            broadcasters=broadcasters,
            breaker=breaker,
            open_until_ms=None if until is None or until == -math.inf else wall_ms(until),
            budget=self.budget.statistics(),
            max_in_flight=self.budget.max_in_flight,
            requests=self.requests,
            risk_signals=self.risk_signals,
        )


def watch_settings(poll: PollOptions, broadcaster: BroadcasterOptions) -> WatchSettings:
    cap = broadcaster.max_session_minutes
    return WatchSettings(
        grace=poll.grace,
        max_session=cap * 60 if cap and cap > 0 else None,
        error_backoff_base=broadcaster.interval,
        error_backoff_max=poll.error_backoff_max,
    )


@dataclass(frozen=True, slots=True)
class ApplyResult:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


class Watchlist:
    """Owns the watches, their poll jobs and the platform gates (see the module docstring).

    Args:
        poll: the [poll] options.
        broadcasters: the enabled and disabled broadcasters of the config.
        fetch_status: makes one status request for a broadcaster (the platform adapter).
        store: the session writes.
        factories: session components made for each live session.
        paused: keys that start paused (the overrides state file).
        tick: the period of each platform's poll job in seconds (a poll starts at most this late).
    """

    def __init__(
        self,
        poll: PollOptions,
        broadcasters: Sequence[BroadcasterOptions],
        fetch_status: StatusFetcher,
        store: SessionStore,
        factories: Sequence[ComponentFactory],
        paused: frozenset[str] = frozenset(),
        *,
        tick: float = SCHEDULER_TICK,
        on_breaker: Callable[[str, bool, str], None] | None = None,
    ) -> None:
        self.poll = poll
        self._on_breaker = on_breaker  # given to every platform's gate (alerts)
        self._initial = list(broadcasters)
        self._fetch_status = fetch_status
        self._store = store
        self._factories = factories
        self._initially_paused = paused
        self.gates: dict[str, PlatformGate] = {}  # platform → its gate, while it has watches
        self._clocks: dict[str, PollClock] = {}  # platform → its broadcasters' poll times
        self.watches: dict[str, Watch] = {}
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._done: dict[str, anyio.Event] = {}
        self.scheduler: AsyncIOScheduler | None = None
        self._tick = tick
        self._tg: anyio.abc.TaskGroup | None = None

    # -- lifecycle

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Start every watch and the scheduler; run until cancelled.

        Cancel safety: the scheduler is shut down first (no new polls), then every watch is
        cancelled and closes its session as ``daemon_stopped`` (shielded, bounded).
        """
        scheduler = AsyncIOScheduler(
            timezone=dt.UTC,
            executors={"default": DebugExecutor()},  # the job only sets flags: run it inline
        )
        self.scheduler = scheduler
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                enabled = [b for b in self._initial if b.enabled]
                for index, broadcaster in enumerate(enabled):
                    stagger = broadcaster.interval * index / max(1, len(enabled))
                    await self._add(broadcaster, first_run_in=stagger)
                    if broadcaster.key in self._initially_paused:
                        await self.pause(broadcaster.key)
                scheduler.start()
                task_status.started()
                await anyio.sleep_forever()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)

    # -- platforms: a gate, a clock and a poll job each, while a watch is on it

    def _platform_clock(self, platform: str) -> PollClock:
        """The platform's clock, making its gate, clock and poll job with its first watch."""
        clock = self._clocks.get(platform)
        if clock is not None:
            return clock
        self.gates[platform] = PlatformGate(platform, self.poll, self._on_breaker)
        clock = self._clocks[platform] = PollClock(self.poll.jitter)
        assert self.scheduler is not None
        self.scheduler.add_job(
            self._poll_job,
            trigger=IntervalTrigger(seconds=self._tick, timezone=dt.UTC),
            args=(platform,),
            id=f"poll:{platform}",
            name=f"poll {platform}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # however late the loop was: run once
            next_run_time=dt.datetime.now(dt.UTC),
        )
        return clock

    def _drop_platform_if_unused(self, platform: str) -> None:
        if platform not in self._clocks or any(
            w.options.platform == platform for w in self.watches.values()
        ):
            return
        del self._clocks[platform], self.gates[platform]
        if self.scheduler is not None:
            self.scheduler.remove_job(f"poll:{platform}")

    def _clock_of(self, watch: Watch) -> PollClock:
        return self._clocks[watch.options.platform]

    async def _add(self, broadcaster: BroadcasterOptions, first_run_in: float) -> None:
        assert self._tg is not None
        key, platform = broadcaster.key, broadcaster.platform
        clock = self._platform_clock(platform)

        async def fetch() -> LiveStatus:
            watch = self.watches[key]
            return await self.gates[platform].check(lambda: self._fetch_status(watch.options))

        watch = Watch(
            key,
            broadcaster,
            watch_settings(self.poll, broadcaster),
            fetch,
            self._store,
            self._factories,
            on_state_change=self._state_changed,
        )
        self.watches[key] = watch
        self._done[key] = anyio.Event()
        await self._tg.start(self._run_watch, watch)
        clock.schedule(key, broadcaster.interval, anyio.current_time(), first_in=first_run_in)

    async def _run_watch(self, watch: Watch, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            with anyio.CancelScope() as scope:
                self._scopes[watch.key] = scope
                await watch.run(task_status=task_status)
        finally:
            self._done[watch.key].set()

    def _poll_job(self, platform: str) -> None:
        # Run inline by APScheduler on the loop: only hand over, never do work.
        clock = self._clocks.get(platform)
        if clock is None:
            return
        for key in clock.take_due(anyio.current_time()):
            watch = self.watches.get(key)
            if watch is None:
                clock.remove(key)
            else:
                watch.request_poll()

    def _interval_of(self, watch: Watch) -> float:
        if watch.machine.state is WatchState.LIVE:
            return self.poll.live_interval
        options: BroadcasterOptions = watch.options
        return options.interval

    def _state_changed(self, watch: Watch, old: WatchState, new: WatchState) -> None:
        if watch.key not in self._scopes:
            return  # being removed: no poll time again
        clock = self._clock_of(watch)
        if new is WatchState.PAUSED:
            clock.remove(watch.key)
            return
        resumed, went_live = old is WatchState.PAUSED, old is WatchState.OFFLINE
        if resumed or new is WatchState.OFFLINE or (new is WatchState.LIVE and went_live):
            clock.schedule(watch.key, self._interval_of(watch), anyio.current_time())

    # -- commands

    async def remove(self, key: str) -> None:
        """Stop watching ``key``; returns once its session (if any) is closed."""
        watch = self.watches.get(key)
        if watch is not None:
            self._clock_of(watch).remove(key)
        scope = self._scopes.pop(key, None)
        done = self._done.get(key)
        if scope is not None:
            scope.cancel()
        if done is not None:
            with anyio.CancelScope(shield=True):
                await done.wait()
        self.watches.pop(key, None)
        self._done.pop(key, None)
        if watch is not None:
            self._drop_platform_if_unused(watch.options.platform)

    async def add(self, broadcaster: BroadcasterOptions) -> None:
        """Start watching a new broadcaster; its first check is made at once."""
        await self._add(broadcaster, first_run_in=0)

    async def pause(self, key: str) -> None:
        await self.watches[key].pause()

    async def resume(self, key: str) -> None:
        await self.watches[key].resume()

    async def apply(
        self, poll: PollOptions, broadcasters: Sequence[BroadcasterOptions]
    ) -> ApplyResult:
        """Apply a new config as a diff (see the module docstring)."""
        wanted = {b.key: b for b in broadcasters if b.enabled}
        removed = [k for k in self.watches if k not in wanted]
        moved = [  # to another platform: restarted there
            b for k, b in wanted.items() if k in self.watches and self._platform_of(k) != b.platform
        ]
        added = [b for k, b in wanted.items() if k not in self.watches]
        changed: list[str] = [b.key for b in moved]
        poll_changed = poll != self.poll
        self.poll = poll
        for gate in self.gates.values():
            gate.reconfigure(poll)
        for clock in self._clocks.values():
            clock.jitter = poll.jitter
        for key in [*removed, *(b.key for b in moved)]:
            await self.remove(key)
        for key, broadcaster in wanted.items():
            watch = self.watches.get(key)
            if watch is None or (watch.options == broadcaster and not poll_changed):
                continue
            old: BroadcasterOptions = watch.options
            watch.update(broadcaster, watch_settings(poll, broadcaster))
            if old != broadcaster:
                changed.append(key)
            self._reschedule(watch)
        for broadcaster in [*moved, *added]:
            await self.add(broadcaster)
        return ApplyResult(
            added=tuple(b.key for b in added), removed=tuple(removed), changed=tuple(changed)
        )

    def _platform_of(self, key: str) -> str:
        options: BroadcasterOptions = self.watches[key].options
        return options.platform

    def _reschedule(self, watch: Watch) -> None:
        clock = self._clock_of(watch)
        if watch.machine.state is WatchState.PAUSED or clock.next_due(watch.key) is None:
            return
        clock.schedule(watch.key, self._interval_of(watch), anyio.current_time())

    # -- reading

    def statistics(self) -> Mapping[str, WatchStatistics]:
        return {key: watch.statistics() for key, watch in self.watches.items()}

    def state_counts(self) -> Counter[WatchState]:
        """How many watches are in each state: the STATUS= line's figures every 2 s, without
        building 1,000 ``WatchStatistics`` (that was ~4 % of the daemon's polling CPU)."""
        return Counter(watch.machine.state for watch in self.watches.values())

    def recording_count(self) -> int:
        """Watches whose session's recorder is running (only sessions are asked)."""
        return sum(
            watch.session is not None and recorder_running(watch.session.health())
            for watch in self.watches.values()
        )

    def gate_statistics(self) -> Mapping[str, GateStatistics]:
        """Each platform's gate (by platform name, sorted)."""
        counts: dict[str, int] = {}
        for key in self.watches:
            counts[self._platform_of(key)] = counts.get(self._platform_of(key), 0) + 1
        return {p: self.gates[p].snapshot(counts.get(p, 0)) for p in sorted(self.gates)}

    def breaker_state(self, platform: str) -> str:
        """The platform's breaker state (``closed`` for a platform without watches)."""
        gate = self.gates.get(platform)
        return gate.statistics().state.value if gate is not None else "closed"

    def next_poll_ms(self, key: str) -> int | None:
        """When ``key`` is next polled (Unix ms), None while it has no poll time (paused)."""
        watch = self.watches.get(key)
        due = self._clock_of(watch).next_due(key) if watch is not None else None
        if due is None:
            return None
        return wall_ms(max(due, anyio.current_time()))
