"""scheduler.BatchingScheduler: poll jobs run inline, due jobs batched on the wake-up grid."""

from __future__ import annotations

import datetime as dt

import anyio
import anyio.lowlevel
import pytest
from apscheduler.executors.debug import DebugExecutor

from dylived.scheduler import BatchingScheduler


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_jobs_due_close_together_run_in_one_timer_pass() -> None:
    ran: list[tuple[int, float]] = []
    scheduler = BatchingScheduler(tick=0.5, timezone=dt.UTC, executors={"default": DebugExecutor()})
    start = anyio.current_time()
    now = dt.datetime.now(dt.UTC)
    for index in range(20):  # due 0.02 s apart, all within one 0.5 s grid cell
        scheduler.add_job(
            lambda i=index: ran.append((i, anyio.current_time() - start)),
            "date",
            run_date=now + dt.timedelta(seconds=0.05 + index * 0.02),
        )
    scheduler.start()
    try:
        await anyio.sleep(1.3)
    finally:
        scheduler.shutdown(wait=False)
        await anyio.lowlevel.checkpoint()  # the shutdown runs on the next loop pass
    assert sorted(i for i, _ in ran) == list(range(20))
    assert scheduler.timer_passes <= 3  # not one wake-up per job
    assert max(at for _, at in ran) < 0.05 + 19 * 0.02 + 0.5 + 0.2  # at most one tick late
