"""The watchlist: one Watch per broadcaster, their APScheduler poll jobs, the platform gate.

APScheduler 3.11's ``AsyncIOScheduler`` only *triggers* polls (ecosystem.md §3, §8.6): one
interval job per broadcaster, ``id="poll:<key>"``, ``IntervalTrigger(jitter=…)``, first runs
staggered over one interval, ``max_instances=1``, ``coalesce=True``, an explicit
``misfire_grace_time``, ``replace_existing=True``. A job does nothing but ``watch.request_poll()``
(a flag and an event on the same loop); the check itself, the session and everything long-lived
run in anyio task groups under ``Watchlist.run``, never inside a job. Because a job is that
small it runs inline on the loop (APScheduler's ``DebugExecutor``: no asyncio task per run), and
the scheduler's timer (``BatchingScheduler``) wakes on a grid of ``tick`` seconds, processing
every job due by then, instead of once per jittered job time through a self-pipe: a thousand
broadcasters cost a few wake-ups a second, and a poll starts at most ``tick`` late.

While a broadcaster is LIVE its job is rescheduled to ``live_interval``; while PAUSED the job is
paused. Every status request of a platform goes through its ``PlatformGate``: the circuit
breaker first (paused → ``CheckSkipped``, no request), then the request budget (max in flight,
min spacing); a ``RiskControl`` answer opens the breaker (WARNING in the log, ``breaker`` in
status), the probe after the pause closes it again (logged).

``apply`` takes a new validated config and applies it as a diff: added broadcasters start
watching at once, removed ones stop (their session closes as ``daemon_stopped``), changed ones
get their new options without disturbing a live session; unchanged ones are not touched.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import anyio.abc
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from dylived.budget import BreakerStatistics, CircuitBreaker, RequestBudget
from dylived.errors import RiskControl
from dylived.model import LiveStatus, WatchState
from dylived.platforms.douyin import DouyinPlatform, ResolvedTarget
from dylived.watch import (
    CheckSkipped,
    ComponentFactory,
    SessionStore,
    Watch,
    WatchSettings,
    WatchStatistics,
)


logger = logging.getLogger(__name__)

SCHEDULER_TICK = 0.5  # seconds: the grid on which the poll scheduler wakes


class BatchingScheduler(AsyncIOScheduler):  # type: ignore[misc]  # untyped library class
    """``AsyncIOScheduler`` whose timer runs on the loop and wakes on a grid of ``tick`` s.

    APScheduler's own timer calls ``wakeup``, which re-enters through ``call_soon_threadsafe``
    (a self-pipe write and one more loop pass) and is set for the next job's exact time. This
    one processes due jobs directly in the timer callback and rounds the next wake-up up to the
    grid, so jobs due close together are run in one pass. Overrides ``_start_timer``, the one
    hook APScheduler 3.x gives its schedulers for this (pinned ``apscheduler<4``).
    """

    def __init__(self, *, tick: float = SCHEDULER_TICK, **options: Any) -> None:
        super().__init__(**options)
        self.tick = tick
        self.timer_passes = 0  # how many times the timer processed jobs (statistics, tests)

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None:
            loop = self._eventloop
            now = loop.time()
            due = now + max(0.0, wait_seconds)
            at = math.ceil(due / self.tick) * self.tick if self.tick > 0 else due
            self._timeout = loop.call_at(at, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timeout = None
        self.timer_passes += 1
        self._start_timer(self._process_jobs())


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
    def enabled(self) -> bool: ...
    @property
    def interval(self) -> float: ...
    @property
    def max_session_minutes(self) -> float: ...


StatusFetcher = Callable[[BroadcasterOptions], Awaitable[LiveStatus]]


class StatusSource:
    """Resolves each broadcaster's target once (again when it changes), then asks its status."""

    def __init__(self, platform: DouyinPlatform) -> None:
        self._platform = platform
        self._resolved: dict[str, tuple[str, ResolvedTarget]] = {}

    async def fetch(self, broadcaster: BroadcasterOptions) -> LiveStatus:
        b: Any = broadcaster  # config.BroadcasterConfig: target_text is the target as written
        cached = self._resolved.get(b.key)
        if cached is None or cached[0] != b.target_text:
            cached = (b.target_text, await self._platform.resolve(b.target_text))
            self._resolved[b.key] = cached
        return await self._platform.fetch_status(cached[1])


