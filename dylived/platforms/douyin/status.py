"""Room-status bodies of the Douyin HTTP APIs → ``LiveStatus``.

Owns the parsing of two JSON bodies (protocol.md §1.2 web/enter, §1.4 reflow) into
:class:`dylived.model.LiveStatus` with its stream URLs per quality, the classification of the
bodies that are not a status (empty → risk control, ``status_code`` ≠ 0, malformed), and
:func:`select_stream`, the nearest-quality fallback. Pure: no sockets, files, clocks, anyio or
asyncio; callers pass the bytes they received.

Bodies received as bytes are read with msgspec typed decoding of only the fields used
(status_shape.py; a real web/enter body is ~625 KB, almost all of it skipped).

Evidence for each rule is the real capture ``douyin-web-enter-live-2026-04.json`` in
``../shared/captures/`` and the shapes quoted in protocol.md §1.2–1.4.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, cast

import msgspec

from dylived.errors import CookieRejected, RiskControl, RoomNotFound, UpstreamError
from dylived.model import LEGACY_QUALITIES, QUALITIES, LiveStatus, StreamVariant
from dylived.platforms.douyin.status_shape import ShapeError, slim
from dylived.platforms.jsonvalues import (
    embedded_json as _embedded_json,
    integer as _integer,
    mapping as _mapping,
    text as _text,
)


__all__ = [
    "ACCOUNT_DELETED_NICKNAME",
    "LOGIN_COOKIES",
    "RoomListEmpty",
    "carries_login",
    "decode_body",
    "douyin_extra",
    "parse_enter",
    "parse_reflow",
    "parse_streams",
    "sec_uid_of",
]

# data.data[0].status: 1 prepare, 2 living, 3 pause, 4 end (dycast RoomStatus enum).
_STATUS_LIVE = 2
# data.room_status: 0 while live, 2 once ended (capture; StreamPilot's offline sample).
_ROOM_STATUS_LIVE = 0
# SR DouyinExtractor.kt: a deleted account keeps answering with this nickname.
ACCOUNT_DELETED_NICKNAME = "账号已注销"
# biliup PR #1663: the reflow API keeps status 2 after the end, with a replay URL tagged so.
_REFLOW_REPLAY_TAG = "rtm_expr_tag=reflow_room_info"
# status_code values meaning "no such content" (4001038 "该内容暂时无法无法查看").
_NOT_FOUND_CODES = frozenset({4001038})
_NOT_FOUND_MARKERS = ("不存在", "not exist", "not found")
# An error that asks for a sign-in ("用户未登录", "请先登录", "登录失效"…): with a login cookie
# configured, the cookie is what was refused.
_LOGIN_MARKERS = ("登录", "not logged in", "login required", "please log in")
# The login cookies of douyin.com (the browser's Cookie header carries them once signed in).
LOGIN_COOKIES = frozenset({"sessionid", "sessionid_ss", "sid_tt", "sid_guard"})
_RESOLUTION = re.compile(r"^(\d+)x(\d+)$")
_COUNT = re.compile(r"^(\d+(?:\.\d+)?)(万|w|W|亿)?$")
_COUNT_SCALE = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}


def douyin_extra(sec_uid: str | None) -> dict[str, str]:
    """The platform-owned part of a Douyin ``LiveStatus``: the broadcaster's sec_uid, if known."""
    return {"sec_uid": sec_uid} if sec_uid else {}


def sec_uid_of(status: LiveStatus) -> str | None:
    """The sec_uid of a Douyin status (``None`` when the body named none)."""
    return status.extra.get("sec_uid")


class RoomListEmpty(RoomNotFound):
    """web/enter answered with an empty ``data.data``: try the reflow API when a sec_uid is known.

    ``identity`` is an offline status built from ``data.user`` when the body still described
    the anchor (the account exists but no room is listed); None when it named no one.
    """

    def __init__(self, message: str, identity: LiveStatus | None = None) -> None:
        super().__init__(message)
        self.identity = identity

    @property
    def sec_uid(self) -> str | None:
        return None if self.identity is None else sec_uid_of(self.identity)


# ---------------------------------------------------------------- counts
# (the readers both platforms share are platforms/jsonvalues.py)


def _count(value: object) -> int | None:
    """A viewer count from 91, "91", "1.2万" or "3亿"; None when it is none of those."""
    exact = _integer(value)
    if exact is not None:
        return exact
    match = _COUNT.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    return round(float(match.group(1)) * _COUNT_SCALE.get(match.group(2) or "", 1))


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v is not None), None)


def carries_login(cookie_header: str) -> bool:
    """Does a configured ``Cookie`` header carry a douyin.com login cookie (``sessionid``…)?"""
    names = {part.split("=", 1)[0].strip() for part in cookie_header.split(";") if "=" in part}
    return not names.isdisjoint(LOGIN_COOKIES)


