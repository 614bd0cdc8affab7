"""One watched broadcaster: the OFFLINE → LIVE → GRACE → OFFLINE machine and its LiveSession.

Three layers, from pure to I/O:

``WatchMachine`` (pure; the caller passes monotonic ``now``) decides. It takes observations
(``observe(now, status)``), deadlines (``tick(now)``), hints from the session
(``stream_may_have_ended``), and commands (``pause``, ``resume``, ``end_session``) and returns
``Action`` values: ``OpenSession``, ``SampleSession`` (a status seen while a session is open),
``CloseSession(reason)``. Rules: live while OFFLINE opens a session; not-live while LIVE enters
GRACE, which re-checks at once and every ``grace_recheck`` seconds until ``grace`` has passed:
live again means the same session continues (a flap), otherwise the session closes with
``stream_ended``. A session older than ``max_session`` closes with ``runtime_cap`` and that
broadcast (room id) is not reopened. A live room id different from the session's while LIVE
(the broadcaster restarted between two checks) closes the old session and opens a new one.

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
machine, and carries out its actions. Errors put the broadcaster in an exponential cooldown.
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

from dylived.budget import ErrorCooldown
from dylived.errors import DylivedError, RiskControl, RoomNotFound
from dylived.logs import broadcaster_logger
from dylived.model import ExitReason, LiveStatus, WatchState
from dylived.session import (
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

# ----------------------------------------------------------------------------- the pure machine


@dataclass(frozen=True, slots=True)
class OpenSession:
    status: LiveStatus


@dataclass(frozen=True, slots=True)
class SampleSession:
    status: LiveStatus


@dataclass(frozen=True, slots=True)
class CloseSession:
    reason: ExitReason


Action = OpenSession | SampleSession | CloseSession


class WatchMachine:
    """The state of one broadcaster and what to do about each observation; pure.

    Args:
        grace: seconds a dropped stream is re-checked before its session closes.
        grace_recheck: seconds between re-checks during GRACE.
        max_session: seconds after which a session closes with ``runtime_cap`` (None: never).
    """

    def __init__(self, grace: float, grace_recheck: float, max_session: float | None) -> None:
        self.grace = grace
        self.grace_recheck = grace_recheck
        self.max_session = max_session
        self.state = WatchState.OFFLINE
        self.session_open = False
        self.session_room: str | None = None
        self.session_started: float | None = None
        self.grace_until: float | None = None
        self.next_recheck: float | None = None
        # Whether a check has said offline since GRACE began: the window's end closes the
        # session only then (a breaker pause or failing checks prove nothing).
        self.offline_confirmed = False
        self.last_live: LiveStatus | None = None
        self._no_reopen_room: str | None = None  # a broadcast we were told not to reopen
        self._paused_from: WatchState | None = None

    # -- observations

    def observe(self, now: float, status: LiveStatus) -> list[Action]:
        """A status check came back; what follows from it."""
        if self.state is WatchState.PAUSED:
            return []
        if status.live:
            self.last_live = status
            return self._seen_live(now, status)
        return self._seen_offline(now)

    def _seen_live(self, now: float, status: LiveStatus) -> list[Action]:
        if self.state is WatchState.GRACE:  # a flap: the same session continues
            self.state = WatchState.LIVE
            self.grace_until = self.next_recheck = None
            if self.session_open:
                self.session_room = status.room_id or self.session_room
                return [SampleSession(status)]
        if self.session_open:
            if status.room_id and self.session_room and status.room_id != self.session_room:
                # A new broadcast began between two checks: close the old one, open the new.
                return [CloseSession(ExitReason.STREAM_ENDED), *self._open(now, status)]
            return [SampleSession(status)]
        self.state = WatchState.LIVE
        if status.room_id is not None and status.room_id == self._no_reopen_room:
            return []
        return self._open(now, status)

    def _open(self, now: float, status: LiveStatus) -> list[Action]:
        self.state = WatchState.LIVE
        self.session_open = True
        self.session_room = status.room_id
        self.session_started = now
        self._no_reopen_room = None
        return [OpenSession(status)]

    def _seen_offline(self, now: float) -> list[Action]:
        if self.state is WatchState.LIVE and self.session_open:
            self._enter_grace(now, offline_seen=True)
            return []
        if self.state is WatchState.GRACE:
            self.offline_confirmed = True
            return self.tick(now)
        self.state = WatchState.OFFLINE
        self._no_reopen_room = None
        return []

    def _enter_grace(self, now: float, *, offline_seen: bool) -> None:
        self.state = WatchState.GRACE
        self.grace_until = now + self.grace
        self.next_recheck = now + self.grace_recheck
        self.offline_confirmed = offline_seen

    def stream_may_have_ended(self, now: float) -> bool:
        """A session component saw the stream stop; True when a re-check is wanted now."""
        if self.state is WatchState.LIVE and self.session_open:
            self._enter_grace(now, offline_seen=False)
            return True
        return self.state is WatchState.GRACE

    def recheck_done(self, now: float) -> None:
        """A GRACE re-check was made (whatever its result): schedule the next one."""
        if self.state is WatchState.GRACE:
            self.next_recheck = now + self.grace_recheck

    # -- deadlines

    def tick(self, now: float) -> list[Action]:
        """Deadlines that passed: the end of GRACE, the session's runtime cap.

        GRACE ends the session only once the window is over *and* a check has said offline;
        until a check succeeds (breaker open, errors) the session stays open in GRACE, with
        ``grace_until`` cleared so the re-checks alone set the pace.
        """
        if self.state is WatchState.GRACE and (self.grace_until is None or now >= self.grace_until):
            self.grace_until = None
            if self.offline_confirmed:
                self.state = WatchState.OFFLINE
                self.next_recheck = None
                return self._close(ExitReason.STREAM_ENDED)
        if (
            self.session_open
            and self.max_session is not None
            and self.session_started is not None
            and now >= self.session_started + self.max_session
        ):
            self._no_reopen_room = self.session_room
            return self._close(ExitReason.RUNTIME_CAP)
        return []

    def next_deadline(self) -> float | None:
        """The earliest monotonic time at which ``tick`` or a GRACE re-check has work."""
        times = [t for t in (self.grace_until, self.next_recheck) if t is not None]
        if self.session_open and self.max_session is not None and self.session_started is not None:
            times.append(self.session_started + self.max_session)
        return min(times) if times else None

    def recheck_due(self, now: float) -> bool:
        return self.next_recheck is not None and now >= self.next_recheck

    # -- commands

    def end_session(self, reason: ExitReason, *, reopen: bool = False) -> list[Action]:
        """End the open session (a component or the operator decided); this broadcast is not
        reopened unless ``reopen``."""
        if not self.session_open:
            return []
        if not reopen:
            self._no_reopen_room = self.session_room
        if self.state is WatchState.GRACE:
            self.state = WatchState.OFFLINE
            self.grace_until = self.next_recheck = None
        return self._close(reason)

    def allow_reopen(self) -> None:
        """Forget a broadcast we were told not to reopen (``record start`` by the operator)."""
        self._no_reopen_room = None

    def pause(self) -> list[Action]:
        if self.state is WatchState.PAUSED:
            return []
        actions = self._close(ExitReason.DAEMON_STOPPED) if self.session_open else []
        self.state = WatchState.PAUSED
        self.grace_until = self.next_recheck = None
        return actions

    def resume(self) -> None:
        if self.state is WatchState.PAUSED:
            self.state = WatchState.OFFLINE
            self._no_reopen_room = None

    def _close(self, reason: ExitReason) -> list[Action]:
        self.session_open = False
        self.session_room = None
        self.session_started = None
        return [CloseSession(reason)]


# ----------------------------------------------------------------------------- the watch loop


class CheckSkipped(DylivedError):
    """The platform is paused by its circuit breaker; this check was not made (not an error)."""


class CheckResult(enum.StrEnum):
    LIVE = "live"
    OFFLINE = "offline"
    PAUSED = "paused"  # breaker open: no request made
    RISK_CONTROL = "risk_control"
    NOT_FOUND = "not_found"
    ERROR = "error"


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
        self._last_result = CheckResult.LIVE if status.live else CheckResult.OFFLINE
        before = self.machine.state
        actions = self.machine.observe(now, status)
        self.machine.recheck_done(now)
        if before is not self.machine.state and not self.session:
            await self._store.record_status(self.key, None, status, self._last_result, wall_ms())
        await self._apply(actions)

    async def _check_failed(self, exc: DylivedError) -> None:
        now = anyio.current_time()
        self._errors += 1
        self._last_error = (f"{type(exc).__name__}: {exc}", wall_ms())
        retry_after = exc.retry_after if isinstance(exc, RiskControl) else None
        delay = self.cooldown.record_failure(now, at_least=retry_after or 0.0)
        self.machine.recheck_done(now)
        if isinstance(exc, RiskControl):
            self._last_result = CheckResult.RISK_CONTROL
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
        ctx = SessionContext(self.key, self.options, status, self._store, wall_ms(), self)
        session = LiveSession(ctx, self._factories)
        self.session = session
        self.log.room = status.room_id
        session_id = await self._tg.start(session.run)
        self.log.info("went live: session %d opened (title %r)", session_id, status.title)

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