class PlatformGate:
    """Breaker + budget in front of one platform's status requests."""

    def __init__(self, platform: str, poll: PollOptions) -> None:
        self.platform = platform
        self.budget = RequestBudget(poll.max_concurrent, poll.min_spacing)
        self.breaker = CircuitBreaker(poll.breaker_pause, poll.breaker_pause_max)
        self.risk_signals = 0

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

    def statistics(self) -> BreakerStatistics:
        return self.breaker.statistics(anyio.current_time())


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
    """Owns the watches, their poll jobs and the platform gate (see the module docstring).

    Args:
        poll: the [poll] options.
        broadcasters: the enabled and disabled broadcasters of the config.
        fetch_status: makes one status request for a broadcaster (the platform adapter).
        store: the session writes.
        factories: session components made for each live session.
        paused: keys that start paused (the overrides state file).
        tick: the poll scheduler's wake-up grid in seconds (a poll starts at most this late).
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
    ) -> None:
        self.poll = poll
        self._initial = list(broadcasters)
        self._fetch_status = fetch_status
        self._store = store
        self._factories = factories
        self._initially_paused = paused
        self.gate = PlatformGate("douyin", poll)
        self.watches: dict[str, Watch] = {}
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._done: dict[str, anyio.Event] = {}
        self._scheduler: BatchingScheduler | None = None
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
        scheduler = BatchingScheduler(
            tick=self._tick,
            timezone=dt.UTC,
            job_defaults={"coalesce": True, "max_instances": 1},
            executors={"default": DebugExecutor()},  # jobs only set a flag: run them inline
        )
        self._scheduler = scheduler
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

    async def _add(self, broadcaster: BroadcasterOptions, first_run_in: float) -> None:
        assert self._tg is not None
        assert self._scheduler is not None
        key = broadcaster.key

        async def fetch() -> LiveStatus:
            watch = self.watches[key]
            return await self.gate.check(lambda: self._fetch_status(watch.options))

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
        first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=first_run_in)
        self._scheduler.add_job(
            self._poll_job,
            trigger=self._trigger(broadcaster.interval),
            args=(key,),
            id=f"poll:{key}",
            name=f"poll {key}",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(broadcaster.interval)),
            next_run_time=first,
        )

    def _trigger(self, interval: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=interval, jitter=self.poll.jitter or None, timezone=dt.UTC)

    async def _run_watch(self, watch: Watch, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            with anyio.CancelScope() as scope:
                self._scopes[watch.key] = scope
                await watch.run(task_status=task_status)
        finally:
            self._done[watch.key].set()

    def _poll_job(self, key: str) -> None:
        # Run inline by APScheduler's timer on the loop: only hand over, never do work.
        watch = self.watches.get(key)
        if watch is not None:
            watch.request_poll()

    def _state_changed(self, watch: Watch, old: WatchState, new: WatchState) -> None:
        scheduler = self._scheduler
        job_id = f"poll:{watch.key}"
        if scheduler is None or scheduler.get_job(job_id) is None:
            return
        if new is WatchState.PAUSED:
            scheduler.pause_job(job_id)
            return
        if old is WatchState.PAUSED:
            scheduler.resume_job(job_id)
        options: BroadcasterOptions = watch.options
        if new is WatchState.LIVE and old is WatchState.OFFLINE:
            scheduler.reschedule_job(job_id, trigger=self._trigger(self.poll.live_interval))
        elif new is WatchState.OFFLINE and old is not WatchState.PAUSED:
            scheduler.reschedule_job(job_id, trigger=self._trigger(options.interval))

    # -- commands

    async def remove(self, key: str) -> None:
        """Stop watching ``key``; returns once its session (if any) is closed."""
        if self._scheduler is not None and self._scheduler.get_job(f"poll:{key}") is not None:
            self._scheduler.remove_job(f"poll:{key}")
        scope = self._scopes.pop(key, None)
        done = self._done.get(key)
        if scope is not None:
            scope.cancel()
        if done is not None:
            with anyio.CancelScope(shield=True):
                await done.wait()
        self.watches.pop(key, None)
        self._done.pop(key, None)

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
        added = [b for k, b in wanted.items() if k not in self.watches]
        changed: list[str] = []
        poll_changed = poll != self.poll
        self.poll = poll
        self.gate.reconfigure(poll)
        for key in removed:
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
        for broadcaster in added:
            await self.add(broadcaster)
        return ApplyResult(
            added=tuple(b.key for b in added), removed=tuple(removed), changed=tuple(changed)
        )

    def _reschedule(self, watch: Watch) -> None:
        scheduler = self._scheduler
        job_id = f"poll:{watch.key}"
        if scheduler is None or scheduler.get_job(job_id) is None:
            return
        state = watch.machine.state
        if state is WatchState.PAUSED:
            return
        options: BroadcasterOptions = watch.options
        interval = self.poll.live_interval if state is WatchState.LIVE else options.interval
        scheduler.reschedule_job(job_id, trigger=self._trigger(interval))

    # -- reading

    def statistics(self) -> Mapping[str, WatchStatistics]:
        return {key: watch.statistics() for key, watch in self.watches.items()}

    def next_poll_ms(self, key: str) -> int | None:
        job = None if self._scheduler is None else self._scheduler.get_job(f"poll:{key}")
        if job is None or job.next_run_time is None:
            return None
        return int(job.next_run_time.timestamp() * 1000)
