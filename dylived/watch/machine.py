"""The pure state machine of one watched broadcaster: OFFLINE → LIVE → GRACE → OFFLINE.

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
``continue_session`` dates an opened session back (the watch continued the session a daemon
restart interrupted), so the runtime cap counts from its real start.

The I/O loop that feeds it and carries out its actions is ``Watch`` in ``watch/broadcaster.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dylived.model import ExitReason, LiveStatus, WatchState


__all__ = ["Action", "CloseSession", "OpenSession", "SampleSession", "WatchMachine"]


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

    def continue_session(self, now: float, age_s: float) -> None:
        """The session just opened continues one started ``age_s`` ago (a daemon restart):
        the runtime cap counts from its real start."""
        if self.session_open:
            self.session_started = now - max(0.0, age_s)

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