def decode_body(
    body: bytes | str | Mapping[str, object], *, login_cookie: bool = False
) -> Mapping[str, object]:
    """The JSON object of a status response, checked for the envelope ``{status_code, data}``.

    Raises:
        RiskControl: the body is empty (HTTP 200, 0 bytes): missing ttwid or blocked.
        UpstreamError: not JSON, not an object, or ``data`` is not an object.
        RoomNotFound: ``status_code`` says the room or content does not exist.
        CookieRejected: ``login_cookie`` (one is configured) and the error asks for a sign-in.
    """
    if isinstance(body, Mapping):
        document: object = body
    else:
        _refuse_empty(body)
        try:
            document = json.loads(body)  # bytes as they are: no decoded copy
        except UnicodeDecodeError:  # invalid UTF-8 inside: read it with replacements
            document = _loads_text(cast(bytes, body).decode("utf-8", "replace"))
        except ValueError as exc:
            raise UpstreamError(f"status body is not JSON: {exc}") from None
    if not isinstance(document, Mapping):
        raise UpstreamError(f"status body is a JSON {type(document).__name__}, not an object")
    code = _integer(document.get("status_code", 0))
    if code != 0:
        _raise_status_code(document, code, login_cookie)
    data = document.get("data")
    if not isinstance(data, Mapping):
        raise UpstreamError("status body has no 'data' object")
    return document


def _refuse_empty(body: bytes | str) -> None:
    if not body or body.isspace():  # isspace: no stripped copy of a 600 KB body
        raise RiskControl("empty response body (risk control, or the ttwid is missing)")


def _read(
    body: bytes | str | Mapping[str, object], *, login_cookie: bool = False
) -> Mapping[str, object]:
    """The checked envelope of a body, bytes read by typed decoding of the fields used.

    Bytes and text go through :func:`status_shape.slim` (msgspec: the bulk is skipped, not
    built); a body that is JSON but not of the shape is refused with the path that did not fit.
    """
    if isinstance(body, Mapping):
        return decode_body(body, login_cookie=login_cookie)
    _refuse_empty(body)
    try:
        return decode_body(slim(body), login_cookie=login_cookie)
    except ShapeError as exc:
        decode_body(
            body, login_cookie=login_cookie
        )  # an error status_code or a broken envelope is the better message
        raise UpstreamError(f"status body does not fit the expected shape: {exc}") from None
    except msgspec.DecodeError:  # not JSON, or invalid UTF-8 inside: decode_body says which
        return decode_body(body, login_cookie=login_cookie)


def _loads_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UpstreamError(f"status body is not JSON: {exc}") from None


def _raise_status_code(
    document: Mapping[str, object], code: int | None, login_cookie: bool
) -> None:
    data = _mapping(document.get("data"))
    message = (
        _first(
            _text(data.get("prompts")),
            _text(data.get("message")),
            _text(document.get("status_message")),
        )
        or "no message"
    ).strip()
    detail = f"status_code {document.get('status_code')!r}: {message}"
    lowered = message.lower()
    if code in _NOT_FOUND_CODES or any(marker in lowered for marker in _NOT_FOUND_MARKERS):
        raise RoomNotFound(detail)
    if login_cookie and any(marker in lowered for marker in _LOGIN_MARKERS):
        raise CookieRejected(f"the configured login cookie was refused: {detail}")
    raise UpstreamError(detail)


# ---------------------------------------------------------------- streams


def _variant_from_sdk(quality: str, entry: object) -> StreamVariant | None:
    main = _mapping(_mapping(entry).get("main"))
    flv = _text(main.get("flv"))
    hls = _text(main.get("hls"))
    if flv is None and hls is None:
        return None
    params = _embedded_json(main.get("sdk_params"))
    size = _RESOLUTION.match(_text(params.get("resolution")) or "")
    return StreamVariant(
        quality=quality,
        flv_url=flv,
        hls_url=hls,
        codec=_text(params.get("VCodec")),
        width=int(size.group(1)) if size else None,
        height=int(size.group(2)) if size else None,
        bitrate=_integer(params.get("vbitrate")) or None,
    )


def _sdk_variants(stream_url: Mapping[str, object]) -> dict[str, StreamVariant]:
    """origin/uhd/hd/sd/ld/md from ``live_core_sdk_data.pull_data.stream_data`` (a JSON string)."""
    pull_data = _mapping(_mapping(stream_url.get("live_core_sdk_data")).get("pull_data"))
    per_quality = _mapping(_embedded_json(pull_data.get("stream_data")).get("data"))
    variants: dict[str, StreamVariant] = {}
    for quality in QUALITIES:  # "ao" (audio only) and unknown keys are not video variants
        variant = _variant_from_sdk(quality, per_quality.get(quality))
        if variant is not None:
            variants[quality] = variant
    return variants


