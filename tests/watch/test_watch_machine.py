"""The pure OFFLINE → LIVE → GRACE → OFFLINE machine: each rule, driven by explicit times."""

from __future__ import annotations

from dylived.model import ExitReason, LiveStatus, WatchState
from dylived.watch.machine import CloseSession, OpenSession, SampleSession, WatchMachine


LIVE = LiveStatus(live=True, room_id="7001", title="hello")
LIVE_NEW_ROOM = LiveStatus(live=True, room_id="7002", title="again")
OFF = LiveStatus(live=False)


def state_of(m: WatchMachine) -> WatchState:
    return m.state  # a call, so mypy does not narrow the attribute between asserts


def machine(max_session: float | None = None) -> WatchMachine:
    return WatchMachine(grace=90, grace_recheck=15, max_session=max_session)


def test_live_opens_a_session_and_samples_while_live() -> None:
    m = machine()
    assert m.observe(0, OFF) == []
    assert state_of(m) is WatchState.OFFLINE
    assert m.observe(10, LIVE) == [OpenSession(LIVE)]
    assert state_of(m) is WatchState.LIVE
    assert m.observe(20, LIVE) == [SampleSession(LIVE)]


def test_flap_shorter_than_grace_keeps_the_session() -> None:
    m = machine()
    m.observe(0, LIVE)
    assert m.observe(100, OFF) == []
    assert state_of(m) is WatchState.GRACE
    assert m.recheck_due(115)
    assert m.next_deadline() == 115
    assert m.tick(150) == []
    assert m.observe(150, OFF) == []  # still within grace
    assert m.observe(160, LIVE_NEW_ROOM) == [SampleSession(LIVE_NEW_ROOM)]
    assert state_of(m) is WatchState.LIVE
    assert m.session_open
    assert m.next_deadline() is None


def test_offline_past_grace_closes_with_stream_ended() -> None:
    m = machine()
    m.observe(0, LIVE)
    m.observe(100, OFF)
    assert m.tick(189) == []
    assert m.tick(190) == [CloseSession(ExitReason.STREAM_ENDED)]
    assert state_of(m) is WatchState.OFFLINE
    assert not m.session_open
    # an offline check after grace also closes it
    m2 = machine()
    m2.observe(0, LIVE)
    m2.observe(100, OFF)
    assert m2.observe(200, OFF) == [CloseSession(ExitReason.STREAM_ENDED)]


def test_grace_without_a_successful_check_keeps_the_session_until_one_says_offline() -> None:
    # A component hinted that the stream stopped; then the breaker paused every check (or they
    # failed) for longer than grace: nothing said offline, so the session must not be closed.
    m = machine()
    m.observe(0, LIVE)
    assert m.stream_may_have_ended(100) is True
    assert m.tick(190) == []
    assert m.tick(500) == []
    assert state_of(m) is WatchState.GRACE
    assert m.session_open
    assert m.next_deadline() == 115  # the re-checks go on (recheck_done moves it along)
    m.recheck_done(500)
    assert m.next_deadline() == 515
    assert m.observe(520, OFF) == [CloseSession(ExitReason.STREAM_ENDED)]
    assert state_of(m) is WatchState.OFFLINE
    # ... or the first successful check says live again: the same session goes on
    m2 = machine()
    m2.observe(0, LIVE)
    m2.stream_may_have_ended(100)
    assert m2.tick(400) == []
    assert m2.observe(410, LIVE) == [SampleSession(LIVE)]
    assert state_of(m2) is WatchState.LIVE


def test_new_room_while_live_closes_old_and_opens_new() -> None:
    m = machine()
    m.observe(0, LIVE)
    actions = m.observe(120, LIVE_NEW_ROOM)
    assert actions == [CloseSession(ExitReason.STREAM_ENDED), OpenSession(LIVE_NEW_ROOM)]
    assert m.session_room == "7002"


def test_runtime_cap_closes_and_does_not_reopen_same_broadcast() -> None:
    m = machine(max_session=600)
    m.observe(0, LIVE)
    assert m.next_deadline() == 600
    assert m.tick(599) == []
    assert m.tick(600) == [CloseSession(ExitReason.RUNTIME_CAP)]
    assert state_of(m) is WatchState.LIVE
    assert m.observe(700, LIVE) == []  # same room: capped
    assert m.observe(800, LIVE_NEW_ROOM) == [OpenSession(LIVE_NEW_ROOM)]


def test_capped_broadcast_ends_then_next_one_opens() -> None:
    m = machine(max_session=10)
    m.observe(0, LIVE)
    m.tick(10)
    assert m.observe(20, OFF) == []
    assert state_of(m) is WatchState.OFFLINE
    assert m.observe(30, LIVE) == [OpenSession(LIVE)]


def test_hint_enters_grace_and_wants_a_recheck() -> None:
    m = machine()
    assert m.stream_may_have_ended(0) is False  # nothing open
    m.observe(0, LIVE)
    assert m.stream_may_have_ended(50) is True
    assert state_of(m) is WatchState.GRACE
    assert m.observe(51, LIVE) == [SampleSession(LIVE)]


def test_component_end_closes_and_blocks_reopen_of_that_broadcast() -> None:
    m = machine()
    m.observe(0, LIVE)
    assert m.end_session(ExitReason.RECORDER_FAILED) == [CloseSession(ExitReason.RECORDER_FAILED)]
    assert m.end_session(ExitReason.RECORDER_FAILED) == []
    assert m.observe(10, LIVE) == []
    m.allow_reopen()
    assert m.observe(20, LIVE) == [OpenSession(LIVE)]


def test_end_during_grace_goes_offline() -> None:
    m = machine()
    m.observe(0, LIVE)
    m.observe(10, OFF)
    assert m.end_session(ExitReason.DISK_FULL, reopen=True) == [CloseSession(ExitReason.DISK_FULL)]
    assert state_of(m) is WatchState.OFFLINE
    assert m.observe(20, LIVE) == [OpenSession(LIVE)]


def test_pause_closes_and_ignores_until_resumed() -> None:
    m = machine()
    m.observe(0, LIVE)
    assert m.pause() == [CloseSession(ExitReason.DAEMON_STOPPED)]
    assert m.pause() == []
    assert state_of(m) is WatchState.PAUSED
    assert m.observe(10, LIVE) == []
    m.resume()
    assert state_of(m) is WatchState.OFFLINE
    assert m.observe(20, LIVE) == [OpenSession(LIVE)]


def test_recheck_schedule_during_grace() -> None:
    m = machine()
    m.observe(0, LIVE)
    m.observe(10, OFF)
    assert not m.recheck_due(24)
    assert m.recheck_due(25)
    m.recheck_done(25)
    assert m.next_recheck == 40


def test_a_session_continued_after_a_restart_keeps_its_runtime_cap_from_its_real_start() -> None:
    m = machine(max_session=600)
    assert m.observe(1000, LIVE) == [OpenSession(LIVE)]
    m.continue_session(1000, age_s=500)  # the session began 500 s before this daemon started
    assert m.next_deadline() == 1100
    assert m.tick(1099) == []
    assert m.tick(1100) == [CloseSession(ExitReason.RUNTIME_CAP)]
    assert m.observe(1110, LIVE) == []  # that broadcast is not reopened


def test_continue_session_changes_nothing_without_an_open_session() -> None:
    m = machine(max_session=600)
    m.continue_session(0, age_s=500)
    assert m.next_deadline() is None
    assert m.observe(10, LIVE) == [OpenSession(LIVE)]
    assert m.next_deadline() == 610
