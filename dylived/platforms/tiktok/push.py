"""TikTok's event connection: a signing-server call per connection, then TikTok's push rules.

:class:`TikTokPush` is the ``EventSource`` of ``platforms/base.py`` for TikTok (tiktok.md §3,
protocol.md §3.2). **connection()** asks the configured ``[tiktok] sign_server``
(``signer.SigningClient``: one call of the signing account's daily budget,
``sign_budget_per_day``, shared by every TikTok session of the daemon) for the room's first
``ProtoMessageFetchResult``, resuming from the cursor the previous connection of the session
reached; the WebSocket URL is the result's ``push_server`` with its route parameters, the
cursor and ``internal_ext`` (``signer.push_url``), the handshake sends the cookies of
``X-Set-TT-Cookie`` (and the configured ``sessionid`` / ``tt-target-idc``, to TikTok only, never
to the signing server) with ``Origin: https://www.tiktok.com``. Without a ``sign_server`` it
raises ``EventsUnavailable`` before any request: the capture says events are off and why, and
the broadcaster is still recorded. A 429 is ``RateLimited`` (the capture waits as asked), a
used-up budget too (until UTC midnight).

**new_session()** wraps a ``session.TikTokSession`` (enter room first, heartbeats with the room id
and a packet counter, acks with ``internal_ext``, ControlMessage 1/2 pause/resume and 3/4 the
end) as :class:`TikTokWire`, the shape capture drives; the first fetch result's messages are its
opening events (``opening_frame``: that result as a ``msg`` PushFrame, for ``dylived decode``),
so they become rows too. The msg_id window and the open gift streaks are the session's, shared by
its connections; ``finish()`` gives the streaks still open when the capture ends (marked
``streak_interrupted``).

**Gift values**: after the streak step every gift row gets its name and diamond value from the
gift catalogue when its message lacks them (``gifts.enrich_gift_row``). The catalogue is the
process's one :class:`~dylived.platforms.tiktok.gifts.GiftCatalogueKeeper` per cache file
(:func:`keeper_for`; ``tiktok-gifts.json`` in the state directory), fetched from the signing
server's gift route (``SigningClient.gift_list``, a budget call) when a connection is made and
the catalogue is over a day old; a failed fetch is logged, shown in the capture's health
(``gift_catalogue_error``) and tried again an hour later, never stopping the capture.

Rows get the broadcaster's handle (``handle`` and ``unique_id``), the room id, the arrival time
and the recording offset; unknown and undecodable messages go to the capture
as ``UnknownMessage``/``UndecodableMessage`` (kept raw).
"""

from __future__ import annotations

import base64
import logging
import random
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dylived.errors import EventsUnavailable, UpstreamError
from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.base import EventConnection, Row
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import PLATFORM
from dylived.platforms.tiktok.envelope import PAYLOAD_ENCODING, SCHEMA, FetchResult
from dylived.platforms.tiktok.gifts import GiftCatalogue, GiftCatalogueKeeper, enrich_gift_row
from dylived.platforms.tiktok.session import TikTokSession
from dylived.platforms.tiktok.signer import Signed, SigningClient, account_for, push_url
from dylived.platforms.tiktok.streaks import GiftStreaks
from dylived.store.filecache import JsonFileCache
from dylived.wire.frames import PAYLOAD_TYPE_MSG, UndecodableMessage, UnknownMessage
from dylived.wire.session import DedupWindow, SessionStatistics


logger = logging.getLogger(__name__)

ORIGIN = "https://www.tiktok.com"
GIFT_CACHE_NAME = "tiktok-gifts.json"  # in the state directory
NO_SIGN_SERVER = "events off: no [tiktok] sign_server configured (see README, TikTok)"


