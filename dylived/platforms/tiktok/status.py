"""TikTok room-status bodies → ``LiveStatus``, with stream URLs per quality.

Owns the parsing of the three answers of tiktok.md §1.1: ``api-live/user/room`` (A,
:func:`parse_user_room`), the live page's ``SIGI_STATE`` (B, :func:`parse_live_page`) and
``webcast/room/info`` (E, :func:`parse_room_info`), and of their stream sets (§2):
``streamData`` / ``hevcStreamData`` (``pull_data.stream_data``, a JSON string of
``data.<sdk_key>.main.{flv, hls, sdk_params}``) and ``stream_url`` (the same under
``live_core_sdk_data``, plus the legacy ``flv_pull_url`` map and ``hls_pull_url``).

**Status**: 2 = live, 3 = paused (``LiveStatus.live`` and ``paused``: the session goes on),
4 = offline (``user.status`` / ``liveRoom.status`` / ``data.status``). **Errors**, classified:
an empty body, a WAF or captcha page, a page without ``SIGI_STATE`` or ``params_error``
(19881005) → :class:`RiskControl` (blocked: the breaker backs off, nothing is marked offline);
``user_not_found`` (19881007, 404000) → :class:`StatusUncertain` (TikTok says it for hours
about live users, TLC#323); ``4003110`` or ``prompts`` without a stream → :class:`RestrictedRoom`
(configure ``[tiktok] sessionid``); a live page without ``LiveRoom`` → :class:`RoomNotFound`.

**Qualities**: the sdk keys map onto ``model.QUALITIES``: origin → origin, uhd_60 (1080p60) →
uhd, hd_60 (720p60) → hd (before hd, 720p: same size, more frames), hd → hd, sd → sd, ld → ld;
``ao`` (audio only) is not a video variant. The legacy keys FULL_HD1, HD1, SD2, SD1 map as
``model.LEGACY_QUALITIES`` (uhd, hd, sd, ld) and fill what the sdk set lacks. H.264
(``streamData``) is preferred; ``hevcStreamData`` fills the qualities it lacks, marked
``h265``. Each variant keeps ``VCodec``, ``vbitrate`` and ``resolution`` from ``sdk_params``.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from dylived.errors import (
    RestrictedRoom,
    RiskControl,
    RoomNotFound,
    StatusUncertain,
    UpstreamError,
)
from dylived.model import LEGACY_QUALITIES, LiveStatus, StreamVariant
from dylived.platforms.jsonvalues import (
    embedded_json as _json_of,
    integer as _integer,
    mapping as _mapping,
    text as _text,
)
from dylived.platforms.tiktok.status_shape import (
    ShapeError,
    slim_room_info,
    slim_sigi_state,
    slim_stream_data,
    slim_user_room,
)


STATUS_LIVE, STATUS_PAUSED, STATUS_OFFLINE = 2, 3, 4
CODE_PARAMS_ERROR = 19881005
CODE_USER_NOT_FOUND = 19881007
CODE_NOT_FOUND_ALT = 404000
CODE_RESTRICTED = 4003110
# sdk key → model quality, best source first for a quality two keys share
SDK_QUALITIES: tuple[tuple[str, str], ...] = (
    ("origin", "origin"),
    ("uhd_60", "uhd"),
    ("uhd", "uhd"),
    ("hd_60", "hd"),
    ("hd", "hd"),
    ("sd", "sd"),
    ("ld", "ld"),
)
_SDK_MODEL_QUALITIES = frozenset(quality for _, quality in SDK_QUALITIES)
RESTRICTED_NEEDS = "sessionid"
_RESTRICTED_HELP = (
    "configure [tiktok] sessionid (and tt_target_idc), the cookies of a logged-in account that "
    "may watch it: the room is restricted (age-restricted, followers only or private)"
)
_BLOCK_MARKERS = ("please wait", "captcha", "verify to continue", "we regret to inform you")
_SIGI = re.compile(r'<script[^>]*id="SIGI_STATE"[^>]*>(.*?)</script>', re.DOTALL)
_SIGI_BYTES = re.compile(rb'<script[^>]*id="SIGI_STATE"[^>]*>(.*?)</script>', re.DOTALL)
_RESOLUTION = re.compile(r"^(\d+)x(\d+)$")


def _looks_blocked(body: bytes | str) -> str | None:
    """Why a non-JSON body is a block page (WAF, captcha, region), or None."""
    text = (body.decode("utf-8", "replace") if isinstance(body, bytes) else body).strip()
    if not text:
        return "an empty body"
    lowered = text[:4096].lower()
    marker = next((m for m in _BLOCK_MARKERS if m in lowered), None)
    return f"a block page ({marker!r})" if marker else None


# ---------------------------------------------------------------- streams


def _variant(quality: str, entry: object, codec: str | None) -> StreamVariant | None:
    main = _mapping(_mapping(entry).get("main"))
    flv, hls = _text(main.get("flv")), _text(main.get("hls"))
    if flv is None and hls is None:
        return None
    params = _json_of(main.get("sdk_params"))
    size = _RESOLUTION.match(_text(params.get("resolution")) or "")
    return StreamVariant(
        quality=quality,
        flv_url=flv,
        hls_url=hls,
        codec=(_text(params.get("VCodec")) or codec or "").lower() or None,
        width=int(size.group(1)) if size else None,
        height=int(size.group(2)) if size else None,
        bitrate=_integer(params.get("vbitrate")) or None,
    )


def _sdk_set(stream_data: object, codec: str | None) -> dict[str, StreamVariant]:
    """Variants from a ``pull_data.stream_data`` value (JSON string of ``{data: {key: …}}``).

    The text is read by typed decoding of ``data`` alone (its ``common`` block is skipped).
    """
    if isinstance(stream_data, str):
        per_key = _mapping(slim_stream_data(stream_data))
    else:
        per_key = _mapping(_mapping(stream_data).get("data"))
    found: dict[str, StreamVariant] = {}
    for key, quality in SDK_QUALITIES:
        if quality not in found and (v := _variant(quality, per_key.get(key), codec)):
            found[quality] = v
    return found


def parse_stream_data(stream_data: object, hevc: object = None) -> dict[str, StreamVariant]:
    """The variants of ``streamData`` (and ``hevcStreamData``): ``{pull_data: {stream_data}}``."""
    found = _sdk_set(_mapping(_mapping(stream_data).get("pull_data")).get("stream_data"), None)
    if found.keys() >= _SDK_MODEL_QUALITIES:
        return found  # the HEVC set could fill nothing: its text is not read
    hevc_set = _sdk_set(_mapping(_mapping(hevc).get("pull_data")).get("stream_data"), "h265")
    return {**hevc_set, **found} if found else hevc_set


def parse_stream_url(stream_url: object) -> dict[str, StreamVariant]:
    """The variants of ``room/info``'s ``stream_url``: the sdk set, then the legacy maps."""
    block = _mapping(stream_url)
    sdk = _mapping(_mapping(block.get("live_core_sdk_data")).get("pull_data"))
    found = _sdk_set(sdk.get("stream_data"), None)
    hls = _text(block.get("hls_pull_url"))
    for legacy, flv in _mapping(block.get("flv_pull_url")).items():
        quality = LEGACY_QUALITIES.get(legacy)
        if quality is not None and quality not in found and _text(flv):
            found[quality] = StreamVariant(quality=quality, flv_url=_text(flv))
    if "origin" not in found and (origin := _text(block.get("rtmp_pull_url"))):
        found["origin"] = StreamVariant(quality="origin", flv_url=origin, hls_url=hls)
    return found


