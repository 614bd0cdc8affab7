"""A capture rig: the simulator, a real store writer on a SQLite file, one EventCapture.

The session around the capture is the real ``SessionContext``; its owner is :class:`Owner`,
which records what the capture asked of the session (end requests, hints) instead of a Watch.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from dylived.capture.component import CaptureSettings, EventCapture
from dylived.model import ExitReason, LiveStatus
from dylived.platforms.douyin.push import DouyinPush
from dylived.sim import SimRoom, Simulator
from dylived.store.ops import CloseSession, OpenSession
from dylived.store.writer import Writer
from dylived.watch.session import SessionContext, wall_ms


class Owner:
    """The session's owner as the capture sees it; records every request."""

    def __init__(self) -> None:
        self.ended: list[tuple[float, ExitReason]] = []
        self.hints = 0
        self.end_requested = anyio.Event()

    def hint_stream_may_have_ended(self) -> None:
        self.hints += 1

    def request_session_end(self, reason: ExitReason) -> None:
        self.ended.append((time.monotonic(), reason))
        self.end_requested.set()


def settings_for(sim: Simulator, **tuning: Any) -> CaptureSettings:
    return CaptureSettings(**tuning)


def push_for(sim: Simulator, cookie: str) -> DouyinPush:
    return DouyinPush(
        ws_hosts=(sim.ws_base,),
        user_agent="Mozilla/5.0 (X11; Linux x86_64) dylived-test/1.0",
        origin=sim.web_base,
        cookie_header=lambda: cookie,
    )


@dataclass
class Rig:
    sim: Simulator
    room: SimRoom
    writer: Writer
    ctx: SessionContext
    capture: EventCapture
    owner: Owner
    session_id: int
    db_path: Path
    _scope: anyio.CancelScope
    _done: anyio.Event

    async def finish(self, reason: ExitReason = ExitReason.STREAM_ENDED) -> dict[str, Any]:
        """Stop the capture as the session would, then close the session; its summary."""
        self._scope.cancel()
        with anyio.fail_after(10):
            await self._done.wait()
        return await self.writer.close_session(CloseSession(self.session_id, wall_ms(), reason))

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, args).fetchall()

    async def stored_events(self) -> list[tuple[Any, ...]]:
        await self.writer.drain()
        return self.query(
            "SELECT type, msg_id, payload FROM events WHERE session_id = ? ORDER BY seq",
            self.session_id,
        )


@asynccontextmanager
async def capture_rig(
    sim: Simulator,
    web_rid: str,
    db_path: Path,
    *,
    exclude_events: tuple[str, ...] = (),
    cookie: str = "ttwid=test-ttwid",
    **tuning: Any,
) -> AsyncIterator[Rig]:
    """A live session of ``web_rid`` (the room must be live) with its capture running."""
    room = sim.room(web_rid)
    status = LiveStatus(
        live=True, room_id=room.room_id, handle=room.web_rid, nickname=room.nickname
    )
    async with Writer.open(db_path) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        started = wall_ms()
        session_id = await writer.request(
            OpenSession(
                broadcaster_key="alice",
                started_at_ms=started,
                platform="douyin",
                room_id=status.room_id,
                web_rid=status.handle,
            )
        )
        owner = Owner()
        ctx = SessionContext("alice", None, status, None, started, owner)  # type: ignore[arg-type]
        ctx.session_id = session_id
        capture = EventCapture(
            settings_for(sim, **tuning),
            writer,
            push_for(sim, cookie),
            exclude_events=exclude_events,
            rng=random.Random(5),
        )
        scope = anyio.CancelScope()
        done = anyio.Event()

        async def run_capture(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            try:
                with scope:
                    await capture.run(ctx, task_status=task_status)
            finally:
                done.set()

        await tg.start(run_capture)
        rig = Rig(sim, room, writer, ctx, capture, owner, session_id, db_path, scope, done)
        try:
            yield rig
        finally:
            scope.cancel()
            writer.stop()


def with_tuning(settings: CaptureSettings, **changes: Any) -> CaptureSettings:
    return replace(settings, **changes)