def opening_frame(signed_body: bytes) -> bytes:
    """A signing server's first fetch result as the ``msg`` PushFrame a WebSocket would carry
    (not to be acked: ``need_ack`` cleared)."""
    response = pb.Response.FromString(signed_body)
    response.need_ack = False
    frame = pb.PushFrame(
        payload_encoding=PAYLOAD_ENCODING,
        payload_type=PAYLOAD_TYPE_MSG,
        payload=response.SerializeToString(),
    )
    return bytes(frame.SerializeToString())


Catalogue = Callable[[], GiftCatalogue | None]


def _no_catalogue() -> GiftCatalogue | None:
    return None


async def _no_gift_list() -> dict[str, Any]:
    raise EventsUnavailable("no signing server to fetch the gift list from")


_KEEPERS: dict[Path | None, GiftCatalogueKeeper] = {}


def keeper_for(cache_path: Path | None) -> GiftCatalogueKeeper:
    """The process's one catalogue keeper of ``cache_path`` (None: kept in memory only)."""
    keeper = _KEEPERS.get(cache_path)
    if keeper is None:
        cache = JsonFileCache(cache_path) if cache_path is not None else None
        keeper = _KEEPERS[cache_path] = GiftCatalogueKeeper(_no_gift_list, cache)
    return keeper


def _event(row: Row) -> object:
    """A session row as capture takes it: raw messages as the shared wire values."""
    kind = row["type"]
    if kind not in ("unknown", "undecodable"):
        return row
    payload = base64.b64decode(row["payload_base64"])
    msg_id = int(row["msg_id"] or 0)
    server_ms = int(row["server_time_ms"] or 0)
    if kind == "unknown":
        return UnknownMessage(row["method"], msg_id, payload, server_ms)
    return UndecodableMessage(row["method"], msg_id, payload, str(row.get("error", "")), server_ms)


class TikTokWire:
    """A :class:`TikTokSession` in the ``EventSession`` shape of ``platforms/base.py``.

    ``opening``: the signing server's first result, taken before anything else (its rows come
    out of the first ``events_received``; it is never acked); ``frame``: it as a PushFrame;
    ``catalogue``: the gift catalogue to fill gift rows from (read at each call).
    """

    def __init__(
        self,
        session: TikTokSession,
        opening: FetchResult | None = None,
        frame: bytes = b"",
        catalogue: Catalogue = _no_catalogue,
    ) -> None:
        self.session = session
        self.catalogue = catalogue
        self.schema = SCHEMA
        self.opening_frame = frame
        self._enter_pending = True  # the im_enter_room frame queued at construction
        if opening is not None:
            session.receive_opening(opening)

    @property
    def next_heartbeat_at(self) -> float | None:
        return self.session.next_heartbeat_at

    @property
    def close_requested(self) -> bool:
        return False  # TikTok's server closes the WebSocket itself

    @property
    def paused(self) -> bool:
        return self.session.paused

    def receive_data(self, data: bytes) -> None:
        self.session.receive_data(data)

    def events_received(self) -> list[Any]:
        return self._events(self.session.rows_received())

    def finish(self) -> list[Any]:
        """The open gift streaks as their rows (``streak_interrupted``): the capture's end."""
        return self._events(self.session.finish())

    def _events(self, rows: list[Row]) -> list[Any]:
        catalogue = self.catalogue()
        return [_event(enrich_gift_row(row, catalogue)) for row in rows]

    def data_to_send(self) -> list[bytes]:
        self._enter_pending = False
        return self.session.data_to_send()

    def heartbeat_due(self, now: float) -> bool:
        """Due when the enter frame waits to go, or the session says so (after entering)."""
        return self._enter_pending or self.session.heartbeat_due(now)

    def heartbeat(self, now: float) -> None:
        if self.session.heartbeat_due(now):
            self.session.heartbeat(now)

    def statistics(self) -> SessionStatistics:
        s = self.session
        return SessionStatistics(
            frames=s.frames,
            failed_frames=s.failed_frames,
            duplicates_skipped=s.duplicates,
            heartbeats_sent=s.heartbeats_sent,
            acks_sent=s.acks_sent,
        )


