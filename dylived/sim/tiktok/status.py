"""The TikTok personality's status JSON: ``api-live/user/room``, the live page's ``SIGI_STATE``
and ``webcast/room/info``, with the real field names and nesting (tiktok.md §1.1, §2.2).

``user`` is ``{id, uniqueId, nickname, secUid, roomId, status, signature, avatarLarger}``;
``liveRoom`` is ``{status, title, startTime, streamId, liveRoomStats{userCount, enterCount},
streamData, hevcStreamData}``; ``streamData.pull_data`` has ``stream_data`` (a JSON *string*
``{common, data: {<sdk_key>: {main: {flv, hls, cmaf, dash, lls, tsl, tile, sdk_params}}}}``,
``sdk_params`` itself a JSON string with ``VCodec``, ``vbitrate``, ``resolution``) and
``options.qualities`` (``{name, sdk_key, level, resolution, v_codec}``). The sdk keys are
TikTok's: origin, uhd_60, hd_60, hd, sd, ld and ao (audio only), served from the core's quality
ladder (origin, uhd, hd, hd, sd, ld, md). ``hevcStreamData`` is present and empty: the
simulator's media is H.264. Status 2 live, 3 paused (mode "paused"), 4 offline; mode
"user_not_found" answers 19881007 about a user who exists (TLC#323's quirk); ``roomId``
stays set after the end (the last room), as the real API does.
"""

from __future__ import annotations

import json
from typing import Any

from dylived.sim.view import QUALITY_BY_KEY, RoomView, StreamLinks


# TikTok sdk key → (ladder key, display name, level)
SDK_KEYS: tuple[tuple[str, str, str, int], ...] = (
    ("origin", "origin", "Original", 10),
    ("uhd_60", "uhd", "1080p60", 6),
    ("hd_60", "hd", "720p60", 4),
    ("hd", "hd", "720p", 3),
    ("sd", "sd", "540p", 2),
    ("ld", "ld", "360p", 1),
    ("ao", "md", "Audio", 0),
)
STATUS_LIVE, STATUS_PAUSED, STATUS_OFFLINE = 2, 3, 4
CODE_RESTRICTED = 4003110
CODE_PARAMS_ERROR = 19881005
CODE_USER_NOT_FOUND = 19881007


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sdk_params(ladder: str, links: StreamLinks, audio_only: bool) -> str:
    quality = QUALITY_BY_KEY[ladder]
    return _compact(
        {
            "VCodec": "h264",
            "vbitrate": 0 if audio_only else quality.bitrate,
            "resolution": "" if audio_only else f"{links.width}x{links.height}",
            "gop": 2,
            "stream_suffix": quality.suffix.lstrip("_"),
        }
    )


def stream_data(view: RoomView) -> dict[str, Any]:
    """The ``streamData`` object of a live room (empty when it has no links)."""
    if not view.links:
        return {}
    data = {}
    for key, ladder, _, _ in SDK_KEYS:
        links = view.links[ladder]
        flv = links.flv + ("&only_audio=1" if key == "ao" else "")
        data[key] = {
            "main": {
                "flv": flv,
                "hls": "" if key == "ao" else links.hls,
                "cmaf": "",
                "dash": "",
                "lls": "",
                "tsl": "",
                "tile": "",
                "sdk_params": _sdk_params(ladder, links, key == "ao"),
            }
        }
    common = {"session_id": view.session_id, "rule_ids": "", "user_count": view.viewers}
    qualities = [
        {
            "name": name,
            "sdk_key": key,
            "level": level,
            "icon_type": 0,
            "resolution": f"{view.links[ladder].width}x{view.links[ladder].height}",
            "v_codec": "h264",
        }
        for key, ladder, name, level in SDK_KEYS
        if key != "ao"
    ]
    return {
        "pull_data": {
            "options": {"default_quality": qualities[-2], "qualities": qualities},
            "stream_data": _compact({"common": common, "data": data}),
        }
    }


def _status_code(view: RoomView) -> int:
    if not view.live:
        return STATUS_OFFLINE
    return STATUS_PAUSED if "paused" in view.modes else STATUS_LIVE


