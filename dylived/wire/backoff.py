"""Retry delays as data: the reconnect schedule and an exponential cooldown, both jittered.

Reconnects follow dataset.md: 2, 4, 8, 16, then 30 s for every further attempt. Each nominal
delay is spread by ±``jitter`` (a fraction) so that many rooms dropped together do not come
back in lockstep. Randomness is an injected ``random.Random`` so tests are deterministic.

Pure: no clocks, no sleeping; the caller sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


RECONNECT_DELAYS_S: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 30.0)
DEFAULT_JITTER = 0.1


def _jittered(delay: float, rng: random.Random, jitter: float) -> float:
    return delay * rng.uniform(1.0 - jitter, 1.0 + jitter)


def reconnect_delay(attempt: int, rng: random.Random, jitter: float = DEFAULT_JITTER) -> float:
    """The delay before reconnect ``attempt`` (1 = the first retry after a drop).

    Raises:
        ValueError: ``attempt`` is below 1 or ``jitter`` is outside [0, 1).
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    nominal = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S)) - 1]
    return _jittered(nominal, rng, jitter)


def reconnect_delays(rng: random.Random, jitter: float = DEFAULT_JITTER) -> Iterator[float]:
    """The endless reconnect schedule: 2, 4, 8, 16, 30, 30, … seconds, jittered."""
    attempt = 1
    while True:
        yield reconnect_delay(attempt, rng, jitter)
        attempt += 1


def cooldowns(
    base_s: float,
    cap_s: float,
    rng: random.Random,
    *,
    factor: float = 2.0,
    jitter: float = DEFAULT_JITTER,
) -> Iterator[float]:
    """An endless exponential cooldown (e.g. for poll errors): base, base·factor, … up to cap.

    Raises:
        ValueError: a non-positive base, a cap below the base, a factor below 1, or a jitter
            outside [0, 1) (raised on the first ``next()``).
    """
    if base_s <= 0 or cap_s < base_s or factor < 1.0 or not 0.0 <= jitter < 1.0:
        raise ValueError("need 0 < base_s <= cap_s, factor >= 1 and 0 <= jitter < 1")
    nominal = base_s
    while True:
        yield _jittered(nominal, rng, jitter)
        nominal = min(nominal * factor, cap_s)
