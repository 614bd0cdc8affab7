"""What every TikTok row shares: ids as strings, the ``user`` object, display keys, the context.

Owns the dataset conventions (shared/design/dataset.md) as they apply to TikTok: ids are
decimal strings (19-digit ids exceed 2**53) and ``None`` when absent; counts, enums and times
are JSON numbers. The ``user`` object carries TikTok's numeric id, the ``unique_id`` (User field
38, the @handle, which the user can change) and its platform-neutral twin ``handle``, the
nickname and the ``sec_uid``. Field numbers: proto/tiktok.proto.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message

from dylived.errors import RemoteProtocolError
from dylived.platforms.tiktok._pb import tiktok_pb2 as pb


Row = dict[str, Any]

PLATFORM = "tiktok"

_M = TypeVar("_M", bound=Message)


def parse(message_class: type[_M], payload: bytes, what: str) -> _M:
    """``payload`` parsed as ``message_class``.

    Raises:
        RemoteProtocolError: the bytes are not such a message (``what`` names it).
    """
    message = message_class()
    try:
        message.ParseFromString(payload)
    except DecodeError as exc:
        raise RemoteProtocolError(f"malformed {what}: {exc}") from exc
    return message


@dataclass(frozen=True, slots=True)
class RowContext:
    """What the caller knows and the message does not (wire has no clock, no recording).

    ``handle`` is the broadcaster's @handle (the neutral counterpart of Douyin's ``web_rid``);
    ``room_id`` is used when the message carries none.
    """

    handle: str | None = None
    room_id: str | None = None
    received_at_ms: int | None = None
    stream_offset_s: float | None = None


def id_str(value: int) -> str | None:
    """A platform id as a decimal string; 0 (absent in proto3) is ``None``."""
    return str(value) if value else None


def ids(values: Any) -> list[str]:
    """A repeated id field as a list of decimal strings (zeros dropped)."""
    return [str(v) for v in values if v]


def text_or_none(value: str) -> str | None:
    return value or None


def user_object(user: pb.User) -> Row:
    """The TikTok ``user`` object of a row."""
    handle = user.display_id or None
    return {
        "user_id": id_str(user.id) or (user.id_str or None),
        "unique_id": handle,
        "handle": handle,
        "nickname": user.nickname,
        "sec_uid": user.sec_uid or None,
    }


def user_of(message: Any, field: str = "user") -> Row | None:
    """The ``user`` object of ``message.<field>``, ``None`` when the field is not set."""
    return user_object(getattr(message, field)) if message.HasField(field) else None


def head(
    row_type: str, common: pb.Common, msg_id: int, server_now_ms: int, context: RowContext
) -> Row:
    """The fields every TikTok event row starts with, in this order."""
    return {
        "type": row_type,
        "platform": PLATFORM,
        "msg_id": id_str(common.msg_id or msg_id),
        "room_id": id_str(common.room_id) or context.room_id,
        "handle": context.handle,
        "server_time_ms": common.create_time or server_now_ms or None,
        "received_at_ms": context.received_at_ms,
        "stream_offset_s": context.stream_offset_s,
        "display_key": common.display_text.key or None,
    }
