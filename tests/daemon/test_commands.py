"""The daemon's command queue (``dylived/app/commands.py``) with real reload functions.

The daemon-level behaviour (SIGHUP through start-up, under control traffic, SIGTERM right
after a SIGHUP) is shown on the real daemon in ``test_lifecycle.py``; these pin the ordering
rules the queue promises, where a reload can be made to take as long as a test needs.
"""

from __future__ import annotations

import signal
from typing import Any

import anyio
import pytest

from dylived.app.commands import Commands, DaemonStopping
from tests.daemon_rig import wait_for


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_sighup_before_ready_is_applied_once_ready() -> None:
    commands = Commands(stop=lambda: None)
    applied: list[float] = []

    async def apply() -> dict[str, Any]:
        applied.append(anyio.current_time())
        return {"applied": True}

    async with anyio.create_task_group() as tg:
        tg.start_soon(commands.run)
        commands.signal_received(signal.SIGHUP)
        await anyio.sleep(0.2)
        assert applied == []  # held, not refused
        ready_at = anyio.current_time()
        commands.ready(apply)
        await wait_for(lambda: applied, 5, "the reload")
        assert applied[0] >= ready_at
        assert await commands.reload() == {"applied": True}  # the API's, after it
        tg.cancel_scope.cancel()
    assert len(applied) == 2


async def test_sigterm_is_not_held_behind_a_reload_in_progress() -> None:
    stopped = anyio.Event()
    commands = Commands(stop=stopped.set)
    entered = anyio.Event()
    told: list[BaseException] = []

    async def endless_apply() -> dict[str, Any]:
        entered.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def api_reload() -> None:
        try:
            await commands.reload()
        except DaemonStopping as exc:
            told.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(commands.run)
        commands.ready(endless_apply)
        tg.start_soon(api_reload)
        with anyio.fail_after(5):
            await entered.wait()
        tg.start_soon(api_reload)  # queued behind the one in progress
        await anyio.sleep(0.05)
        commands.signal_received(signal.SIGTERM)
        with anyio.fail_after(1):
            await stopped.wait()
        await wait_for(lambda: len(told) == 2, 1, "both reloads told")
        tg.start_soon(api_reload)  # after the stop: refused at once
        await wait_for(lambda: len(told) == 3, 1, "the late reload refused")
        tg.cancel_scope.cancel()
    assert commands.stopping
    assert commands.reloads_applied == 0


async def test_reloads_queued_during_one_are_served_by_one_more() -> None:
    commands = Commands(stop=lambda: None)
    release = anyio.Event()
    calls = 0

    async def apply() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()
        return {"applied": True, "call": calls}

    results: list[dict[str, Any]] = []

    async def api_reload() -> None:
        results.append(await commands.reload())

    async with anyio.create_task_group() as tg:
        tg.start_soon(commands.run)
        commands.ready(apply)
        tg.start_soon(api_reload)
        await anyio.sleep(0.05)
        for _ in range(5):
            tg.start_soon(api_reload)
            commands.signal_received(signal.SIGHUP)
        await anyio.sleep(0.05)
        release.set()
        await wait_for(lambda: len(results) == 6, 5, "six answers")
        tg.cancel_scope.cancel()
    assert calls == 2
    assert [r["call"] for r in results] == [1, 2, 2, 2, 2, 2]
