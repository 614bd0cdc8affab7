"""TikTok ``Message.method`` → the typed (generated) message → one dataset row.

:func:`decode_message` is where protobuf stops for TikTok events: it looks the method up in the
converters of ``audience.py``, ``room.py`` and ``cohost.py``, parses the payload with that
method's class of proto/tiktok.proto, and returns the row: the common head of ``common.head``
(``type``, ``platform: "tiktok"``, ``msg_id``, ``room_id``, the broadcaster's ``handle``,
``server_time_ms``, ``received_at_ms``, ``stream_offset_s``, ``display_key``) and the fields of
its type. An unknown method is a row (``type: "unknown"``, the payload kept as base64), never an
exception; a payload that does not parse as its method's message raises
:class:`~dylived.errors.RemoteProtocolError` and nothing else.

:func:`rows_of_response` decodes every message of a Response and turns each malformed one into
an ``undecodable`` row, so one bad message cannot stop the others.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from dylived.errors import RemoteProtocolError
from dylived.platforms.tiktok import audience, cohost, room
from dylived.platforms.tiktok.common import PLATFORM, Row, RowContext, head, id_str, parse
from dylived.platforms.tiktok.envelope import FetchResult


_CONVERTERS: dict[str, tuple[Any, Callable[[Any], Row]]] = {
    **audience.CONVERTERS,
    **room.CONVERTERS,
    **cohost.CONVERTERS,
}

KNOWN_METHODS: frozenset[str] = frozenset(_CONVERTERS)

_NO_CONTEXT = RowContext()


def _raw_row(
    row_type: str, method: str, msg_id: int, payload: bytes, server_now_ms: int, ctx: RowContext
) -> Row:
    return {
        "type": row_type,
        "platform": PLATFORM,
        "msg_id": id_str(msg_id),
        "room_id": ctx.room_id,
        "handle": ctx.handle,
        "server_time_ms": server_now_ms or None,
        "received_at_ms": ctx.received_at_ms,
        "stream_offset_s": ctx.stream_offset_s,
        "method": method,
        "payload_base64": base64.b64encode(payload).decode(),
    }


def decode_message(
    method: str,
    payload: bytes,
    *,
    msg_id: int = 0,
    server_now_ms: int = 0,
    context: RowContext = _NO_CONTEXT,
) -> Row:
    """The row of one TikTok ``Message``.

    Args:
        method: ``Message.method``, e.g. ``"WebcastGiftMessage"``.
        payload: ``Message.payload``, the bytes of that message.
        msg_id: ``Message.msg_id``; used when the payload's ``common.msg_id`` is 0.
        server_now_ms: the Response's ``now``; the row's time when ``common.create_time`` is 0.
        context: what the caller knows (broadcaster handle, arrival time, recording offset).

    Raises:
        RemoteProtocolError: the payload is not a valid message of a known method.
    """
    entry = _CONVERTERS.get(method)
    if entry is None:
        return _raw_row("unknown", method, msg_id, payload, server_now_ms, context)
    message_class, convert = entry
    message = parse(message_class, payload, method)
    body = convert(message)
    row = head(body.pop("type"), message.common, msg_id, server_now_ms, context)
    row.update(body)
    return row


def rows_of_response(result: FetchResult, context: RowContext = _NO_CONTEXT) -> list[Row]:
    """The rows of every message of a Response, in order; a malformed one is an
    ``undecodable`` row (with the parser's error), never an exception."""
    rows: list[Row] = []
    for message in result.messages:
        try:
            rows.append(
                decode_message(
                    message.method,
                    message.payload,
                    msg_id=message.msg_id,
                    server_now_ms=result.now_ms,
                    context=context,
                )
            )
        except RemoteProtocolError as exc:
            row = _raw_row(
                "undecodable",
                message.method,
                message.msg_id,
                message.payload,
                result.now_ms,
                context,
            )
            rows.append({**row, "error": str(exc)})
    return rows
