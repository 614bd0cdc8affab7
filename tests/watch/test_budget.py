"""The request budget (real anyio tasks and clock), the breaker and the cooldown (pure), and
the platform gates in front of them (one per platform, real anyio clock)."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import anyio
import pytest

from dylived.config.load import PollConfig
from dylived.errors import RiskControl
from dylived.model import LiveStatus
from dylived.watch.broadcaster import CheckSkipped
from dylived.watch.gates import BreakerState, CircuitBreaker, ErrorCooldown, RequestBudget
from dylived.watch.watchlist import PlatformGate


def state_of(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # a call, so mypy does not narrow the attribute between asserts


@pytest.mark.anyio
async def test_budget_never_exceeds_max_in_flight_and_spaces_starts() -> None:
    budget = RequestBudget(max_in_flight=3, min_spacing=0.01)
    starts: list[float] = []
    peak = 0

    async def request() -> None:
        nonlocal peak
        async with budget.slot():
            starts.append(anyio.current_time())
            peak = max(peak, budget.statistics().in_flight)
            await anyio.sleep(0.03)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(request)
    stats = budget.statistics()
    assert peak == 3
    assert stats.max_in_flight_seen == 3
    assert stats.requests_started == 20
    assert stats.in_flight == 0
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.009  # timer granularity: the spacing is 0.01 s


@pytest.mark.anyio
async def test_budget_slot_released_on_cancel_and_error() -> None:
    budget = RequestBudget(max_in_flight=1, min_spacing=0)
    with anyio.move_on_after(0.05):
        async with budget.slot():
            await anyio.sleep(10)
    with pytest.raises(RuntimeError):
        async with budget.slot():
            raise RuntimeError("boom")
    with anyio.fail_after(1):
        async with budget.slot():
            pass
    assert budget.statistics().in_flight == 0


def test_budget_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        RequestBudget(0, 0.1)
    with pytest.raises(ValueError, match="min_spacing"):
        RequestBudget(1, -1)


def test_breaker_opens_pauses_probes_and_recovers() -> None:
    breaker = CircuitBreaker(pause=60, pause_max=1800)
    assert breaker.try_acquire(0)
    assert breaker.record_risk(10, "empty 200") == 60
    assert state_of(breaker) is BreakerState.OPEN
    assert not breaker.try_acquire(69)
    assert breaker.wait_time(30) == 40
    assert breaker.try_acquire(70)  # the one probe
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert not breaker.try_acquire(70)  # everyone else waits for the probe
    assert breaker.record_success() is True
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.try_acquire(71)
    assert breaker.statistics(71).times_opened == 1


def test_breaker_pause_grows_bounded_and_resets_after_recovery() -> None:
    breaker = CircuitBreaker(pause=60, pause_max=200)
    now = 0.0
    pauses = []
    for _ in range(4):
        pauses.append(breaker.record_risk(now, "403"))
        now += pauses[-1]
        assert breaker.try_acquire(now)  # probe ... fails again
    assert pauses == [60, 120, 200, 200]
    breaker.record_success()
    assert breaker.record_risk(now, "403") == 60


def test_breaker_honours_retry_after_capped() -> None:
    breaker = CircuitBreaker(pause=5, pause_max=100)
    assert breaker.record_risk(0, "429", retry_after=30) == 30
    # A late 429 from a request already in flight lengthens the pause if it asks for more.
    assert breaker.record_risk(1, "429", retry_after=50) == 50
    assert not breaker.try_acquire(50)
    assert breaker.try_acquire(51)
    breaker.record_success()
    assert breaker.record_risk(60, "429", retry_after=10_000) == 100


def test_breaker_in_flight_success_does_not_close_open_breaker() -> None:
    breaker = CircuitBreaker(pause=10, pause_max=100)
    breaker.record_risk(0, "412")
    assert breaker.record_success() is False
    assert state_of(breaker) is BreakerState.OPEN


def test_breaker_inconclusive_probe_probes_again() -> None:
    breaker = CircuitBreaker(pause=10, pause_max=100)
    breaker.record_risk(0, "403")
    assert breaker.try_acquire(10)
    breaker.record_inconclusive()
    assert breaker.try_acquire(10.1)
    assert state_of(breaker) is BreakerState.HALF_OPEN


def test_cooldown_grows_to_max_and_resets() -> None:
    cooldown = ErrorCooldown(base=10, maximum=50)
    assert [cooldown.record_failure(0) for _ in range(4)] == [10, 20, 40, 50]
    assert not cooldown.ready(49)
    assert cooldown.ready(50)
    assert cooldown.record_failure(100, at_least=300) == 300
    cooldown.record_success()
    assert cooldown.ready(100)
    assert cooldown.remaining(100) == 0


@pytest.mark.anyio
async def test_each_platforms_gate_pauses_only_its_own_requests() -> None:
    poll = PollConfig(min_spacing=0, breaker_pause=30, breaker_pause_max=60)
    first, second = PlatformGate("first", poll), PlatformGate("second", poll)
    made: list[str] = []

    async def refused() -> LiveStatus:
        made.append("first")
        raise RiskControl("HTTP 429", retry_after=45)

    async def fine() -> LiveStatus:
        made.append("second")
        return LiveStatus(live=False)

    with pytest.raises(RiskControl):
        await first.check(refused)
    with pytest.raises(CheckSkipped, match="first polling is paused"):
        await first.check(refused)  # no request made
    for _ in range(3):
        await second.check(fine)
    assert made == ["first", "second", "second", "second"]
    paused, open_ = first.snapshot(broadcasters=2), second.snapshot(broadcasters=1)
    assert (paused.breaker.state, paused.risk_signals, paused.requests) == ("open", 1, 1)
    assert paused.open_until_ms is not None
    assert 44 <= paused.open_until_ms / 1000 - time.time() <= 45  # Retry-After over 30 s
    assert (open_.breaker.state, open_.risk_signals, open_.requests) == ("closed", 0, 3)
    assert open_.open_until_ms is None
    first.reconfigure(replace(poll, max_concurrent=1))  # a new budget: the counts stay
    assert (first.budget.max_in_flight, first.snapshot(2).requests) == (1, 1)