def _legacy_urls(stream_url: Mapping[str, object]) -> Iterator[tuple[str, str | None, str | None]]:
    flv_map = _mapping(stream_url.get("flv_pull_url"))
    hls_map = _mapping(stream_url.get("hls_pull_url_map"))
    for legacy in LEGACY_QUALITIES:
        flv, hls = _text(flv_map.get(legacy)), _text(hls_map.get(legacy))
        if flv is not None or hls is not None:
            yield legacy, flv, hls


def parse_streams(stream_url: object) -> dict[str, StreamVariant]:
    """Stream variants per quality from a ``stream_url`` object.

    The sdk keys (origin … md) are preferred, since they say what each quality is; the legacy
    FULL_HD1/HD1/SD1/SD2 maps fill the qualities they lack (named through LEGACY_QUALITIES) and
    the URLs a variant lacks. When the body has only the legacy maps, the variants keep the
    legacy names: which quality FULL_HD1 is has changed over the years (protocol.md §1.2).
    """
    block = _mapping(stream_url)
    variants = _sdk_variants(block)
    legacy_only = not variants
    for legacy, flv, hls in _legacy_urls(block):
        name = legacy if legacy_only else LEGACY_QUALITIES[legacy]
        known = variants.get(name)
        if known is None:
            variants[name] = StreamVariant(quality=name, flv_url=flv, hls_url=hls)
        else:
            variants[name] = StreamVariant(
                quality=name,
                flv_url=known.flv_url or flv,
                hls_url=known.hls_url or hls,
                codec=known.codec,
                width=known.width,
                height=known.height,
                bitrate=known.bitrate,
            )
    return variants


# ---------------------------------------------------------------- web/enter


def _viewers(room: Mapping[str, object]) -> tuple[int | None, str]:
    view_stats = _mapping(room.get("room_view_stats"))
    stats = _mapping(room.get("stats"))
    count = _first(_text(room.get("user_count_str")), _text(stats.get("user_count_str")))
    viewers = _integer(view_stats.get("display_value"))
    if viewers is None:
        viewers = _count(count if count is not None else room.get("user_count"))
    text = _first(_text(view_stats.get("display_long")), count) or ""
    return viewers, text


def _login_verdict(data: Mapping[str, object], login_cookie: bool) -> dict[str, object]:
    """``cookie_accepted`` / ``cookie_problem`` of a web/enter body (LiveStatus fields).

    ``data.login_lead.is_login`` says whether the request was a signed-in viewer's (false in
    the anonymous capture ``douyin-web-enter-live-2026-04.json``): with a login cookie sent,
    false means the cookie no longer signs in (expired, revoked, or a logout elsewhere).
    """
    is_login = _mapping(data.get("login_lead")).get("is_login")
    if not login_cookie or not isinstance(is_login, bool):
        return {}
    if is_login:
        return {"cookie_accepted": True}
    return {
        "cookie_accepted": False,
        "cookie_problem": "web/enter answers as to a logged-out viewer (login_lead.is_login "
        "is false) although the cookie carries a login cookie (sessionid…)",
    }


