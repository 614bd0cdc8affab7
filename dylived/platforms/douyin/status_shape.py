"""The typed shape of the Douyin status bodies: only the fields the status parser reads.

A real web/enter body is ~625 KB, nearly all of it ``data.similar_rooms`` and room blocks no
client needs (AB flags, toolbar, touch-area config …). msgspec decodes it into these
:class:`msgspec.Struct` types, so the JSON it skips is only scanned: no Python objects are
built for it. The containers the parser walks are typed, so a body whose ``data`` or room is
not an object, or whose room list is not a list, is refused with the JSON path in the error
(:func:`slim`). The leaves keep ``Any``: the service sends numbers as ints or strings, and the
parser's helpers (status.py) read both.

:func:`slim` returns the decoded fields as plain dicts and lists (absent fields left out), the
same form status.py reads from an already-decoded body.
"""

from __future__ import annotations

from typing import Any

import msgspec


__all__ = ["ShapeError", "slim"]

_UNSET: Any = msgspec.UNSET


class ShapeError(ValueError):
    """The body is JSON, but it does not fit the status shape (the message has the path)."""


class _Shape(msgspec.Struct, omit_defaults=True):
    pass


class _PullData(_Shape):
    stream_data: Any = _UNSET  # JSON text (or, in some shapes, an object); parsed when live


class _LiveCore(_Shape):
    pull_data: _PullData | None = _UNSET


class _StreamUrl(_Shape):
    flv_pull_url: dict[str, Any] | None = _UNSET
    hls_pull_url_map: dict[str, Any] | None = _UNSET
    live_core_sdk_data: _LiveCore | None = _UNSET


class _Person(_Shape):  # data.user, room.owner
    id: Any = _UNSET
    id_str: Any = _UNSET
    sec_uid: Any = _UNSET
    nickname: Any = _UNSET
    web_rid: Any = _UNSET


class _Stats(_Shape):
    user_count_str: Any = _UNSET


class _ViewStats(_Shape):
    display_value: Any = _UNSET
    display_long: Any = _UNSET


class _Room(_Shape):
    id: Any = _UNSET
    id_str: Any = _UNSET
    status: Any = _UNSET
    title: Any = _UNSET
    user_count: Any = _UNSET
    user_count_str: Any = _UNSET
    finish_time: Any = _UNSET
    owner_user_id_str: Any = _UNSET
    owner: _Person | None = _UNSET
    stats: _Stats | None = _UNSET
    room_view_stats: _ViewStats | None = _UNSET
    stream_url: _StreamUrl | None = _UNSET


class _LoginLead(_Shape):
    is_login: Any = _UNSET  # was the request a signed-in viewer's (status.py: cookie_invalid)


class _Data(_Shape):
    data: list[_Room] = _UNSET  # web/enter's room list (the first is the one asked for)
    room: _Room | None = _UNSET  # reflow's room
    user: _Person | None = _UNSET
    prompts: Any = _UNSET
    message: Any = _UNSET
    room_status: Any = _UNSET
    enter_room_id: Any = _UNSET
    web_rid: Any = _UNSET
    login_lead: _LoginLead | None = _UNSET


class _Extra(_Shape):
    now: Any = _UNSET


class _Body(_Shape):
    status_code: Any = _UNSET
    status_message: Any = _UNSET
    data: _Data | None = _UNSET
    extra: _Extra | None = _UNSET


_DECODER = msgspec.json.Decoder(_Body)


def slim(body: bytes | str) -> dict[str, Any]:
    """The fields of a status body that the parser reads, as plain dicts and lists.

    Raises:
        ShapeError: JSON that does not fit the shape (e.g. ``data`` or a room not an object).
        msgspec.DecodeError: not JSON (or not UTF-8); the caller says so in its own words.
    """
    try:
        decoded = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise ShapeError(str(exc)) from None
    result: dict[str, Any] = msgspec.to_builtins(decoded)
    return result
