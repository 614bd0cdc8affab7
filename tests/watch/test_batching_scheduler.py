"""The watchlist: PollClock's periods and jitter; one APScheduler job per platform for the watches.

The clock is pure (times are passed in); the watchlist tests run it against the simulator
with the real platform adapter, HTTP on loopback and the SQLite writer (tests/watch/harness).
"""

from __future__ import annotations

import random
from pathlib import Path

import anyio
import pytest

from dylived.model import LiveStatus
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.watch.watchlist import BroadcasterOptions, PollClock, StatusFetcher
from tests.watch.harness import watching


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---------------------------------------------------------------- the clock (pure)


def test_first_polls_are_staggered_then_every_interval_plus_jitter() -> None:
    clock = PollClock(jitter=5.0, rng=random.Random(1))
    for index in range(10):
        clock.schedule(f"b{index}", 30.0, now=0.0, first_in=3.0 * index)
    assert clock.take_due(0.0) == ["b0"]
    assert clock.take_due(4.0) == ["b1"]
    assert sorted(clock.take_due(27.0)) == [f"b{i}" for i in range(2, 10)]
    periods = []
    at = clock.next_due("b0")
    assert at is not None
    for _ in range(200):  # step to each due time of b0 exactly
        assert "b0" in clock.take_due(at)
        after = clock.next_due("b0")
        assert after is not None
        periods.append(after - at)
        at = after
    assert all(30.0 <= p <= 35.0 for p in periods)
    assert max(periods) - min(periods) > 3.0  # jittered, not one fixed period


def test_missed_periods_are_one_poll() -> None:
    clock = PollClock(jitter=0.0)
    clock.schedule("b", 10.0, now=0.0, first_in=0.0)
    assert clock.take_due(0.0) == ["b"]
    assert clock.take_due(95.0) == ["b"]  # nine periods late (a suspended machine): once
    assert clock.next_due("b") == 105.0
    assert clock.take_due(100.0) == []


def test_rescheduling_removing_and_no_jitter() -> None:
    clock = PollClock(jitter=0.0)
    clock.schedule("b", 30.0, now=0.0)
    assert clock.next_due("b") == 30.0
    clock.schedule("b", 5.0, now=10.0)  # went live: the live interval from now
    assert clock.next_due("b") == 15.0
    clock.remove("b")  # paused or removed
    assert clock.next_due("b") is None
    assert clock.take_due(1000.0) == []
    assert len(clock) == 0


# ---------------------------------------------------------------- the watchlist


def rooms(count: int) -> Scenario:
    return Scenario(rooms=tuple(RoomSpec(f"2000000001{i:02d}") for i in range(count)))


def broadcasters(count: int) -> str:
    return "".join(
        f'[[broadcaster]]\ntarget = "2000000001{i:02d}"\nname = "b{i:02d}"\n' for i in range(count)
    )


@pytest.mark.anyio
@pytest.mark.slow
async def test_one_platform_job_polls_every_broadcaster_each_period(tmp_path: Path) -> None:
    count, interval, jitter = 12, 1.0, 0.3
    poll = f"interval = {interval}\njitter = {jitter}\nmin_spacing = 0.005\n"
    async with (
        Simulator.running(rooms(count)) as sim,
        watching(sim, tmp_path, poll, broadcasters(count)) as h,
    ):
        scheduler = h.watchlist.scheduler
        assert scheduler is not None
        assert [job.id for job in scheduler.get_jobs()] == ["poll:douyin"]  # not one per room
        await anyio.sleep(interval)  # the staggered first polls
        before = {key: s.checks for key, s in h.watchlist.statistics().items()}
        window = 4.0
        await anyio.sleep(window)
        after = {key: s.checks for key, s in h.watchlist.statistics().items()}
        nexts = [h.watchlist.next_poll_ms(key) for key in after]
    made = [after[key] - before[key] for key in after]
    # every period is in [interval, interval + jitter], plus at most one tick of lateness
    assert min(made) >= int(window / (interval + jitter + 0.5)), made
    assert max(made) <= int(window / interval) + 1, made
    assert all(n is not None for n in nexts)


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_slow_check_is_never_doubled(tmp_path: Path) -> None:
    """A check slower than the interval: polls coalesce, one request in flight per broadcaster."""
    count = 3
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}

    def slowed(fetch: StatusFetcher) -> StatusFetcher:
        async def slow_fetch(broadcaster: BroadcasterOptions) -> LiveStatus:
            key = broadcaster.key
            in_flight[key] = in_flight.get(key, 0) + 1
            most[key] = max(most.get(key, 0), in_flight[key])
            try:
                await anyio.sleep(1.6)  # three poll periods
                return await fetch(broadcaster)
            finally:
                in_flight[key] -= 1

        return slow_fetch

    poll = "interval = 0.5\njitter = 0\nmin_spacing = 0.005\n"
    async with (
        Simulator.running(rooms(count)) as sim,
        watching(sim, tmp_path, poll, broadcasters(count), wrap_fetch=slowed) as h,
    ):
        await anyio.sleep(4.0)
        checks = {key: s.checks for key, s in h.watchlist.statistics().items()}
    assert sorted(most) == ["b00", "b01", "b02"]
    assert max(most.values()) == 1, most
    assert all(2 <= n <= 4 for n in checks.values()), checks  # ~4 s / 1.6 s, not 8 polls