# ---------------------------------------------------------------- the answers


def _decode(body: bytes | str | Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """The whole JSON object of a body (the error paths, and bodies given decoded)."""
    if isinstance(body, Mapping):
        return body
    try:
        document = json.loads(body)
    except ValueError:
        blocked = _looks_blocked(body)
        if blocked is not None:
            raise RiskControl(f"{what}: {blocked} instead of JSON (blocked)") from None
        raise UpstreamError(f"{what}: the body is not JSON") from None
    if not isinstance(document, Mapping):
        raise UpstreamError(f"{what}: a JSON {type(document).__name__}, not an object")
    return document


def _read(
    body: bytes | str | Mapping[str, Any],
    what: str,
    slim: Callable[[bytes | str], dict[str, Any]],
    check: Callable[[Mapping[str, Any]], None],
) -> Mapping[str, Any]:
    """The checked fields of a body, bytes and text read by typed decoding (status_shape.py).

    A body that is JSON but does not fit the shape is refused with the path that did not fit,
    unless its error code says more (``check`` of the whole document raises first); a body
    that is not JSON is classified by :func:`_decode` (block page, empty, not JSON).
    """
    if isinstance(body, Mapping):
        check(body)
        return body
    try:
        document: Mapping[str, Any] = slim(body)
    except ShapeError as exc:
        check(_decode(body, what))
        raise UpstreamError(f"{what}: the body does not fit the expected shape: {exc}") from None
    except msgspec.DecodeError:  # not JSON, or invalid UTF-8 inside: json.loads says which
        document = _decode(body, what)
    check(document)
    return document


def _raise_for_code(code: int | None, message: str, what: str, prompts: bool) -> None:
    detail = f"{what}: {code} {message}".rstrip()
    if code == CODE_RESTRICTED or (prompts and code not in (None, 0)):
        raise RestrictedRoom(f"{_RESTRICTED_HELP} ({detail})", needs=RESTRICTED_NEEDS)
    if code in (CODE_USER_NOT_FOUND, CODE_NOT_FOUND_ALT) or message == "user_not_found":
        raise StatusUncertain(
            f"{detail} (TikTok says so for hours about some live users: not taken as the end)"
        )
    if code == CODE_PARAMS_ERROR or message == "params_error":
        raise RiskControl(f"{detail} (the request was refused: blocked)")
    if code not in (None, 0):
        raise UpstreamError(detail)


def _status(
    live_code: int | None,
    *,
    user: Mapping[str, Any],
    room: Mapping[str, Any],
    streams: Callable[[], Mapping[str, StreamVariant]],
    room_id: str | None,
    server_time_ms: int | None = None,
    viewers: int | None = None,
) -> LiveStatus:
    """The status; ``streams`` is called only when live (an offline body's stale stream set
    is never read)."""
    live = live_code in (STATUS_LIVE, STATUS_PAUSED)
    found = streams() if live else {}
    if live and not found and live_code == STATUS_LIVE and _text(room.get("prompts")):
        raise RestrictedRoom(f"{_RESTRICTED_HELP} (room {room_id})", needs=RESTRICTED_NEEDS)
    sec_uid = _text(user.get("secUid")) or _text(user.get("sec_uid"))
    return LiveStatus(
        live=live,
        paused=live_code == STATUS_PAUSED,
        room_id=room_id,
        handle=_text(user.get("uniqueId")) or _text(user.get("display_id")),
        title=_text(room.get("title")) or "",
        nickname=_text(user.get("nickname")) or "",
        user_id=_text(user.get("id")) or _text(user.get("id_str")),
        viewers=viewers,
        viewers_text=str(viewers) if viewers is not None else "",
        streams=dict(found),
        server_time_ms=server_time_ms,
        extra={"sec_uid": sec_uid} if sec_uid else {},
    )


def _check_user_room(document: Mapping[str, Any]) -> None:
    data = _mapping(document.get("data"))
    _raise_for_code(
        _integer(document.get("statusCode")),
        _text(document.get("message")) or "",
        "api-live/user/room",
        prompts=bool(_text(data.get("prompts"))),
    )


def parse_user_room(body: bytes | str | Mapping[str, Any]) -> LiveStatus:
    """Parse an ``api-live/user/room`` answer (A).

    Raises:
        RiskControl: empty, a block page, not JSON, or ``params_error``.
        StatusUncertain: ``user_not_found``. RestrictedRoom: ``4003110``.
        UpstreamError: any other code, or a shape that does not fit (the path says where).
    """
    document = _read(body, "api-live/user/room", slim_user_room, _check_user_room)
    data = _mapping(document.get("data"))
    user = _mapping(data.get("user"))
    if not user:
        raise UpstreamError("api-live/user/room: no data.user")
    return _web_status(user, _mapping(data.get("liveRoom")))


def _web_status(user: Mapping[str, Any], room: Mapping[str, Any]) -> LiveStatus:
    """The status of the web shapes (A and B): ``user`` and ``liveRoom`` objects alike."""
    return _status(
        _integer(room.get("status")) or _integer(user.get("status")),
        user=user,
        room=room,
        streams=lambda: parse_stream_data(room.get("streamData"), room.get("hevcStreamData")),
        room_id=_text(user.get("roomId")),
        viewers=_integer(_mapping(room.get("liveRoomStats")).get("userCount")),
    )


def _sigi_fast(page: Any) -> Any:
    """The ``SIGI_STATE`` script's text found with ``find`` (a page is ~200 KB: the regex
    tries every ``<`` of it), or None for the regex to decide (an odd page)."""
    marker, opening, gt, closing = (
        (b'id="SIGI_STATE"', b"<script", b">", b"</script>")
        if isinstance(page, bytes)
        else ('id="SIGI_STATE"', "<script", ">", "</script>")
    )
    at = page.find(marker)
    start = page.rfind(opening, 0, at) if at >= 0 else -1
    if start < 0 or page.find(gt, start, at) >= 0:
        return None
    body = page.find(gt, at) + 1
    end = page.find(closing, body) if body > 0 else -1
    return page[body:end] if end >= 0 else None


def _sigi_text(page: bytes | str) -> bytes | str:
    """The JSON text of the page's ``SIGI_STATE`` (bytes in, bytes out: no copy of the page).

    Raises:
        RiskControl: no ``SIGI_STATE`` (a WAF/captcha page).
    """
    fast: bytes | str | None = _sigi_fast(page)
    if fast is not None:
        state = fast
    else:
        found = _SIGI_BYTES.search(page) if isinstance(page, bytes) else _SIGI.search(page)
        if found is None:
            why = _looks_blocked(page) or "a page without SIGI_STATE"
            raise RiskControl(f"live page: {why} (blocked)")
        state = found.group(1)
    quoted = b"&quot;" in state if isinstance(state, bytes) else "&quot;" in state
    if quoted:
        text = state.decode("utf-8", "replace") if isinstance(state, bytes) else state
        state = html.unescape(text)
    return state


def sigi_state(page: bytes | str) -> Mapping[str, Any]:
    """The fields the parser reads of a live page's ``SIGI_STATE`` (B).

    Raises:
        RiskControl: no ``SIGI_STATE`` (a WAF/captcha page) or it does not parse (captcha).
        UpstreamError: it parses but does not fit the shape (the path says where).
    """
    state = _sigi_text(page)
    try:
        try:
            return slim_sigi_state(state)
        except msgspec.DecodeError:
            if not isinstance(state, bytes):
                raise
            return slim_sigi_state(state.decode("utf-8", "replace"))  # invalid UTF-8 inside
    except msgspec.DecodeError:
        raise RiskControl("live page: SIGI_STATE is not JSON (a captcha page)") from None
    except ShapeError as exc:
        raise UpstreamError(
            f"live page: SIGI_STATE does not fit the expected shape: {exc}"
        ) from None


def parse_live_page(page: bytes | str) -> LiveStatus:
    """Parse the live page ``/@<user>/live`` through its ``SIGI_STATE`` (B).

    Raises:
        RiskControl: a block page; RoomNotFound: no ``LiveRoom`` (never live, or no such user);
        RestrictedRoom: ``prompts`` and no stream while live; UpstreamError: not the shape.
    """
    live_room = _mapping(sigi_state(page).get("LiveRoom"))
    info = _mapping(live_room.get("liveRoomUserInfo"))
    user = _mapping(info.get("user"))
    if not live_room or not user:
        raise RoomNotFound("live page: no LiveRoom in SIGI_STATE (no such user, or never live)")
    return _web_status(user, _mapping(info.get("liveRoom")))


def _check_room_info(document: Mapping[str, Any]) -> None:
    data = _mapping(document.get("data"))
    _raise_for_code(
        _integer(document.get("status_code")),
        _text(data.get("message")) or _text(data.get("prompts")) or "",
        "room/info",
        prompts="prompts" in data,
    )


def parse_room_info(body: bytes | str | Mapping[str, Any], room_id: str) -> LiveStatus:
    """Parse a ``webcast/room/info`` answer (E) for a numeric-room-id target.

    Raises:
        RiskControl, RestrictedRoom (``4003110``/``prompts``), UpstreamError (a code, or a
        shape that does not fit).
    """
    document = _read(body, "room/info", slim_room_info, _check_room_info)
    data = _mapping(document.get("data"))
    owner = _mapping(data.get("owner"))
    return _status(
        _integer(data.get("status")),
        user=owner,
        room=data,
        streams=lambda: parse_stream_url(data.get("stream_url")),
        room_id=_text(data.get("id_str")) or room_id,
        server_time_ms=_integer(_mapping(document.get("extra")).get("now")),
        viewers=_integer(_mapping(data.get("stats")).get("total_user")),
    )
