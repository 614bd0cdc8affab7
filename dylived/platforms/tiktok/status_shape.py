"""The typed shape of the TikTok status bodies: only the fields the status parser reads.

The three answers (tiktok.md §1.1) carry far more than a status: ``webcast/room/info`` is the
whole webcast room (~55 KB in the 2025 capture of tiktok.md §2.2: room auth, link-mic, top
fans, badges, decisions, game tags …), ``api-live/user/room`` has two stream sets (H.264 and
HEVC, each a JSON text of several KB) and the live page's ``SIGI_STATE`` has the app's whole
state. msgspec decodes them into these :class:`msgspec.Struct` types, so the JSON they skip is
only scanned, never built into Python objects. The containers the parser walks are typed: a
body whose ``data``, ``user``, ``liveRoom``, ``owner`` or ``stream_url`` is not an object is
refused with the JSON path in the error. The leaves keep ``Any``: TikTok sends ids and counts
as numbers or as strings, and the parser's readers (platforms/jsonvalues.py) read both.

:func:`slim_user_room`, :func:`slim_room_info` and :func:`slim_sigi_state` return the decoded
fields as plain dicts and lists (absent fields left out), the form status.py reads from an
already-decoded body; :func:`slim_stream_data` reads the embedded ``stream_data`` text.
"""

from __future__ import annotations

from typing import Any

import msgspec


__all__ = [
    "ShapeError",
    "slim_room_info",
    "slim_sigi_state",
    "slim_stream_data",
    "slim_user_room",
]

_UNSET: Any = msgspec.UNSET


class ShapeError(ValueError):
    """The body is JSON, but it does not fit the status shape (the message has the path)."""


class _Shape(msgspec.Struct, omit_defaults=True):
    pass


class _PullData(_Shape):
    stream_data: Any = _UNSET  # JSON text (or, in some shapes, an object); read when live


class _StreamSet(_Shape):  # liveRoom.streamData / hevcStreamData, stream_url.live_core_sdk_data
    pull_data: _PullData | None = _UNSET


class _StreamUrl(_Shape):  # room/info data.stream_url
    live_core_sdk_data: _StreamSet | None = _UNSET
    flv_pull_url: dict[str, Any] | None = _UNSET
    hls_pull_url: Any = _UNSET
    rtmp_pull_url: Any = _UNSET


class _Person(_Shape):  # data.user (web shapes) and data.owner (room/info)
    id: Any = _UNSET
    id_str: Any = _UNSET
    uniqueId: Any = _UNSET
    display_id: Any = _UNSET
    nickname: Any = _UNSET
    secUid: Any = _UNSET
    sec_uid: Any = _UNSET
    roomId: Any = _UNSET
    status: Any = _UNSET


class _RoomStats(_Shape):
    userCount: Any = _UNSET


class _LiveRoom(_Shape):  # data.liveRoom (A) and liveRoomUserInfo.liveRoom (B)
    status: Any = _UNSET
    title: Any = _UNSET
    prompts: Any = _UNSET
    liveRoomStats: _RoomStats | None = _UNSET
    streamData: _StreamSet | None = _UNSET
    hevcStreamData: _StreamSet | None = _UNSET


class _UserRoomData(_Shape):
    prompts: Any = _UNSET
    user: _Person | None = _UNSET
    liveRoom: _LiveRoom | None = _UNSET


class _UserRoom(_Shape):  # api-live/user/room
    statusCode: Any = _UNSET
    message: Any = _UNSET
    data: _UserRoomData | None = _UNSET


class _Stats(_Shape):
    total_user: Any = _UNSET


class _RoomInfoData(_Shape):
    id_str: Any = _UNSET
    status: Any = _UNSET
    title: Any = _UNSET
    message: Any = _UNSET
    prompts: Any = _UNSET
    owner: _Person | None = _UNSET
    stats: _Stats | None = _UNSET
    stream_url: _StreamUrl | None = _UNSET


class _Extra(_Shape):
    now: Any = _UNSET


class _RoomInfo(_Shape):  # webcast/room/info
    status_code: Any = _UNSET
    data: _RoomInfoData | None = _UNSET
    extra: _Extra | None = _UNSET


class _UserInfo(_Shape):
    user: _Person | None = _UNSET
    liveRoom: _LiveRoom | None = _UNSET


class _SigiLiveRoom(_Shape):
    liveRoomUserInfo: _UserInfo | None = _UNSET


class _Sigi(_Shape):  # the live page's SIGI_STATE
    LiveRoom: _SigiLiveRoom | None = _UNSET


class _EmbeddedStreams(_Shape):  # the text of pull_data.stream_data; ``common`` is skipped
    data: Any = _UNSET


_USER_ROOM = msgspec.json.Decoder(_UserRoom)
_ROOM_INFO = msgspec.json.Decoder(_RoomInfo)
_SIGI = msgspec.json.Decoder(_Sigi)
_STREAMS = msgspec.json.Decoder(_EmbeddedStreams)


def _slim(decoder: msgspec.json.Decoder[Any], body: bytes | str) -> dict[str, Any]:
    try:
        decoded = decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ShapeError(str(exc)) from None
    result: dict[str, Any] = msgspec.to_builtins(decoded)
    return result


def slim_user_room(body: bytes | str) -> dict[str, Any]:
    """The read fields of an ``api-live/user/room`` body.

    Raises:
        ShapeError: JSON that does not fit the shape (e.g. ``data.user`` not an object).
        msgspec.DecodeError: not JSON (or not UTF-8); the caller says so in its own words.
    """
    return _slim(_USER_ROOM, body)


def slim_room_info(body: bytes | str) -> dict[str, Any]:
    """The read fields of a ``webcast/room/info`` body (raises as :func:`slim_user_room`)."""
    return _slim(_ROOM_INFO, body)


def slim_sigi_state(text: bytes | str) -> dict[str, Any]:
    """The read fields of a live page's ``SIGI_STATE`` JSON (raises as :func:`slim_user_room`)."""
    return _slim(_SIGI, text)


def slim_stream_data(text: str) -> Any:
    """``data`` of a ``stream_data`` text (the per-key stream sets), or None when unreadable."""
    try:
        data = _STREAMS.decode(text).data
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return None if data is msgspec.UNSET else data
