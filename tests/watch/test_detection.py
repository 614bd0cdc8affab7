"""Live detection, flaps, grace, the breaker and Retry-After: the watchlist against the simulator.

In-process (real platform adapter, real HTTP on loopback, real SQLite writer) so the timing is
observable; the daemon subprocess tests cover the lifecycle around it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import anyio
import pytest

from dylived.model import WatchState
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.watch.harness import watching


WEB_RID = "200000000001"
ONE = f'[[broadcaster]]\ntarget = "{WEB_RID}"\nname = "alice"\n'


def state(h_watchlist: object, key: str = "alice") -> WatchState:
    return h_watchlist.watches[key].machine.state  # type: ignore[attr-defined,no-any-return]


@pytest.mark.anyio
@pytest.mark.slow
async def test_detects_live_keeps_a_flap_and_ends_after_grace(tmp_path: Path) -> None:
    interval, jitter, grace = 1.0, 0.5, 2.5
    poll = (
        f"interval = {interval}\njitter = {jitter}\ngrace = {grace}\n"
        "live_interval = 0.5\nmin_spacing = 0.01\n"
    )
    scenario = Scenario(rooms=(RoomSpec(WEB_RID, nickname="主播"),))
    async with Simulator.running(scenario) as sim, watching(sim, tmp_path, poll, ONE) as h:
        room = sim.room(WEB_RID)
        await anyio.sleep(1.2)  # a few offline checks first
        assert state(h.watchlist) is WatchState.OFFLINE
        went_live = time.monotonic()
        room.go_live(title="first")
        await sim.wait_until(lambda: state(h.watchlist) is WatchState.LIVE, timeout=10)
        latency = time.monotonic() - went_live
        assert latency <= interval + jitter + 2, latency
        [session] = await h.sessions("alice")
        assert session.is_open
        assert session.title == "first"

        # A flap shorter than grace: one session throughout.
        room.go_offline(control=False)
        await sim.wait_until(lambda: state(h.watchlist) is WatchState.GRACE, timeout=5)
        await anyio.sleep(0.6)
        room.go_live(title="back")
        await sim.wait_until(lambda: state(h.watchlist) is WatchState.LIVE, timeout=5)
        await anyio.sleep(grace + 0.5)
        [same] = await h.sessions("alice")
        assert same.id == session.id
        assert same.is_open

        # Offline for longer than grace: the session closes as stream_ended after the window.
        room.go_offline()
        await sim.wait_until(lambda: state(h.watchlist) is WatchState.GRACE, timeout=5)
        grace_began = time.monotonic()
        await sim.wait_until(lambda: state(h.watchlist) is WatchState.OFFLINE, timeout=10)
        assert time.monotonic() - grace_began >= grace - 0.1
        [closed] = await h.sessions("alice")
        assert closed.id == session.id
        assert closed.reason_for_exit == "stream_ended"
        assert closed.ended_at_ms is not None


@pytest.mark.anyio
@pytest.mark.slow
async def test_risk_control_opens_breaker_pauses_polling_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    poll = (
        "interval = 0.3\njitter = 0\nmin_spacing = 0.01\nbreaker_pause = 1.5\n"
        "breaker_pause_max = 10\n"
    )
    two = ONE + '[[broadcaster]]\ntarget = "200000000002"\nname = "bob"\n'
    scenario = Scenario(rooms=(RoomSpec(WEB_RID), RoomSpec("200000000002")))
    async with Simulator.running(scenario) as sim, watching(sim, tmp_path, poll, two) as h:
        gate = h.watchlist.gates["douyin"]
        await sim.wait_until(lambda: sim.observed.request_counts()["web_enter"] >= 4, timeout=10)
        sim.room(WEB_RID).inject("risk_control", duration=2.5)
        await sim.wait_until(lambda: gate.statistics().state.value == "open", timeout=5)
        opened = time.monotonic()
        # While open: no requests at all (the whole platform pauses, not just one broadcaster).
        await anyio.sleep(0.2)
        before = sim.observed.request_counts()["web_enter"]
        await anyio.sleep(1.0)
        assert sim.observed.request_counts()["web_enter"] == before
        stats = h.watchlist.statistics()
        assert {s.last_check_result for s in stats.values()} <= {"paused", "risk_control"}
        # It probes after the pause, re-opens while the window lasts, then recovers.
        await sim.wait_until(lambda: gate.statistics().state.value == "closed", timeout=15)
        assert time.monotonic() - opened >= 1.5
        assert gate.statistics().times_opened >= 1
        await sim.wait_until(
            lambda: h.watchlist.watches["bob"].statistics().last_check_result == "offline",
            timeout=5,
        )
    messages = [r.getMessage() for r in caplog.records]
    assert any("risk control from douyin" in m and "pausing" in m for m in messages), messages
    assert any("polling resumed" in m for m in messages), messages


@pytest.mark.anyio
@pytest.mark.slow
async def test_429_retry_after_is_honoured(tmp_path: Path) -> None:
    poll = "interval = 0.3\njitter = 0\nmin_spacing = 0.01\nbreaker_pause = 0.5\n"
    scenario = Scenario(rooms=(RoomSpec(WEB_RID),))
    async with Simulator.running(scenario) as sim, watching(sim, tmp_path, poll, ONE) as h:
        await sim.wait_until(lambda: sim.observed.request_counts()["web_enter"] >= 2, timeout=10)
        sim.room(WEB_RID).inject("http_429", count=1, retry_after=2)
        await sim.wait_until(
            lambda: any(r.status == 429 for r in sim.observed.requests_to("web_enter")), timeout=5
        )
        # The simulator logs the 429 once it is sent, before the daemon has read it, and the
        # gate starts closed: wait for it to have opened on the 429 and closed again.
        gate = h.watchlist.gates["douyin"]
        await sim.wait_until(
            lambda: (
                gate.statistics().times_opened >= 1 and gate.statistics().state.value == "closed"
            ),
            timeout=10,
        )
        records = sim.observed.requests_to("web_enter")
        refused = next(r for r in records if r.status == 429)
        # the probe that closed it is logged by the simulator just after it was sent
        with anyio.move_on_after(2):
            await sim.wait_until(lambda: sim.observed.requests_to("web_enter")[-1].at > refused.at)
        records = sim.observed.requests_to("web_enter")
        after = [r for r in records if r.at > refused.at]
        assert after, "polling never resumed"
        assert after[0].at - refused.at >= 2 - 0.05  # not before Retry-After, not breaker_pause
        assert after[0].status == 200
