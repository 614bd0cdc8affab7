"""One WebSocket push connection: frames out, heartbeats/acks/pongs in, and how it ends.

Runs websockets' sans-I/O ``ServerProtocol`` (already OPEN: the HTTP layer did the upgrade) over
the anyio stream. The room hands it batches of events with ``offer``; a writer task sends them as
PushFrames (need_ack set) in order, in the framing of the room's personality (``sim/framing.py``).
A pinger sends WebSocket pings every ``ping_interval`` and drops a client whose pong is more than
``ping_timeout`` late; a watchdog drops a client that sent no heartbeat frame for
``heartbeat_timeout``. A framing with an ``enter_reply`` holds every event until the client sent
its enter-room frame, answered with that reply (a heartbeat before it is counted in
``heartbeats_before_enter``). ``end`` closes politely (optionally after a
ControlMessage action 3); ``drop`` closes the TCP connection without a close frame. Everything
the client does is written to its ``PushConnectionRecord``. ``offer_bulk`` queues events built
from pre-encoded templates (``sim/templates.py``): counted in ``bulk_events``, not recorded one
by one.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio
import anyio.abc
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from dylived.sim.framing import FrameContext, Framing
from dylived.sim.observe import AckRecord, PushConnectionRecord, SentEvent
from dylived.sim.script import ScriptedEvent
from dylived.sim.templates import FrameTemplates


OUTBOX_FRAMES = 1024
CLOSE_GRACE = 2.0


@dataclass(frozen=True, slots=True)
class _Outgoing:
    events: tuple[ScriptedEvent, ...]
    end_reason: str | None = None
    control: ScriptedEvent | None = None
    bulk: int = 0  # > 0: that many events from templates of ``events`` (a sample)


class PushSession:
    """One push client; ``run`` serves it until it closes or is dropped."""

    def __init__(
        self,
        *,
        record: PushConnectionRecord,
        room_id: int,
        framing: Framing,
        heartbeat_timeout: float,
        ping_interval: float,
        ping_timeout: float,
        on_sent: Callable[[Sequence[SentEvent]], None],
        record_frames: bool = True,
        on_bulk: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.record = record
        self.room_id = room_id
        self.framing = framing
        self.heartbeat_timeout = heartbeat_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._on_sent = on_sent
        self._on_bulk = on_bulk
        self._templates: FrameTemplates | None = None
        self._templates_of: tuple[ScriptedEvent, ...] | None = None
        self._record_frames = record_frames
        self._protocol = ServerProtocol(state=State.OPEN, max_size=2**20)
        self._send_lock = anyio.Lock()
        self._outbox_send, self._outbox_receive = anyio.create_memory_object_stream[_Outgoing](
            OUTBOX_FRAMES
        )
        self._seq = 0
        self._rng = random.Random(record.conn_id)
        self._last_heartbeat = time.monotonic()
        self._pending_ping: tuple[bytes, float] | None = None
        self._cancel = anyio.CancelScope()
        self._stream: anyio.abc.ByteStream | None = None
        self._entered = anyio.Event()
        if framing.enter_reply is None:
            self._entered.set()

    # ------------------------------------------------------------ called by the room

    def offer(self, events: Sequence[ScriptedEvent]) -> None:
        """Queue events for sending; a client too slow to keep up is dropped."""
        if not events or not self.record.open:
            return
        try:
            self._outbox_send.send_nowait(_Outgoing(tuple(events)))
        except anyio.WouldBlock:
            self.drop("slow_consumer")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    def offer_bulk(self, sample: tuple[ScriptedEvent, ...], count: int) -> None:
        """Queue ``count`` events built from templates of ``sample`` (``sim/templates.py``);
        a client too slow to keep up is dropped, as with ``offer``."""
        if count <= 0 or not self.record.open:
            return
        try:
            self._outbox_send.send_nowait(_Outgoing(sample, bulk=count))
        except anyio.WouldBlock:
            self.drop("slow_consumer")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    async def send(self, events: Sequence[ScriptedEvent]) -> None:
        """Queue events, waiting while the outbox is full (backpressure for floods)."""
        if events and self.record.open:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._outbox_send.send(_Outgoing(tuple(events)))

    def end(self, reason: str, *, control: ScriptedEvent | None) -> None:
        """Close politely after what is queued: a control frame (if given), then a close frame."""
        try:
            self._outbox_send.send_nowait(_Outgoing((), reason, control))
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.drop(reason)

    def drop(self, reason: str) -> None:
        """Close the TCP connection now, without a close frame."""
        if not self.record.close_reason:
            self.record.close_reason = reason
        self._cancel.cancel()

    # ------------------------------------------------------------ serving

    async def run(self, stream: anyio.abc.ByteStream, initial: bytes) -> None:
        self._stream = stream
        try:
            with self._cancel:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._writer)
                    tg.start_soon(self._watchdog)
                    if self.ping_interval > 0:
                        tg.start_soon(self._pinger)
                    if initial:
                        await self._received(initial)
                    await self._reader()
                    tg.cancel_scope.cancel()
        finally:
            self.record.closed_at = time.time()
            if not self.record.close_reason:
                self.record.close_reason = "client_closed"
            self._outbox_send.close()
            self._outbox_receive.close()

    async def _flush(self) -> None:
        data = b"".join(self._protocol.data_to_send())
        if data and self._stream is not None:
            try:
                async with self._send_lock:
                    await self._stream.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                # the client is gone (a reset, a killed daemon): this connection ends, not the
                # simulator
                self.drop("client_closed")

    async def _reader(self) -> None:
        assert self._stream is not None
        while True:
            try:
                data = await self._stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._protocol.receive_eof()
                return
            if await self._received(data):
                return

    async def _received(self, data: bytes) -> bool:
        """Feed bytes; True once the WebSocket is closed."""
        self._protocol.receive_data(data)
        now = time.time()
        for frame in self._protocol.events_received():
            if not isinstance(frame, Frame):
                continue
            if frame.opcode is Opcode.BINARY:
                self._client_frame(bytes(frame.data), now)
            elif frame.opcode is Opcode.PONG:
                self.record.pongs.append(now)
                if self._pending_ping is not None and bytes(frame.data) == self._pending_ping[0]:
                    self._pending_ping = None
            elif frame.opcode is Opcode.TEXT:
                self.record.other_frames.append(bytes(frame.data))
            elif frame.opcode is Opcode.CLOSE and not self.record.close_reason:
                self.record.close_reason = "client_closed"
        await self._flush()  # pongs to client pings, close replies
        # after a close handshake the server closes the TCP connection first (RFC 6455 §7.1.1)
        return self._protocol.state is State.CLOSED or (
            self._protocol.state is State.CLOSING and self._protocol.close_expected()
        )

    def _client_frame(self, data: bytes, now: float) -> None:
        parsed = self.framing.parse_client_frame(data)
        if parsed.kind == "enter" and self.framing.enter_reply is not None:
            if self.record.entered_at is None:
                self.record.entered_at = now
                self._protocol.send_binary(self.framing.enter_reply(self.room_id))
            self._entered.set()
        elif parsed.kind == "heartbeat":
            if self.framing.enter_reply is not None and self.record.entered_at is None:
                self.record.heartbeats_before_enter += 1
            self.record.heartbeats.append(now)
            self.record.exact_heartbeats += parsed.exact_heartbeat
            self._last_heartbeat = time.monotonic()
        elif parsed.kind == "ack":
            matched = parsed.log_id in self.record.msg_log_ids
            self.record.acks.append(AckRecord(now, parsed.log_id, parsed.payload, matched))
        else:
            self.record.other_frames.append(data)

    async def _writer(self) -> None:
        async for item in self._outbox_receive:
            if item.end_reason is None:
                await self._entered.wait()  # a platform whose clients enter the room first
                if item.bulk:
                    await self._send_bulk(item.events, item.bulk)
                else:
                    await self._send_events(item.events)
            else:
                if item.control is not None and self._entered.is_set():
                    await self._send_events((item.control,))
                if not self.record.close_reason:
                    self.record.close_reason = item.end_reason
                if self._protocol.state is State.OPEN:
                    self._protocol.send_close(1000)
                    await self._flush()
                await anyio.sleep(CLOSE_GRACE)  # let the client answer the close
                self._cancel.cancel()
                return

    async def _send_events(self, events: Sequence[ScriptedEvent]) -> None:
        if self._protocol.state is not State.OPEN:
            return
        now = time.time()
        ctx, log_id = self._context(now)
        frame = self.framing.encode_frame(events, ctx)
        if self._record_frames:
            self.record.frames_sent.append(frame)
        sent = [
            SentEvent(
                conn_id=self.record.conn_id,
                room_id=self.record.room_id,
                web_rid=self.record.web_rid,
                type=event.type,
                method=event.method,
                msg_id=event.msg_id,
                sent_at=now,
                log_id=log_id,
            )
            for event in events
        ]
        self.record.events.extend(sent)
        self._on_sent(sent)
        self._protocol.send_binary(frame)
        await self._flush()

    def _context(self, now: float) -> tuple[FrameContext, int]:
        self._seq += 1
        log_id = self._rng.randrange(1, 2**63)
        self.record.msg_log_ids.add(log_id)
        ctx = FrameContext(
            room_id=self.room_id,
            seq_id=self._seq,
            log_id=log_id,
            now_ms=int(now * 1000),
            heartbeat_duration=0,
        )
        return ctx, log_id

    async def _send_bulk(self, sample: tuple[ScriptedEvent, ...], count: int) -> None:
        """``count`` events from templates: counted, not recorded one by one (nor the frame)."""
        if self._protocol.state is not State.OPEN:
            return
        if self._templates is None or self._templates_of is not sample:
            self._templates = FrameTemplates(self.framing, sample)
            self._templates_of = sample
        ctx, _ = self._context(time.time())
        frame, _ids = self._templates.frame(count, ctx)
        self.record.bulk_events += count
        self._on_bulk(count)
        self._protocol.send_binary(frame)
        await self._flush()

    async def _pinger(self) -> None:
        while True:
            await anyio.sleep(self.ping_interval)
            if self._pending_ping is not None:
                continue  # the watchdog judges the late pong
            data = self._rng.randbytes(4)
            self._pending_ping = (data, time.monotonic())
            self.record.pings_sent.append(time.time())
            if self._protocol.state is State.OPEN:
                self._protocol.send_ping(data)
                await self._flush()

    async def _watchdog(self) -> None:
        step = max(0.05, min(1.0, self.heartbeat_timeout / 10, self.ping_timeout / 10))
        while True:
            await anyio.sleep(step)
            now = time.monotonic()
            if now - self._last_heartbeat > self.heartbeat_timeout:
                self.drop("heartbeat_timeout")
                return
            pending = self._pending_ping
            if pending is not None and now - pending[1] > self.ping_timeout:
                self.drop("ping_timeout")
                return
