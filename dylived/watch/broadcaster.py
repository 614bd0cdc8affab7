"""One watched broadcaster: the Watch loop that drives its WatchMachine and LiveSession.

Three layers, from pure to I/O:

``WatchMachine`` (pure, in ``machine.py``) decides: it turns observations, deadlines,
hints and commands into ``OpenSession`` / ``SampleSession`` / ``CloseSession`` actions (the
rules are in that module's docstring).

``LiveSession`` (I/O, in ``session.py``) is the task group of one broadcast. It opens the
store session, runs its components, and closes the store session with the end reason
(shielded, bounded) however it ends. **The seam for capture and recorder**: a component is
any object with

    name: str
    async def run(self, ctx: SessionContext, *, task_status: TaskStatus[None]) -> None
    def health(self) -> ComponentHealth

``run`` calls ``task_status.started()`` once it is up, then works until cancelled (the session
ended) or until it returns (its work is done). It talks back through ``ctx``:
``ctx.latest_status`` / ``await ctx.wait_status_after(version)`` (the status of every re-check,
with fresh stream URLs), ``ctx.stream_may_have_ended()`` (a hint: ControlMessage status 3,
ffmpeg saw EOF; the watch enters GRACE and re-checks at once), and
``ctx.end_session(reason)`` (an end the component is sure of: ``recorder_failed``,
``disconnect_unrecoverable``, ``disk_full``). ``health()`` is cheap and sync; the daemon puts it
in ``status`` (a component named ``"recorder"`` in state ``"running"`` counts as recording,
one named ``"capture"`` feeds the capture block). Components are made per session by factories
``(SessionContext) -> SessionComponent | None`` (None: not wanted for this broadcaster). A
component that raises is logged, marked failed, and the session goes on without it. Today's
only component is ``StatusSampler``, which stores each status sample of the session.

``Watch`` (I/O) runs the loop of one broadcaster: it waits for a poll request (from the
APScheduler job, via ``request_poll``), a deadline of the machine, or a hint, then checks the
status through the injected ``check`` (which applies the platform budget and breaker), feeds the
machine, and carries out its actions. Errors put the broadcaster in an exponential cooldown;
a failed check (blocked, restricted, uncertain) is never taken for "offline", so an open
session stays open through it. A live status with ``paused`` (the
broadcaster paused) is live: the session and its recording go on.

**Across daemon restarts** one broadcast stays one session. At start the store hands the watch
its broadcaster's newest session when the last daemon stop (SIGTERM) or crash ended it
(``daemon_stopped``); the watch then checks at once instead of waiting for its staggered poll.
If that first successful check finds the same room (``room_id``) live, and the session ended
less than ``grace`` ago, the session is reopened and continued, as after a flap: the recorder
continues its seq and file numbers and the capture its counters, and the downtime becomes a
``media`` and an ``events`` gap (cause ``daemon_restart``) from where each left off to where it
resumes. Otherwise (offline, another room, longer ago) it stays closed as ``daemon_stopped`` at
its last activity and a live room opens a new session.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc

from dylived.app.logs import broadcaster_logger
from dylived.errors import (
    DylivedError,
    RestrictedRoom,
    RiskControl,
    RoomNotFound,
    StatusUncertain,
)
from dylived.model import ExitReason, LiveStatus, WatchState
from dylived.store.ops import ResumedSession, StoppedSession
from dylived.watch.gates import ErrorCooldown
from dylived.watch.machine import Action, OpenSession, SampleSession, WatchMachine
from dylived.watch.session import (
    SESSION_CLOSE_TIMEOUT,
    ComponentFactory,
    ComponentHealth,
    LiveSession,
    SessionComponent,
    SessionContext,
    SessionStore,
    StatusSampler,
    wall_ms,
)


__all__ = [
    "ComponentFactory",
    "ComponentHealth",
    "LiveSession",
    "SessionComponent",
    "SessionContext",
    "SessionStore",
    "StatusSampler",
    "Watch",
    "WatchMachine",
    "wall_ms",
]

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- the watch loop


class CheckSkipped(DylivedError):
    """The platform is paused by its circuit breaker; this check was not made (not an error)."""


class CheckResult(enum.StrEnum):
    LIVE = "live"
    LIVE_PAUSED = "live_paused"  # live, paused by the broadcaster: the session goes on
    OFFLINE = "offline"
    PAUSED = "paused"  # breaker open: no request made
    RISK_CONTROL = "risk_control"
    NOT_FOUND = "not_found"
    RESTRICTED = "restricted"  # a restricted room: the error says which cookie to configure
    UNCERTAIN = "uncertain"  # an answer that proves nothing (not the end of a session)
    ERROR = "error"


def _result_of(status: LiveStatus) -> CheckResult:
    if not status.live:
        return CheckResult.OFFLINE
    return CheckResult.LIVE_PAUSED if status.paused else CheckResult.LIVE


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """The timing of one watch, from [poll] and the broadcaster's overrides (seconds)."""

    grace: float
    max_session: float | None
    error_backoff_base: float
    error_backoff_max: float

    @property
    def grace_recheck(self) -> float:
        return max(0.2, min(self.grace / 6, 10.0))


