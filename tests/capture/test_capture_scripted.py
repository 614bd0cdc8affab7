"""EventCapture against a scripted push server (websockets on 127.0.0.1) for what the simulator
cannot produce: unknown and undecodable methods, a ``close`` payload frame, a 404 upgrade."""

from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response

from dylived.app.decode import decode_stream
from dylived.capture.component import CaptureSettings, EventCapture
from dylived.model import ExitReason, LiveStatus
from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.douyin.push import DouyinPush
from dylived.store.ops import CloseSession, OpenSession
from dylived.store.writer import Writer
from dylived.watch.session import SessionContext, wall_ms
from tests.capture.rig import Owner
from tests.wire.wirebuild import build_frame


pytestmark = pytest.mark.anyio

ROOM_ID = "7480000000000000001"


def chat(msg_id: int, content: str = "你好") -> tuple[str, int, bytes]:
    message = pb.ChatMessage(
        common=pb.Common(method="WebcastChatMessage", msg_id=msg_id, room_id=int(ROOM_ID)),
        content=content,
    )
    return ("WebcastChatMessage", msg_id, message.SerializeToString())


class Burst(bytes):
    """Raw WebSocket bytes the scripted server writes in one go (frames built by hand)."""


def burst(*messages: bytes, close: bool = True) -> Burst:
    """Binary messages and (optionally) a close frame, written as one TCP write so that the
    client reads them all at once, as it does from a busy server."""
    frames = [Frame(Opcode.BINARY, m) for m in messages]
    if close:
        frames.append(Frame(Opcode.CLOSE, Close(1000, "").serialize()))
    return Burst(b"".join(f.serialize(mask=False) for f in frames))


class ScriptedServer:
    """Each connection gets the next script: frames to send, then hold the connection open."""

    def __init__(self, scripts: Sequence[Sequence[bytes]], reject_status: int | None = None):
        self.scripts = list(scripts)
        self.reject_status = reject_status
        self.connections = 0
        self.rejected = 0
        self.received: list[bytes] = []
        self.port = 0

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.reject_status is None:
            return None
        self.rejected += 1
        return Response(self.reject_status, "Not Found", Headers(), b"{}")

    async def handler(self, ws: ServerConnection) -> None:
        index = self.connections
        self.connections += 1
        script = self.scripts[min(index, len(self.scripts) - 1)]
        for frame in script:
            if isinstance(frame, Burst):
                ws.transport.write(frame)
                await anyio.sleep(0.5)  # let the client answer, then drop the connection
                ws.transport.abort()
                return
            await ws.send(frame)
        async for message in ws:
            assert isinstance(message, bytes)
            self.received.append(message)


@asynccontextmanager
async def scripted(server: ScriptedServer) -> AsyncIterator[ScriptedServer]:
    async with serve(
        server.handler, "127.0.0.1", 0, process_request=server.process_request
    ) as ws_server:
        server.port = next(iter(ws_server.sockets)).getsockname()[1]
        yield server


