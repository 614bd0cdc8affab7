"""wire/backoff: 2, 4, 8, 16, 30 s reconnects and the exponential cooldown, jittered."""

from __future__ import annotations

import itertools
import random

import pytest

from dylived.wire.backoff import cooldowns, reconnect_delay, reconnect_delays


def test_reconnect_schedule_without_jitter() -> None:
    delays = list(itertools.islice(reconnect_delays(random.Random(0), jitter=0.0), 7))
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_reconnect_jitter_stays_within_bounds_and_varies() -> None:
    rng = random.Random(1)
    samples = [reconnect_delay(5, rng, jitter=0.1) for _ in range(200)]
    assert all(27.0 <= s <= 33.0 for s in samples)
    assert len(set(samples)) > 100
    assert reconnect_delay(1, random.Random(7)) == reconnect_delay(1, random.Random(7))


@pytest.mark.parametrize(("attempt", "jitter"), [(0, 0.1), (1, -0.1), (1, 1.0)])
def test_reconnect_delay_rejects_nonsense(attempt: int, jitter: float) -> None:
    with pytest.raises(ValueError, match=r"attempt|jitter"):
        reconnect_delay(attempt, random.Random(0), jitter)


def test_cooldowns_grow_to_the_cap() -> None:
    values = list(itertools.islice(cooldowns(5.0, 60.0, random.Random(0), jitter=0.0), 6))
    assert values == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    tripled = cooldowns(1.0, 100.0, random.Random(0), factor=3.0, jitter=0.0)
    assert list(itertools.islice(tripled, 4)) == [1.0, 3.0, 9.0, 27.0]


def test_cooldowns_are_jittered() -> None:
    values = list(itertools.islice(cooldowns(10.0, 10.0, random.Random(3), jitter=0.2), 50))
    assert all(8.0 <= v <= 12.0 for v in values)
    assert len(set(values)) == 50


@pytest.mark.parametrize(
    ("base", "cap", "factor", "jitter"),
    [(0.0, 1.0, 2.0, 0.1), (2.0, 1.0, 2.0, 0.1), (1.0, 2.0, 0.5, 0.1), (1.0, 2.0, 2.0, 1.5)],
)
def test_cooldowns_reject_nonsense(base: float, cap: float, factor: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="base_s"):
        next(cooldowns(base, cap, random.Random(0), factor=factor, jitter=jitter))
