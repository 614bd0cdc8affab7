"""The watchlist: PollClock's periods and jitter; one APScheduler job per platform for the watches.

The clock is pure (times are passed in); the watchlist tests run it against the simulator
with the real platform adapter, HTTP on loopback and the SQLite writer (tests/watch/harness).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from dylived.config.load import BroadcasterConfig, PollConfig
from dylived.model import LiveStatus
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.watch.watchlist import ApplyResult, BroadcasterOptions, PollClock, StatusFetcher
from tests.watch.harness import Harness, watching


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


# ---------------------------------------------------------------- one gate per platform


async def reload(h: Harness, poll: PollConfig, keep: list[BroadcasterConfig]) -> ApplyResult:
    return await h.watchlist.apply(poll, keep)  # type: ignore[arg-type]


def named(prefix: str, names: Sequence[str]) -> str:
    return "".join(
        f'[[broadcaster]]\ntarget = "{prefix}{i + 1:02d}"\nname = "{name}"\n'
        for i, name in enumerate(names)
    )


@asynccontextmanager
async def two_platforms(
    tmp_path: Path, poll: str, on_douyin: Sequence[str], on_second: Sequence[str]
) -> AsyncIterator[tuple[Simulator, Simulator, Harness]]:
    """The watchlist with broadcasters on ``douyin`` (one simulator) and ``second`` (another);
    each simulator has rooms ``<prefix>01``, ``<prefix>02`` for them, in order."""
    first, second = "2000000003", "2000000004"
    config = named(first, on_douyin) + named(second, on_second)
    async with (
        Simulator.running(Scenario(rooms=(RoomSpec(f"{first}01"), RoomSpec(f"{first}02")))) as a,
        Simulator.running(Scenario(rooms=(RoomSpec(f"{second}01"), RoomSpec(f"{second}02")))) as b,
        watching(a, tmp_path, poll, config, platforms={"second": (b, set(on_second))}) as h,
    ):
        yield a, b, h


@pytest.mark.anyio
@pytest.mark.slow
async def test_one_platforms_risk_control_never_pauses_the_other(tmp_path: Path) -> None:
    """Two platforms, each its own simulator: risk control from one opens its breaker only."""
    poll = (
        "interval = 0.3\njitter = 0\nmin_spacing = 0.01\nbreaker_pause = 3\n"
        "breaker_pause_max = 10\n"
    )
    async with two_platforms(tmp_path, poll, ["a1", "a2"], ["b1", "b2"]) as (sim_a, sim_b, h):
        wl = h.watchlist
        assert wl.scheduler is not None
        assert sorted(job.id for job in wl.scheduler.get_jobs()) == ["poll:douyin", "poll:second"]
        assert sorted(wl.gates) == ["douyin", "second"]
        sims = (sim_a, sim_b)
        await sim_a.wait_until(
            lambda: all(s.observed.request_counts()["web_enter"] >= 4 for s in sims)
        )
        sim_a.room("200000000301").inject("risk_control", duration=4)  # a1's room
        await sim_a.wait_until(lambda: wl.breaker_state("douyin") == "open", timeout=5)
        await anyio.sleep(0.2)
        a_before = sim_a.observed.request_counts()["web_enter"]
        b_before = sim_b.observed.request_counts()["web_enter"]
        await anyio.sleep(1.5)  # inside the first platform's 3 s pause
        a_made = sim_a.observed.request_counts()["web_enter"] - a_before
        b_made = sim_b.observed.request_counts()["web_enter"] - b_before
        gates = wl.gate_statistics()
        stats = wl.statistics()
    assert a_made == 0  # the whole first platform waits: a2 too, which saw no risk control
    assert b_made >= 4, b_made  # 2 broadcasters every 0.3 s: ~10, fewer on a loaded machine
    douyin, other = gates["douyin"], gates["second"]
    assert douyin.breaker.state.value == "open"
    assert douyin.open_until_ms is not None
    assert douyin.risk_signals >= 1
    assert (other.breaker.state.value, other.risk_signals, other.breaker.times_opened) == (
        "closed",
        0,
        0,
    )
    assert other.requests > douyin.requests
    assert (douyin.broadcasters, other.broadcasters) == (2, 2)
    assert {stats[k].last_check_result for k in ("a1", "a2")} <= {"paused", "risk_control"}
    assert {stats[k].last_check_result for k in ("b1", "b2")} == {"offline"}
    assert stats["b1"].errors == stats["b2"].errors == 0  # no cooldown carried across


@pytest.mark.anyio
async def test_a_platforms_gate_and_job_follow_its_broadcasters_on_reload(tmp_path: Path) -> None:
    poll = "interval = 5\njitter = 0\nmin_spacing = 0.01\n"
    async with two_platforms(tmp_path, poll, ["a1"], ["b1", "b2"]) as (sim_a, sim_b, h):
        wl = h.watchlist
        assert wl.scheduler is not None
        a1, b1, b2 = h.broadcasters
        gate = wl.gates["second"]
        result = await reload(h, replace(h.poll, max_concurrent=2), [a1, b2])
        assert result.removed == ("b1",)
        assert wl.gates["second"] is gate  # kept while b2 is on it, with the new limits
        assert gate.budget.max_in_flight == wl.gates["douyin"].budget.max_in_flight == 2
        await reload(h, h.poll, [a1])
        assert sorted(wl.gates) == ["douyin"]  # its last broadcaster gone: gate and job too
        assert [job.id for job in wl.scheduler.get_jobs()] == ["poll:douyin"]
        result = await reload(h, h.poll, [a1, b1, b2])
        assert sorted(result.added) == ["b1", "b2"]
        assert sorted(job.id for job in wl.scheduler.get_jobs()) == ["poll:douyin", "poll:second"]
        await sim_b.wait_until(lambda: wl.gates["second"].requests >= 2, timeout=5)
        # b2 moved to the first platform: restarted behind that platform's gate
        before = wl.gates["douyin"].requests
        moved = await reload(h, h.poll, [a1, b1, replace(b2, platform="douyin")])
        assert (moved.added, moved.removed, moved.changed) == ((), (), ("b2",))
        counts = {p: g.broadcasters for p, g in wl.gate_statistics().items()}
        assert counts == {"douyin": 2, "second": 1}
        await sim_a.wait_until(lambda: wl.gates["douyin"].requests > before, timeout=5)