class TikTokCodec:
    """TikTok's frames and events without a connection (the ``EventCodec`` of base.py)."""

    def new_session(self, dedup: DedupWindow | None = None) -> TikTokWire:
        """A session of no room (``dylived decode``, benchmarks): frames in, rows out."""
        wire = TikTokWire(TikTokSession(0, 0, dedup=dedup))
        wire.data_to_send()  # no room to enter: only acks go out
        return wire

    def row_type(self, event: object) -> str:
        if isinstance(event, dict):
            return str(event["type"])
        return str(getattr(event, "row_type", "unknown"))

    def ends_stream(self, event: object) -> bool:
        return isinstance(event, dict) and event["type"] == "control" and event["stream_ended"]

    def event_row(
        self,
        event: object,
        status: LiveStatus,
        *,
        received_at_ms: int | None,
        stream_offset_s: float | None,
    ) -> Row:
        if isinstance(event, dict):
            row: Row = dict(event)
        else:  # an UnknownMessage or UndecodableMessage (``dylived decode`` shows them too)
            row = {
                "type": self.row_type(event),
                "method": getattr(event, "method", ""),
                "msg_id": str(getattr(event, "msg_id", 0) or "") or None,
                "error": getattr(event, "error", None),
                "server_time_ms": getattr(event, "server_time_ms", None) or None,
            }
        row["platform"] = PLATFORM
        row["room_id"] = row.get("room_id") or status.room_id
        row["handle"] = row.get("handle") or status.handle
        row["unique_id"] = row["handle"]  # TikTok's name of the broadcaster's @handle
        row["received_at_ms"] = received_at_ms
        row["stream_offset_s"] = stream_offset_s
        return row

    def room_info_row(self, status: LiveStatus, *, raw_url: str, received_at_ms: int) -> Row:
        return {
            "type": "room_info",
            "platform": PLATFORM,
            "room_id": status.room_id,
            "handle": status.handle,
            "unique_id": status.handle,
            "broadcaster": {
                "nickname": status.nickname,
                "user_id": status.user_id,
                "unique_id": status.handle,
                "sec_uid": status.extra.get("sec_uid"),
            },
            "title": status.title,
            "user_count_text": status.viewers_text or None,
            "raw_url": raw_url,
            "live": status.live,
            "stream_qualities": list(status.streams),
            "server_time_ms": status.server_time_ms,
            "received_at_ms": received_at_ms,
        }


CODEC = TikTokCodec()