def user_object(view: RoomView) -> dict[str, Any]:
    return {
        "avatarLarger": f"https://p16-sign.tiktokcdn-us.com/avatar/{view.uid}~c5_1080x1080.jpeg",
        "id": str(view.uid),
        "nickname": view.nickname,
        "roomId": view.room_id,
        "secUid": view.sec_uid,
        "signature": "",
        "status": _status_code(view),
        "uniqueId": view.web_rid,
        "verified": False,
    }


def live_room_object(view: RoomView, *, streams: bool = True) -> dict[str, Any]:
    return {
        "coverUrl": f"https://p16-webcast.tiktokcdn.com/cover/{view.stream_id or '0'}.webp",
        "hevcStreamData": {},
        "liveRoomMode": 0,
        "liveRoomStats": {"enterCount": view.total_users, "userCount": view.viewers},
        "startTime": view.create_time,
        "status": _status_code(view),
        "streamData": stream_data(view) if streams else {},
        "streamId": view.stream_id,
        "title": view.title if view.live else "",
    }


def _extra(view: RoomView | None) -> dict[str, Any]:
    now = view.now_ms if view is not None else 0
    return {"fatal_item_ids": [], "logid": f"2026{now:015d}", "now": now}


def user_room_body(view: RoomView | None, *, logged_in: bool) -> dict[str, Any]:
    """The ``api-live/user/room`` answer about one room (None: no such user)."""
    if view is None or "user_not_found" in view.modes:
        return {"data": None, "message": "user_not_found", "statusCode": CODE_USER_NOT_FOUND}
    if "restricted" in view.modes and view.live and not logged_in:
        return {
            "data": {"prompts": ""},
            "extra": _extra(view),
            "message": "",
            "statusCode": CODE_RESTRICTED,
        }
    return {
        "data": {
            "liveRoom": live_room_object(view),
            "stats": {"followerCount": 1000 + view.uid % 9000, "followingCount": 12},
            "user": user_object(view),
        },
        "extra": _extra(view),
        "message": "",
        "statusCode": 0,
    }


def params_error_body() -> dict[str, Any]:
    return {"data": None, "message": "params_error", "statusCode": CODE_PARAMS_ERROR}


def sigi_state(view: RoomView | None, *, logged_in: bool) -> dict[str, Any]:
    """The live page's ``SIGI_STATE`` (no ``LiveRoom`` for an unknown user)."""
    state: dict[str, Any] = {
        "AppContext": {"appContext": {"language": "en", "region": "US", "user": {}}},
        "SEOState": {"canonical": "https://www.tiktok.com/live"},
    }
    if view is None:
        return state
    hidden = "restricted" in view.modes and not logged_in
    room = live_room_object(view, streams=not hidden)
    if hidden and view.live:
        room["prompts"] = "Follow the creator to watch their LIVE"
    state["LiveRoom"] = {
        "liveRoomStatus": 0,
        "liveRoomUserInfo": {"user": user_object(view), "liveRoom": room},
    }
    return state


def room_info_body(view: RoomView | None, *, logged_in: bool) -> dict[str, Any]:
    """The ``webcast/room/info`` answer (E) for a room id."""
    if view is None:
        return {"data": {"message": "room not found"}, "extra": _extra(None), "status_code": 30003}
    if "restricted" in view.modes and view.live and not logged_in:
        return {"data": {"prompts": ""}, "extra": _extra(view), "status_code": CODE_RESTRICTED}
    data: dict[str, Any] = {
        "id_str": view.room_id,
        "status": _status_code(view),
        "title": view.title,
        "create_time": view.create_time,
        "owner": {
            "id_str": str(view.uid),
            "display_id": view.web_rid,
            "nickname": view.nickname,
            "sec_uid": view.sec_uid,
        },
        "stats": {"total_user": view.total_users},
    }
    if view.live:
        origin = view.links["origin"]
        data["stream_url"] = {
            "flv_pull_url": {
                "HD1": view.links["hd"].flv,
                "SD1": view.links["ld"].flv,
                "SD2": view.links["sd"].flv,
            },
            "hls_pull_url": origin.hls,
            "rtmp_pull_url": origin.flv,
            "default_resolution": "SD2",
            "candidate_resolution": ["SD1", "SD2", "HD1"],
            "live_core_sdk_data": stream_data(view),
        }
    return {"data": data, "extra": _extra(view), "status_code": 0}
