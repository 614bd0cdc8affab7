"""The webcast session state machine, in the websockets sans-I/O shape.

Platform-neutral: a platform makes one with its envelope schema and its message decoder
(``WebcastSession(schema, decode)``; the capture asks the platform for it), and the events it
yields are that decoder's values.

The I/O layer feeds every WebSocket binary message to :meth:`WebcastSession.receive_data`,
then takes the decoded events from :meth:`~WebcastSession.events_received` and sends what
:meth:`~WebcastSession.data_to_send` returns (acks, heartbeats) as binary messages. It asks
:meth:`~WebcastSession.heartbeat_due` with its own clock and calls
:meth:`~WebcastSession.heartbeat` when due. A ``close`` frame from the server moves the session
to ``CLOSING``; the I/O layer then closes the connection and reconnects.

Duplicates are dropped by ``msg_id`` over a bounded window (:class:`DedupWindow`). The push
server replays recent messages after a reconnect, so the window belongs to the broadcast, not
to one connection: pass the previous session's ``dedup`` to the next session.

Pure: no sockets, files, clocks, anyio or asyncio. The caller passes ``now`` (seconds, any
monotonic origin) in.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dylived.errors import RemoteProtocolError
from dylived.wire.frames import (
    DEFAULT_MAX_PAYLOAD_SIZE,
    PAYLOAD_TYPE_CLOSE,
    PAYLOAD_TYPE_MSG,
    UINT64_MASK,
    PushSchema,
    ResponseMeta,
    UndecodableMessage,
    UnknownMessage,
    build_ack,
    build_heartbeat,
    parse_frame,
    read_response,
)


E = TypeVar("E")  # what the platform's decoder makes of one message

DEFAULT_DEDUP_CAPACITY = 10_000
# The browser and most clients send a heartbeat every 10 s (protocol.md §2.5).
DEFAULT_HEARTBEAT_INTERVAL_S = 10.0
# Never wait longer than this, whatever the server says: it drops idle clients after ~20–40 s.
MAX_HEARTBEAT_INTERVAL_S = 60.0


class SessionState(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"  # the server sent a ``close`` frame


class DedupWindow:
    """The last ``capacity`` msg_ids seen, oldest forgotten first (a deque plus a set)."""

    __slots__ = ("_order", "_seen", "capacity")

    def __init__(self, capacity: int = DEFAULT_DEDUP_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._order: deque[int] = deque()
        self._seen: set[int] = set()

    def check_and_add(self, msg_id: int) -> bool:
        """Record ``msg_id``; True when it was already in the window (a duplicate)."""
        if msg_id in self._seen:
            return True
        self._seen.add(msg_id)
        self._order.append(msg_id)
        if len(self._order) > self.capacity:
            self._seen.discard(self._order.popleft())
        return False

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._seen

    def __len__(self) -> int:
        return len(self._order)


@dataclass(frozen=True, slots=True)
class SessionStatistics:
    """Counters of one session (one connection).

    ``frames``: binary messages received (parsed or not); ``failed_frames``: those that were
    not a valid frame; ``messages_decoded``: typed events produced; ``duplicates_skipped``:
    messages dropped by the dedup window; ``unknown_methods`` / ``undecodable``: messages kept
    raw; ``heartbeats_sent`` / ``acks_sent``: frames queued for sending.
    """

    frames: int = 0
    failed_frames: int = 0
    messages_decoded: int = 0
    duplicates_skipped: int = 0
    unknown_methods: int = 0
    undecodable: int = 0
    heartbeats_sent: int = 0
    acks_sent: int = 0


def heartbeat_interval_s(
    server_value: int, default_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
) -> float:
    """The client heartbeat interval for a Response's ``heartbeat_duration``.

    The unit is undocumented (the 2022 capture says 15, JW reads seconds); values of 1000 and
    more can only be milliseconds (TikTok passes 10000). Like JW we never go below the 10 s
    default, and we never exceed :data:`MAX_HEARTBEAT_INTERVAL_S`.
    """
    seconds = server_value / 1000 if server_value >= 1000 else float(server_value)
    return min(max(default_s, seconds), MAX_HEARTBEAT_INTERVAL_S)


class WebcastSession(Generic[E]):
    """One webcast push connection, without the connection.

    Args:
        schema: the platform's envelope classes (:class:`~dylived.wire.frames.PushSchema`).
        decode: the platform's message decoder; its values are the events.
        dedup: the msg_id window to use; share the previous session's to survive reconnects.
        max_payload_size: the decompressed-size cap of one frame's payload.
        heartbeat_default_s: the heartbeat interval until (and at least what) the server says.
    """

    def __init__(
        self,
        schema: PushSchema,
        decode: Callable[[str, int, bytes, int], E],
        *,
        dedup: DedupWindow | None = None,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        heartbeat_default_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
    ) -> None:
        self.schema = schema
        self._decode = decode
        self.dedup = dedup if dedup is not None else DedupWindow()
        self.state = SessionState.OPEN
        self.max_payload_size = max_payload_size
        self.heartbeat_default_s = heartbeat_default_s
        self.heartbeat_interval_s = heartbeat_default_s
        self.next_heartbeat_at: float | None = None  # None: due now
        self.last_response: ResponseMeta | None = None
        # Server clock (Unix ms) of the last msg frame: Response.now, else the im-now header;
        # compare with the caller's receive time to measure skew. 0 until known.
        self.server_now_ms = 0
        self.last_seq_id = 0
        self.opening_frame = b""  # events before the first frame: none (platforms/base.py)
        self._events: list[E] = []
        self._outgoing: list[bytes] = []
        self._frames = 0
        self._failed_frames = 0
        self._decoded = 0
        self._duplicates = 0
        self._unknown = 0
        self._undecodable = 0
        self._heartbeats = 0
        self._acks = 0

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes) -> None:
        """Process one WebSocket binary message.

        Decoded events go to :meth:`events_received`; an ack (when the Response asks for
        one) goes to :meth:`data_to_send`. Bad messages inside a good frame become
        ``UnknownMessage``/``UndecodableMessage`` events, never errors. Frames that arrive
        after a ``close`` frame are still decoded: their events are real.

        Raises:
            RemoteProtocolError: the bytes are not a valid frame (counted in
                ``failed_frames``); the session stays usable for the next frame.
        """
        self._frames += 1
        try:
            frame = parse_frame(data, self.schema, max_payload_size=self.max_payload_size)
            if frame.payload_type != PAYLOAD_TYPE_MSG:
                self._other_frame(frame.payload_type)
                return
            meta, messages = read_response(frame.payload, self.schema)
        except RemoteProtocolError:
            self._failed_frames += 1
            raise
        self.last_seq_id = frame.seq_id
        self.last_response = meta
        if meta.heartbeat_duration:
            self.heartbeat_interval_s = heartbeat_interval_s(
                meta.heartbeat_duration, self.heartbeat_default_s
            )
        if meta.need_ack:
            # Clients ack with the Response's internal_ext; DC falls back to the header.
            ext = meta.internal_ext or frame.headers.get("im-internal_ext", "")
            self._outgoing.append(build_ack(frame.log_id, ext, self.schema))
            self._acks += 1
        now_ms = meta.now_ms or _int_header(frame.headers.get("im-now"))
        self.server_now_ms = now_ms
        # The hot loop (~20 messages a frame): locals, and the counters added once (the
        # decoders never raise).
        seen, decode, append = self.dedup.check_and_add, self._decode, self._events.append
        duplicates = unknown = undecodable = produced = 0
        for message in messages:
            msg_id = message.msg_id & UINT64_MASK  # int64 on the wire, unsigned here
            if msg_id and seen(msg_id):
                duplicates += 1
                continue
            event = decode(message.method, msg_id, message.payload, now_ms)
            kind = type(event)  # exact types: the decoders' own two values, never subclassed
            if kind is UnknownMessage:
                unknown += 1
            elif kind is UndecodableMessage:
                undecodable += 1
            append(event)
            produced += 1
        self._duplicates += duplicates
        self._unknown += unknown
        self._undecodable += undecodable
        self._decoded += produced - unknown - undecodable

    def _other_frame(self, payload_type: str) -> None:
        # "hb" is the server's heartbeat answer and "ack" is never sent to us: nothing to do.
        if payload_type == PAYLOAD_TYPE_CLOSE:
            self.state = SessionState.CLOSING

    # ------------------------------------------------------------------ heartbeat

    def heartbeat_due(self, now: float) -> bool:
        """True when a heartbeat should be sent at ``now`` (never while closing)."""
        if self.state is not SessionState.OPEN:
            return False
        return self.next_heartbeat_at is None or now >= self.next_heartbeat_at

    def heartbeat(self, now: float) -> None:
        """Queue a heartbeat frame and schedule the next one ``heartbeat_interval_s`` later."""
        self._outgoing.append(build_heartbeat(self.schema))
        self._heartbeats += 1
        self.next_heartbeat_at = now + self.heartbeat_interval_s

    # ------------------------------------------------------------------ output

    def events_received(self) -> list[E]:
        """The events decoded since the last call, in arrival order."""
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> list[bytes]:
        """The frames to send since the last call (acks and heartbeats), in order."""
        data, self._outgoing = self._outgoing, []
        return data

    @property
    def close_requested(self) -> bool:
        """True once the server sent a ``close`` frame."""
        return self.state is SessionState.CLOSING

    def finish(self) -> list[E]:
        """Nothing: every event is handed out as its frame arrives (the seam's end hook)."""
        return []

    def statistics(self) -> SessionStatistics:
        return SessionStatistics(
            frames=self._frames,
            failed_frames=self._failed_frames,
            messages_decoded=self._decoded,
            duplicates_skipped=self._duplicates,
            unknown_methods=self._unknown,
            undecodable=self._undecodable,
            heartbeats_sent=self._heartbeats,
            acks_sent=self._acks,
        )


def _int_header(value: str | None) -> int:
    """A header holding a decimal number (``im-now``), or 0 when absent or not a number."""
    # ASCII digits only, and short: int() rejects other Unicode digits and 4300+ digit strings.
    if value is not None and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return 0