@asynccontextmanager
async def capturing(
    server: ScriptedServer, db_path: Path, **tuning: Any
) -> AsyncIterator[tuple[EventCapture, Owner, Writer, int, Callable[[], Any]]]:
    settings = CaptureSettings(**tuning)
    push = DouyinPush(
        ws_hosts=(f"ws://127.0.0.1:{server.port}",),
        user_agent="Mozilla/5.0 dylived-test",
        origin="http://127.0.0.1",
    )
    status = LiveStatus(live=True, room_id=ROOM_ID, handle="200000000001")
    async with Writer.open(db_path) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        started = wall_ms()
        session_id = await writer.request(OpenSession("alice", started, "douyin", room_id=ROOM_ID))
        owner = Owner()
        ctx = SessionContext("alice", None, status, None, started, owner)  # type: ignore[arg-type]
        ctx.session_id = session_id
        capture = EventCapture(settings, writer, push, rng=random.Random(1))
        scope = anyio.CancelScope()
        done = anyio.Event()

        async def run(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            try:
                with scope:
                    await capture.run(ctx, task_status=task_status)
            finally:
                done.set()

        async def finish() -> dict[str, Any]:
            scope.cancel()
            await done.wait()
            return await writer.close_session(
                CloseSession(session_id, wall_ms(), ExitReason.STREAM_ENDED.value)
            )

        await tg.start(run)
        try:
            yield capture, owner, writer, session_id, finish
        finally:
            scope.cancel()
            writer.stop()


async def wait(predicate: Callable[[], object], seconds: float = 5.0) -> None:
    with anyio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 - test polling
            await anyio.sleep(0.02)


async def test_unknown_and_undecodable_are_kept_raw_and_decodable(tmp_path: Path) -> None:
    frame = build_frame(
        [
            ("WebcastBrandNewMessage", 1001, b"\x08\x01"),
            ("WebcastChatMessage", 1002, b"\xff\xff\xff not protobuf"),
            chat(1003),
        ]
    )
    server = ScriptedServer([[frame, frame]])  # the repeat is deduplicated by msg_id
    async with scripted(server), capturing(server, tmp_path / "db.sqlite") as rig:
        capture, _, _, session_id, finish = rig
        await wait(lambda: capture.total_events == 1)
        await wait(lambda: capture.health().details["duplicates_skipped"] == 3)
        summary = await finish()
        with sqlite3.connect(tmp_path / "db.sqlite") as conn:
            unknown = conn.execute(
                "SELECT method, msg_id, raw FROM unknown_messages WHERE session_id = ?",
                (session_id,),
            ).fetchall()

    assert summary["total_events"] == 1
    assert sorted((m, i) for m, i, _ in unknown) == [
        ("WebcastBrandNewMessage", "1001"),
        ("WebcastChatMessage", "1002"),
    ]
    out, err = StringIO(), StringIO()
    assert decode_stream(unknown[0][2], out, err) == 0
    assert '"type": "unknown"' in out.getvalue()
    assert "WebcastBrandNewMessage" in out.getvalue()
    assert capture.unknown.seen == 2  # the duplicate frame added nothing
    assert capture.health().details["duplicates_skipped"] == 3


async def test_a_close_payload_frame_reconnects_and_records_the_gap(tmp_path: Path) -> None:
    close_frame = build_frame([], payload_type="close")
    server = ScriptedServer([[build_frame([chat(1)]), close_frame], [build_frame([chat(2)])]])
    async with (
        scripted(server),
        capturing(server, tmp_path / "db.sqlite", reconnect_scale=0.01) as rig,
    ):
        capture, owner, _, session_id, finish = rig
        await wait(lambda: capture.total_events == 2)
        await wait(lambda: server.received.count(b"\x3a\x02\x68\x62") >= 2)  # one per connection
        summary = await finish()
        with sqlite3.connect(tmp_path / "db.sqlite") as conn:
            gaps = conn.execute(
                "SELECT kind, cause, from_ms <= to_ms FROM gaps WHERE session_id = ?",
                (session_id,),
            ).fetchall()

    assert server.connections == 2
    assert gaps == [("events", "server_close_frame", 1)]
    assert summary["reconnect_count"] == 1
    assert not owner.ended


async def test_a_control_frame_read_together_with_the_close_still_ends_the_stream(
    tmp_path: Path,
) -> None:
    # Found under load against the simulator: events, the control frame (status 3) and the
    # close frame arrive in one read; the ack for the first frame fails (the connection is
    # closing), and the control frame already received must still be read and obeyed.
    control = pb.ControlMessage(
        common=pb.Common(method="WebcastControlMessage", msg_id=9, room_id=int(ROOM_ID)),
        action=3,
    )
    ended = build_frame([("WebcastControlMessage", 9, control.SerializeToString())], log_id=2)
    server = ScriptedServer([[burst(build_frame([chat(1)], log_id=1), ended)]])
    async with (
        scripted(server),
        capturing(server, tmp_path / "db.sqlite", reconnect_scale=0.01) as rig,
    ):
        capture, owner, *_ = rig
        await wait(lambda: owner.ended)

    assert [reason for _, reason in owner.ended] == [ExitReason.STREAM_ENDED]
    assert server.connections == 1
    assert capture.event_counts["control"] == 1


async def test_a_404_upgrade_counts_as_a_refusal_and_capture_gives_up(tmp_path: Path) -> None:
    server = ScriptedServer([[]], reject_status=404)
    async with (
        scripted(server),
        capturing(
            server, tmp_path / "db.sqlite", reconnect_scale=0.01, max_failed_attempts=3
        ) as rig,
    ):
        capture, owner, _, _, finish = rig
        await wait(lambda: capture.state == "gave_up")
        summary = await finish()

    assert server.rejected == 3
    assert "HTTP 404" in capture.detail
    assert not owner.ended
    assert summary["connection_opened"] is False


async def test_a_rising_undecodable_share_logs_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [("WebcastChatMessage", 5000 + i, b"\xff\xff") for i in range(150)]
    good = [chat(9000 + i) for i in range(50)]
    server = ScriptedServer([[build_frame(bad + good)]])
    with caplog.at_level(logging.WARNING, logger="dylived.capture.component"):
        async with scripted(server), capturing(server, tmp_path / "db.sqlite") as rig:
            capture, _, _, _, finish = rig
            await wait(lambda: capture.total_events == 50)
            await finish()
    warnings = [r for r in caplog.records if "could not be decoded" in r.getMessage()]
    assert len(warnings) == 1
    assert capture.undecodable.current_share == pytest.approx(0.75)
    assert capture.unknown.kept["WebcastChatMessage"] == 1  # one raw frame per method and frame
