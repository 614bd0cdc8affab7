"""Watches started again over the database of a stopped watchlist (what a daemon restart does),
in process against the simulator: which stopped session is continued, and how soon."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon_rig import broadcaster_table, query
from tests.watch.harness import Harness, watching


pytestmark = pytest.mark.anyio

RIDS = ("200000000001", "200000000002")
QUICK = "interval = 1\njitter = 0.1\nlive_interval = 1\ngrace = 60\n"
# b1's first poll is staggered by half the interval: 15 s after the start
SLOW_POLL = "interval = 30\njitter = 0.1\nlive_interval = 30\ngrace = {grace}\n"
BROADCASTERS = "".join(broadcaster_table(rid, f"b{i}") for i, rid in enumerate(RIDS))
Rows = list[tuple[int, str | None, str | None]]  # (id, room_id, reason_for_exit)


async def sessions_of(h: Harness, key: str) -> Rows:
    return [(s.id, s.room_id, s.reason_for_exit) for s in await h.sessions(key)]


async def wait_sessions(
    h: Harness, key: str, predicate: Callable[[Rows], bool], within: float
) -> None:
    """Poll the stored sessions of ``key`` (written by another task) until ``predicate``."""
    with anyio.fail_after(within):
        while True:
            if predicate(await sessions_of(h, key)):
                return
            await anyio.sleep(0.05)


async def stop_watches(h: Harness) -> None:
    """Stop every watch as the daemon stops them (each session closed, committed)."""
    for key in list(h.watchlist.watches):
        await h.watchlist.remove(key)


def stored_sessions(tmp_path: Path) -> Rows:
    sql = "SELECT id, room_id, reason_for_exit FROM sessions ORDER BY id"
    return [(int(a), b, c) for a, b, c in query(tmp_path / "dylived.db", sql)]


async def first_run(sim: Simulator, tmp_path: Path) -> tuple[str, int]:
    """Both rooms live, watched until both sessions are open, then the watchlist stopped:
    every session closes as daemon_stopped, as at SIGTERM. (b1's room, b1's session id)"""
    for rid in RIDS:
        sim.room(rid).go_live()
    async with watching(sim, tmp_path, QUICK, BROADCASTERS) as h:
        for key in ("b0", "b1"):
            await wait_sessions(h, key, lambda s: len(s) == 1, 10)
        await stop_watches(h)
    stopped = stored_sessions(tmp_path)
    assert {reason for _, _, reason in stopped} == {"daemon_stopped"}
    return sim.room(RIDS[1]).room_id, stopped[1][0]


async def test_a_stopped_session_still_live_is_continued_at_once_not_after_the_stagger(
    tmp_path: Path,
) -> None:
    scenario = Scenario(rooms=tuple(RoomSpec(rid) for rid in RIDS))
    async with Simulator.running(scenario) as sim:
        room_id, session_id = await first_run(sim, tmp_path)
        started = time.monotonic()
        async with watching(sim, tmp_path, SLOW_POLL.format(grace=60), BROADCASTERS) as h:
            # without the candidate, b1's first check would come 15 s after the start
            await wait_sessions(h, "b1", lambda s: s == [(session_id, room_id, None)], 5)
            continued_after = time.monotonic() - started
            assert h.watchlist.watches["b1"].statistics().session_id == session_id
            assert len(await sessions_of(h, "b0")) == 1
            await stop_watches(h)
    assert continued_after < 5
    assert stored_sessions(tmp_path)[1] == (session_id, room_id, "daemon_stopped")


async def test_a_session_stopped_longer_ago_than_grace_stays_closed(tmp_path: Path) -> None:
    scenario = Scenario(rooms=tuple(RoomSpec(rid) for rid in RIDS))
    async with Simulator.running(scenario) as sim:
        room_id, session_id = await first_run(sim, tmp_path)
        await anyio.sleep(1.5)  # the downtime exceeds grace
        async with watching(sim, tmp_path, SLOW_POLL.format(grace=1), BROADCASTERS) as h:
            await wait_sessions(h, "b1", lambda s: len(s) == 2, 5)
            [new, old] = await sessions_of(h, "b1")  # newest first
            await stop_watches(h)
    assert old == (session_id, room_id, "daemon_stopped")
    assert new[0] != session_id
    assert new[1] == room_id  # the same broadcast, but too long ago: a new session


async def test_a_stopped_session_whose_room_went_offline_stays_closed(tmp_path: Path) -> None:
    scenario = Scenario(rooms=tuple(RoomSpec(rid) for rid in RIDS))
    async with Simulator.running(scenario) as sim:
        room_id, session_id = await first_run(sim, tmp_path)
        sim.room(RIDS[1]).go_offline(control=False)
        async with watching(sim, tmp_path, SLOW_POLL.format(grace=60), BROADCASTERS) as h:
            b1 = h.watchlist.watches["b1"]
            await sim.wait_until(lambda: b1.statistics().last_check_result == "offline", 5)
            assert len(await sessions_of(h, "b1")) == 1
            new_room = sim.room(RIDS[1]).go_live()
            b1.request_poll()
            await wait_sessions(h, "b1", lambda s: len(s) == 2, 5)
            [new, old] = await sessions_of(h, "b1")
            await stop_watches(h)
    assert old == (session_id, room_id, "daemon_stopped")
    assert (new[1], new[2]) == (new_room, None)
    assert new_room != room_id
