"""The TikTok push session state machine, in the websockets sans-I/O shape (as Douyin's
:class:`dylived.wire.session.WebcastSession`, with TikTok's rules).

The I/O layer calls :meth:`TikTokSession.receive_data` with every WebSocket binary message, then
takes the rows from :meth:`~TikTokSession.rows_received` and sends what
:meth:`~TikTokSession.data_to_send` returns. TikTok's rules (protocol.md §3.2, tiktok.md §3.5):
the first frame a client sends is ``im_enter_room`` (queued at construction) and heartbeats
start only after it (TikTok-Live-Connector's order; the server answers
``im_enter_room_resp``); a heartbeat carries the room id and a packet counter; a Response with
``need_ack`` is acked with its ``internal_ext``; the last ``cursor`` and ``internal_ext`` are
kept so that a reconnect (a new signing-server fetch) can resume. ControlMessage 1 pauses and 2
resumes the broadcast (the session goes on); 3 (ended) and 4 (suspended) end it.

Gift rows go through :class:`~dylived.platforms.tiktok.streaks.GiftStreaks` (one row per
streak, at its end); :meth:`~TikTokSession.finish` flushes the streaks still open. Duplicates
(the push server replays recent messages after a reconnect) are dropped by ``msg_id`` over a
:class:`~dylived.wire.session.DedupWindow`; pass the previous session's ``dedup`` and
``streaks`` to the next one so both survive reconnects.

Pure: no sockets, files, clocks, anyio or asyncio; the caller passes ``now`` (seconds, any
monotonic origin) and its row context in.
"""

from __future__ import annotations

from dataclasses import replace

from dylived.errors import RemoteProtocolError
from dylived.platforms.tiktok.common import Row, RowContext
from dylived.platforms.tiktok.decode import rows_of_response
from dylived.platforms.tiktok.envelope import (
    PAYLOAD_TYPE_ENTER_ROOM_RESPONSE,
    SCHEMA,
    FetchResult,
    build_ack,
    build_enter_room,
    build_heartbeat,
    parse_fetch_result,
)
from dylived.platforms.tiktok.streaks import GiftStreaks
from dylived.wire.frames import DEFAULT_MAX_PAYLOAD_SIZE, PAYLOAD_TYPE_MSG, parse_frame
from dylived.wire.session import DedupWindow, heartbeat_interval_s


# TikTok-Live-Connector sends one every 10 s; the Response's heartbeat_duration (ms) may say more.
DEFAULT_HEARTBEAT_INTERVAL_S = 10.0
CONTROL_PAUSED, CONTROL_RESUMED = 1, 2
_NO_CONTEXT = RowContext()


class TikTokSession:
    """One TikTok push connection, without the connection.

    Args:
        room_id: the room to enter.
        enter_unique_id: the caller's random number for ``im_enter_room``.
        cursor: the cursor to resume from (the previous session's, or the fetch result's).
        dedup: the msg_id window; share the previous session's to survive reconnects.
        streaks: the open gift streaks; share the previous session's likewise.
    """

    def __init__(
        self,
        room_id: int,
        enter_unique_id: int,
        *,
        cursor: str = "",
        dedup: DedupWindow | None = None,
        streaks: GiftStreaks | None = None,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        heartbeat_default_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
    ) -> None:
        self.room_id = room_id
        self.dedup = dedup if dedup is not None else DedupWindow()
        self.streaks = streaks if streaks is not None else GiftStreaks()
        self.max_payload_size = max_payload_size
        self.heartbeat_default_s = heartbeat_default_s
        self.heartbeat_interval_s = heartbeat_default_s
        self.next_heartbeat_at: float | None = None  # None: due now
        self.cursor = cursor
        self.internal_ext = ""
        self.server_now_ms = 0
        self.entered = False  # the server answered im_enter_room
        self.paused = False  # ControlMessage 1 until a 2
        self.ended = False  # ControlMessage 3 or 4
        self.frames = self.failed_frames = self.duplicates = 0
        self.heartbeats_sent = self.acks_sent = 0
        self._packet_seq = 0
        self._rows: list[Row] = []
        self._outgoing = [build_enter_room(room_id, enter_unique_id, cursor)]

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes, context: RowContext = _NO_CONTEXT) -> None:
        """Process one WebSocket binary message; ``context`` goes into its rows.

        Raises:
            RemoteProtocolError: the bytes are not a valid frame or Response (counted in
                ``failed_frames``); the session stays usable for the next frame.
        """
        self.frames += 1
        try:
            frame = parse_frame(data, SCHEMA, max_payload_size=self.max_payload_size)
            if frame.payload_type == PAYLOAD_TYPE_ENTER_ROOM_RESPONSE:
                self.entered = True
            if frame.payload_type != PAYLOAD_TYPE_MSG:
                return
            result = parse_fetch_result(frame.payload)
        except RemoteProtocolError:
            self.failed_frames += 1
            raise
        if result.need_ack:
            self._outgoing.append(build_ack(frame.log_id, result.internal_ext))
            self.acks_sent += 1
        self._take(result, context)

    def receive_opening(self, result: FetchResult, context: RowContext = _NO_CONTEXT) -> None:
        """Take a signing server's first fetch result (never acked): its cursor, its rows."""
        self._take(result, context)

    def _take(self, result: FetchResult, context: RowContext) -> None:
        self._track(result)
        fresh = [
            m for m in result.messages if not (m.msg_id and self.dedup.check_and_add(m.msg_id))
        ]
        self.duplicates += len(result.messages) - len(fresh)
        for row in rows_of_response(replace(result, messages=tuple(fresh)), context):
            self._control(row)
            self._rows.extend(self.streaks.feed(row))

    def _track(self, result: FetchResult) -> None:
        self.cursor = result.cursor or self.cursor
        self.internal_ext = result.internal_ext or self.internal_ext
        self.server_now_ms = result.now_ms or self.server_now_ms
        if result.heartbeat_duration:
            self.heartbeat_interval_s = heartbeat_interval_s(
                result.heartbeat_duration, self.heartbeat_default_s
            )

    def _control(self, row: Row) -> None:
        if row["type"] != "control":
            return
        if row["stream_ended"]:
            self.ended = True
        elif row["status"] in (CONTROL_PAUSED, CONTROL_RESUMED):
            self.paused = row["status"] == CONTROL_PAUSED

    # ------------------------------------------------------------------ heartbeat

    def heartbeat_due(self, now: float) -> bool:
        """True when a heartbeat should be sent at ``now``: never before the server answered
        ``im_enter_room``, never once the broadcast ended."""
        if not self.entered or self.ended:
            return False
        return self.next_heartbeat_at is None or now >= self.next_heartbeat_at

    def heartbeat(self, now: float) -> None:
        """Queue a heartbeat (the next packet number) and schedule the next one."""
        self._packet_seq += 1
        self._outgoing.append(build_heartbeat(self.room_id, self._packet_seq))
        self.heartbeats_sent += 1
        self.next_heartbeat_at = now + self.heartbeat_interval_s

    # ------------------------------------------------------------------ output

    def rows_received(self) -> list[Row]:
        """The rows to keep since the last call, in arrival order."""
        rows, self._rows = self._rows, []
        return rows

    def data_to_send(self) -> list[bytes]:
        """The frames to send since the last call (enter room, acks, heartbeats), in order."""
        data, self._outgoing = self._outgoing, []
        return data

    def finish(self) -> list[Row]:
        """The rows still held at the end of the broadcast: open gift streaks, marked
        ``streak_interrupted``. Call it when the capture stops, not on a reconnect."""
        return self.rows_received() + self.streaks.flush()