class TikTokPush(TikTokCodec):
    """TikTok's event source for one session (see the module docstring)."""

    def __init__(
        self,
        signer: SigningClient | None,
        *,
        user_agent: str,
        cookies: tuple[tuple[str, str], ...] = (),
        gifts: GiftCatalogueKeeper | None = None,
    ) -> None:
        self.signer = signer
        self.gifts = gifts if gifts is not None else GiftCatalogueKeeper(_no_gift_list)
        self.user_agent = user_agent
        self.cookies = cookies  # sessionid / tt-target-idc: to TikTok's WebSocket only
        self.streaks = GiftStreaks()
        self._signed: Signed | None = None  # the last connection's first result
        self._last: TikTokSession | None = None
        self._room_id = 0
        self._enter_id = 0

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.signer.base if self.signer is not None else "tiktok-signing-server",)

    def statistics(self) -> dict[str, Any]:
        """The signing account's counters, and whether the broadcaster paused the stream
        (ControlMessage 1 until a 2: the session, the recording and the connection go on)."""
        catalogue = self.gifts.catalogue
        paused = {
            "broadcast_paused": self._last is not None and self._last.paused,
            "gift_catalogue_gifts": len(catalogue.gifts) if catalogue is not None else 0,
            "gift_catalogue_error": self.gifts.last_error or self.gifts.cache_error,
        }
        if self.signer is None:
            return {"sign_server": None, **paused}
        return {**self.signer.statistics(datetime.now(UTC)), **paused}

    @property
    def resume_cursor(self) -> str:
        """Where the next connection resumes: the last cursor any connection of it reached."""
        if self._last is not None and self._last.cursor:
            return self._last.cursor
        return self._signed.result.cursor if self._signed is not None else ""

    async def connection(
        self, status: LiveStatus, *, host_index: int, number: int, rng: random.Random
    ) -> EventConnection:
        if self.signer is None:
            raise EventsUnavailable(NO_SIGN_SERVER)
        if not status.room_id:
            raise UpstreamError("the live status has no room_id")
        signed = await self.signer.connect(
            status.room_id, user_agent=self.user_agent, cursor=self.resume_cursor
        )
        room_id = signed.room_id or status.room_id
        last = self._last
        url = push_url(
            signed.result,
            room_id=room_id,
            user_agent=self.user_agent,
            cursor=signed.result.cursor or self.resume_cursor,
            internal_ext=signed.result.internal_ext or (last.internal_ext if last else ""),
        )
        self._signed, self._room_id = signed, int(room_id) if room_id.isdigit() else 0
        self._enter_id = rng.randrange(10**18, 10**19)
        await self._refresh_gifts(self.signer, room_id)
        cookie = "; ".join(f"{k}={v}" for k, v in (*signed.cookies, *self.cookies) if v)
        return EventConnection(
            url=url,
            user_agent=self.user_agent,
            origin=ORIGIN,
            headers=(("Cookie", cookie), ("Referer", ORIGIN + "/")),
            host=urllib.parse.urlsplit(url).netloc,
        )

    async def _refresh_gifts(self, signer: SigningClient, room_id: str) -> None:
        """The gift catalogue, fetched when it is due (a failure is logged, nothing raised)."""
        keeper, failures = self.gifts, self.gifts.failures

        async def fetch() -> dict[str, Any]:
            return dict(await signer.gift_list(room_id))

        keeper.fetch = fetch
        await keeper.current(time.time_ns() // 1_000_000)
        if keeper.failures > failures:
            logger.warning(
                "TikTok gift catalogue not fetched (%s): gift values come from the messages "
                "alone; next attempt in an hour",
                keeper.last_error,
            )

    def new_session(self, dedup: DedupWindow | None = None) -> TikTokWire:
        signed = self._signed
        if signed is None:  # no connection asked for: a codec session
            return super().new_session(dedup)
        session = TikTokSession(
            self._room_id,
            self._enter_id,
            cursor=signed.result.cursor,
            dedup=dedup,
            streaks=self.streaks,
        )
        self._last = session
        keeper = self.gifts
        return TikTokWire(
            session, signed.result, opening_frame(signed.body), lambda: keeper.catalogue
        )


def event_source(http: HttpClient, section: Any, state_dir: Path | None = None) -> TikTokPush:
    """The event source of one session from the current ``[tiktok]`` section (the gift
    catalogue cached in ``state_dir``; None: in memory only)."""
    base = str(section.sign_server or "")
    cookies = (
        ("sessionid", section.sessionid.reveal()),
        ("tt-target-idc", section.tt_target_idc.reveal()),
    )
    gifts = keeper_for(state_dir / GIFT_CACHE_NAME if state_dir is not None else None)
    if not base:
        return TikTokPush(None, user_agent=section.user_agent, cookies=cookies, gifts=gifts)
    key = section.sign_api_key.reveal()
    account = account_for(base, key, int(section.sign_budget_per_day))
    signer = SigningClient(http, base, key, account)
    return TikTokPush(signer, user_agent=section.user_agent, cookies=cookies, gifts=gifts)


__all__ = [
    "CODEC",
    "TikTokCodec",
    "TikTokPush",
    "TikTokWire",
    "event_source",
    "keeper_for",
    "opening_frame",
]