def parse_enter(
    body: bytes | str | Mapping[str, object],
    *,
    web_rid: str | None = None,
    login_cookie: bool = False,
) -> LiveStatus:
    """Parse a ``webcast/room/web/enter/`` body.

    Live means ``data.data[0].status == 2`` and ``data.room_status == 0`` (absent counts as 0).
    ``data.prompts`` (e.g. "直播已结束") means offline whatever else the body says.

    Args:
        body: the response body, or the already-decoded JSON object.
        web_rid: the web_rid the request asked for (the body does not repeat it).
        login_cookie: the request carried a configured login cookie: the status then says
            whether it was accepted (``cookie_accepted``, from ``data.login_lead.is_login``).

    Raises:
        RiskControl: empty body.
        RoomListEmpty: ``data.data`` is empty and there are no prompts: the caller falls back
            to the reflow API when it knows a sec_uid.
        RoomNotFound: the account is deleted, or ``status_code`` says not found.
        UpstreamError: any other error code or unexpected shape.
        CookieRejected: with ``login_cookie``, an error code that asks for a sign-in.
    """
    document = _read(body, login_cookie=login_cookie)
    data = _mapping(document.get("data"))
    server_time_ms = _integer(_mapping(document.get("extra")).get("now"))
    user = _mapping(data.get("user"))
    verdict: Any = _login_verdict(data, login_cookie)
    if _text(user.get("nickname")) == ACCOUNT_DELETED_NICKNAME:
        raise RoomNotFound(
            f"the account of web_rid {web_rid} is deleted ({ACCOUNT_DELETED_NICKNAME})"
        )
    rooms = data.get("data", [])
    if not isinstance(rooms, list):
        raise UpstreamError("web/enter: 'data.data' is not a list")
    prompts = _text(data.get("prompts"))
    if not rooms:
        identity = LiveStatus(
            live=False,
            handle=web_rid,
            nickname=_text(user.get("nickname")) or "",
            extra=douyin_extra(_text(user.get("sec_uid"))),
            user_id=_text(user.get("id_str")),
            server_time_ms=server_time_ms,
            **verdict,
        )
        if prompts is not None:
            return identity
        raise RoomListEmpty(
            f"web/enter listed no room for web_rid {web_rid}", identity if user else None
        )
    room = rooms[0]
    if not isinstance(room, Mapping):
        raise UpstreamError("web/enter: 'data.data[0]' is not an object")
    status_code = _integer(room.get("status"))
    if status_code is None:
        raise UpstreamError("web/enter: the room has no status")
    room_status = _integer(data.get("room_status"))
    live = (
        status_code == _STATUS_LIVE and room_status in (None, _ROOM_STATUS_LIVE) and prompts is None
    )
    owner = _mapping(room.get("owner"))
    viewers, viewers_text = _viewers(room)
    return LiveStatus(
        live=live,
        room_id=_first(_text(room.get("id_str")), _text(data.get("enter_room_id"))),
        handle=_first(web_rid, _text(data.get("web_rid")), _text(owner.get("web_rid"))),
        title=_text(room.get("title")) or "",
        nickname=_first(_text(user.get("nickname")), _text(owner.get("nickname"))) or "",
        extra=douyin_extra(_first(_text(user.get("sec_uid")), _text(owner.get("sec_uid")))),
        user_id=_first(
            _text(user.get("id_str")),
            _text(owner.get("id_str")),
            _text(room.get("owner_user_id_str")),
        ),
        viewers=viewers,
        viewers_text=viewers_text,
        streams=parse_streams(room.get("stream_url")) if live else {},
        server_time_ms=server_time_ms,
        **verdict,
    )


# ---------------------------------------------------------------- reflow


def _is_replay(streams: Mapping[str, StreamVariant]) -> bool:
    return any(
        _REFLOW_REPLAY_TAG in (url or "")
        for variant in streams.values()
        for url in (variant.flv_url, variant.hls_url)
    )


def parse_reflow(
    body: bytes | str | Mapping[str, object], *, sec_uid: str | None = None
) -> LiveStatus:
    """Parse a ``webcast/room/reflow/info/`` body (protocol.md §1.4).

    Live means ``data.room.status == 2`` with no ``finish_time`` and no replay stream: after
    the end this API may keep saying 2 with ``finish_time > 0`` and a URL tagged
    ``rtm_expr_tag=reflow_room_info`` (biliup PR #1663).

    Raises:
        RiskControl: empty body.
        RoomNotFound: ``status_code`` says not found, or there is neither a room nor a user.
        UpstreamError: any other error code (10011 "Request params error") or shape.
    """
    document = _read(body)
    data = _mapping(document.get("data"))
    server_time_ms = _integer(_mapping(document.get("extra")).get("now"))
    room = data.get("room")
    user = _mapping(data.get("user"))
    if not isinstance(room, Mapping):
        if not user:
            raise RoomNotFound(f"reflow: neither a room nor a user for sec_uid {sec_uid}")
        return LiveStatus(
            live=False,
            nickname=_text(user.get("nickname")) or "",
            extra=douyin_extra(_first(_text(user.get("sec_uid")), sec_uid)),
            user_id=_text(user.get("id_str")),
            server_time_ms=server_time_ms,
        )
    owner = _mapping(room.get("owner"))
    if _text(owner.get("nickname")) == ACCOUNT_DELETED_NICKNAME:
        raise RoomNotFound(f"the account of sec_uid {sec_uid} is deleted")
    status_code = _integer(room.get("status"))
    if status_code is None:
        raise UpstreamError("reflow: the room has no status")
    streams = parse_streams(room.get("stream_url"))
    finished = (_integer(room.get("finish_time")) or 0) > 0
    live = status_code == _STATUS_LIVE and not finished and not _is_replay(streams)
    viewers, viewers_text = _viewers(room)
    return LiveStatus(
        live=live,
        room_id=_first(_text(room.get("id_str")), _text(room.get("id"))),
        handle=_text(owner.get("web_rid")),
        title=_text(room.get("title")) or "",
        nickname=_first(_text(owner.get("nickname")), _text(user.get("nickname"))) or "",
        extra=douyin_extra(_first(_text(owner.get("sec_uid")), sec_uid)),
        user_id=_first(_text(owner.get("id_str")), _text(owner.get("id"))),
        viewers=viewers,
        viewers_text=viewers_text,
        streams=streams if live else {},
        server_time_ms=server_time_ms,
    )