@dataclass(frozen=True, slots=True)
class WatchStatistics:
    key: str
    state: WatchState
    state_since_ms: int
    last_check_ms: int | None
    last_check_result: str | None
    last_error: tuple[str, int] | None  # (message, at_ms)
    checks: int
    errors: int
    session_id: int | None
    last_live: LiveStatus | None
    components: Mapping[str, ComponentHealth]
    record_override: bool | None


def recorder_running(components: Mapping[str, ComponentHealth]) -> bool:
    """Whether a session's health says its recorder is writing video."""
    recorder = components.get("recorder")
    return recorder is not None and recorder.state == "running"


StatusCheck = Callable[[], Awaitable[LiveStatus]]
StateListener = Callable[["Watch", WatchState, WatchState], None]


class Watch:
    """The loop of one broadcaster (see the module docstring)."""

    def __init__(
        self,
        key: str,
        options: Any,
        settings: WatchSettings,
        check: StatusCheck,
        store: SessionStore,
        factories: Sequence[ComponentFactory],
        on_state_change: StateListener | None = None,
    ) -> None:
        self.key = key
        self.options = options
        self.settings = settings
        self._check = check
        self._store = store
        self._factories = factories
        self._on_state_change = on_state_change
        self.machine = WatchMachine(settings.grace, settings.grace_recheck, settings.max_session)
        self.cooldown = ErrorCooldown(settings.error_backoff_base, settings.error_backoff_max)
        self.session: LiveSession | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._wake = anyio.Event()
        self._poll_requested = False
        self._recheck_now = False
        self._session_end: ExitReason | None = None
        self._lock = anyio.Lock()
        self._state_since_ms = wall_ms()
        self._last_check_ms: int | None = None
        self._last_result: CheckResult | None = None
        self._last_error: tuple[str, int] | None = None
        self._checks = 0
        self._errors = 0
        # the session a daemon stop or crash interrupted, until the first successful check
        self._stopped: StoppedSession | None = None
        self.log = broadcaster_logger(key, logger=logger)

    # -- requests from outside (sync, safe from an APScheduler job on the same loop)

    def request_poll(self) -> None:
        self._poll_requested = True
        self._wake.set()

    def hint_stream_may_have_ended(self) -> None:
        if self.machine.stream_may_have_ended(anyio.current_time()):
            self._recheck_now = True
        self._wake.set()

    def request_session_end(self, reason: ExitReason) -> None:
        self._session_end = reason
        self._wake.set()

    # -- commands (async: they wait until carried out)

    async def pause(self) -> None:
        async with self._lock:
            await self._apply(self.machine.pause())
            self._notify_state()

    async def resume(self) -> None:
        async with self._lock:
            self.machine.resume()
            self._notify_state()
        self.request_poll()

    def update(self, options: Any, settings: WatchSettings) -> None:
        """New options from a reload; a running session keeps going."""
        self.options = options
        self.settings = settings
        self.machine.grace = settings.grace
        self.machine.grace_recheck = settings.grace_recheck
        self.machine.max_session = settings.max_session
        self.cooldown.base = settings.error_backoff_base
        self.cooldown.maximum = settings.error_backoff_max
        self._wake.set()

    def set_record_override(self, record: bool | None) -> bool:
        """``record start|stop``: tell the session's recorder; False when no session is open."""
        if self.session is None:
            return False
        self.session.ctx.record_override = record
        return True

    # -- the loop

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Watch until cancelled. Cancel safety: an open session is closed as daemon_stopped."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._stopped = self._store.take_stopped_session(self.key)
            if self._stopped is not None:
                self.request_poll()  # decide about it now, not after the staggered first poll
            task_status.started()
            while True:
                await self._wait_for_work()
                async with self._lock:
                    await self._step()

    async def _wait_for_work(self) -> None:
        if self._poll_requested or self._recheck_now or self._session_end:
            return
        deadline = self.machine.next_deadline()
        timeout = math.inf if deadline is None else max(0.0, deadline - anyio.current_time())
        with anyio.move_on_after(timeout):
            await self._wake.wait()
        self._wake = anyio.Event()

    async def _step(self) -> None:
        now = anyio.current_time()
        if self._session_end is not None:
            reason, self._session_end = self._session_end, None
            await self._apply(self.machine.end_session(reason))
        await self._apply(self.machine.tick(now))
        grace_recheck = self.machine.recheck_due(now) or self._recheck_now
        polled, self._poll_requested, self._recheck_now = self._poll_requested, False, False
        if self.machine.state is WatchState.PAUSED:
            return
        if grace_recheck or (polled and self.cooldown.ready(now)):
            await self._check_once()
        self._notify_state()

    async def _check_once(self) -> None:
        self._checks += 1
        try:
            status = await self._check()
        except CheckSkipped:
            self._last_result = CheckResult.PAUSED
            self.machine.recheck_done(anyio.current_time())
            return
        except DylivedError as exc:
            await self._check_failed(exc)
            return
        finally:
            self._last_check_ms = wall_ms()
        now = anyio.current_time()
        self.cooldown.record_success()
        self._last_result = _result_of(status)
        before = self.machine.state
        actions = self.machine.observe(now, status)
        self.machine.recheck_done(now)
        if before is not self.machine.state and not self.session:
            await self._store.record_status(self.key, None, status, self._last_result, wall_ms())
        try:
            await self._apply(actions)
        finally:
            self._stopped = None  # the first successful check after start has decided

    async def _check_failed(self, exc: DylivedError) -> None:
        now = anyio.current_time()
        self._errors += 1
        self._last_error = (f"{type(exc).__name__}: {exc}", wall_ms())
        retry_after = exc.retry_after if isinstance(exc, RiskControl) else None
        delay = self.cooldown.record_failure(now, at_least=retry_after or 0.0)
        self.machine.recheck_done(now)
        if isinstance(exc, RiskControl):
            self._last_result = CheckResult.RISK_CONTROL
        elif isinstance(exc, RestrictedRoom):
            self._last_result = CheckResult.RESTRICTED
        elif isinstance(exc, StatusUncertain):
            self._last_result = CheckResult.UNCERTAIN
        elif isinstance(exc, RoomNotFound):
            self._last_result = CheckResult.NOT_FOUND
        else:
            self._last_result = CheckResult.ERROR
        self.log.warning("status check failed (%s); next check in %.0f s or later", exc, delay)

    async def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, OpenSession):
                await self._open_session(action.status)
            elif isinstance(action, SampleSession):
                if self.session is not None:
                    self.session.ctx.publish_status(action.status)
            else:
                await self._close_session(action.reason)

    async def _open_session(self, status: LiveStatus) -> None:
        assert self._tg is not None
        resumed = await self._resume(status)
        started_ms = resumed.started_at_ms if resumed is not None else wall_ms()
        ctx = SessionContext(self.key, self.options, status, self._store, started_ms, self, resumed)
        session = LiveSession(ctx, self._factories)
        self.session = session
        self.log.room = status.room_id
        session_id = await self._tg.start(session.run)
        if resumed is None:
            self.log.info("went live: session %d opened (title %r)", session_id, status.title)
            return
        self.machine.continue_session(anyio.current_time(), (wall_ms() - started_ms) / 1000)
        self.log.info(
            "still live after a daemon restart: session %d continues (%.1f s since it stopped)",
            session_id,
            (wall_ms() - resumed.ended_at_ms) / 1000,
        )

    async def _resume(self, status: LiveStatus) -> ResumedSession | None:
        """Reopen the session a daemon restart interrupted, when this is still its broadcast."""
        stopped, self._stopped = self._stopped, None
        if stopped is None or not status.room_id or status.room_id != stopped.room_id:
            return None
        not_before = wall_ms() - round(self.settings.grace * 1000)
        return await self._store.resume_session(self.key, status.room_id, not_before)

    async def _close_session(self, reason: ExitReason) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        session.end(reason)
        with anyio.move_on_after(SESSION_CLOSE_TIMEOUT, shield=True):
            await session.finished.wait()
        self.log.info("session %d closed: %s", session.ctx.session_id, reason.value)
        self.log.room = None

    def _notify_state(self) -> None:
        new = self.machine.state
        old = getattr(self, "_reported_state", WatchState.OFFLINE)
        if new is not old:
            self._reported_state = new
            self._state_since_ms = wall_ms()
            if self._on_state_change is not None:
                self._on_state_change(self, old, new)

    def statistics(self) -> WatchStatistics:
        session = self.session
        return WatchStatistics(
            key=self.key,
            state=self.machine.state,
            state_since_ms=self._state_since_ms,
            last_check_ms=self._last_check_ms,
            last_check_result=None if self._last_result is None else self._last_result.value,
            last_error=self._last_error,
            checks=self._checks,
            errors=self._errors,
            session_id=session.ctx.session_id if session else None,
            last_live=self.machine.last_live,
            components=session.health() if session else {},
            record_override=session.ctx.record_override if session else None,
        )
