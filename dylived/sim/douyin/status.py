"""The Douyin personality's status JSON: web/enter and reflow bodies, shaped like the real service.

Modelled on the real web/enter capture (shared/captures/douyin-web-enter-live-2026-04.json):
``data.data[0]`` room object (status 2/4, ``id_str``, ``title``, ``owner``, ``stats``,
``room_view_stats``, ``stream_url``), ``data.user``, ``data.room_status`` (0 live, 2 ended),
``data.enter_room_id``, ``extra.now``. ``stream_url`` has ``flv_pull_url`` and
``hls_pull_url_map`` keyed FULL_HD1/HD1/SD1/SD2 (FULL_HD1→uhd, HD1→hd, SD2→sd, SD1→ld as in the
2026 capture), ``hls_pull_url`` (origin) and ``live_core_sdk_data.pull_data`` whose
``stream_data`` is a JSON *string* with origin/uhd/hd/sd/ld/md, each ``main.sdk_params`` itself
JSON, plus ``options.qualities``. The reflow body follows protocol.md §1.4 and its error shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dylived.sim.view import FPS, QUALITY_LADDER, Quality, RoomView, StreamLinks


LEGACY_KEYS: Mapping[str, str] = {"FULL_HD1": "uhd", "HD1": "hd", "SD1": "ld", "SD2": "sd"}


OFFLINE_ROOM_ID_BASE = 7_100_000_000_000_000_000  # placeholder room id of a never-live room


def _avatar(uid: int) -> dict[str, Any]:
    return {"url_list": [f"https://p3.douyinpic.com/aweme/100x100/avatar_{uid}.jpeg"]}


def _user(view: RoomView) -> dict[str, Any]:
    return {
        "id_str": str(view.uid),
        "sec_uid": view.sec_uid,
        "nickname": view.nickname,
        "avatar_thumb": _avatar(view.uid),
        "follow_info": {"follow_status": 0, "follow_status_str": "0"},
    }


def _sdk_params(quality: Quality, links: StreamLinks) -> str:
    return json.dumps(
        {
            "VCodec": "h264",
            "vbitrate": quality.bitrate,
            "resolution": f"{links.width}x{links.height}",
            "gop": 2,
            "drType": "sdr",
            "fps": FPS,
        },
        separators=(",", ":"),
    )


def stream_url_block(view: RoomView) -> dict[str, Any]:
    """The ``stream_url`` object of a live room."""
    links = view.links
    stream_data = {
        "common": {
            "ts": str(view.now_ms // 1000),
            "session_id": view.session_id,
            "stream": view.stream_id,
            "version": 0,
            "stream_name": f"stream-{view.stream_id}",
            "major_anchor_level": "common",
            "mode": "HotForward",
            "lines": {"main": "line_sim"},
        },
        "data": {
            q.sdk_key: {
                "main": {
                    "flv": links[q.sdk_key].flv,
                    "hls": links[q.sdk_key].hls,
                    "cmaf": "",
                    "dash": "",
                    "lls": "",
                    "tsl": "",
                    "tile": "",
                    "http_ts": "",
                    "ll_hls": "",
                    "sdk_params": _sdk_params(q, links[q.sdk_key]),
                    "enableEncryption": False,
                }
            }
            for q in QUALITY_LADDER
            if q.sdk_key in links
        },
    }
    qualities = [
        {
            "name": q.name,
            "sdk_key": q.sdk_key,
            "v_codec": "264",
            "resolution": f"{links[q.sdk_key].width}x{links[q.sdk_key].height}",
            "level": q.level,
            "v_bit_rate": q.bitrate,
            "additional_content": "",
            "fps": FPS,
            "disable": 0,
        }
        for q in reversed(QUALITY_LADDER)
        if q.sdk_key in links
    ]
    default = next(q for q in qualities if q["sdk_key"] == "origin")
    return {
        "flv_pull_url": {legacy: links[key].flv for legacy, key in LEGACY_KEYS.items()},
        "default_resolution": "HD1",
        "hls_pull_url_map": {legacy: links[key].hls for legacy, key in LEGACY_KEYS.items()},
        "hls_pull_url": links["origin"].hls,
        "stream_orientation": 2 if links["origin"].width >= links["origin"].height else 1,
        "live_core_sdk_data": {
            "pull_data": {
                "options": {"default_quality": default, "qualities": qualities},
                "stream_data": json.dumps(stream_data, separators=(",", ":"), ensure_ascii=False),
            }
        },
        "extra": {
            "height": links["origin"].height,
            "width": links["origin"].width,
            "fps": FPS,
            "max_bitrate": QUALITY_LADDER[0].bitrate,
        },
        "pull_datas": {},
    }


def _room_object(view: RoomView) -> dict[str, Any]:
    live = view.live
    viewers = view.viewers if live else 0
    room: dict[str, Any] = {
        "id_str": view.room_id or str(OFFLINE_ROOM_ID_BASE + view.uid % 10**15),
        "status": 2 if live else 4,
        "status_str": "2" if live else "4",
        "title": view.title,
        "user_count_str": str(viewers),
        "cover": {"url_list": [f"https://p3-webcast.douyinpic.com/cover/{view.room_id}.image"]},
        "owner_user_id_str": str(view.uid),
        "owner": {
            "id_str": str(view.uid),
            "sec_uid": view.sec_uid,
            "nickname": view.nickname,
            "avatar_thumb": _avatar(view.uid),
        },
        "stats": {
            "total_user_str": str(view.total_users),
            "user_count_str": str(viewers),
            "like_count": 0,
        },
        "room_view_stats": {
            "display_short": str(viewers),
            "display_middle": str(viewers),
            "display_long": f"{viewers}在线观众",
            "display_value": viewers,
            "display_type": 1,
        },
        "room_auth": {"Chat": True, "Gift": True, "Digg": True},
        "partition_road_map": {"partition": {"title": "娱乐"}},
    }
    if live:
        room["stream_url"] = stream_url_block(view)
    return room


def web_enter_body(view: RoomView | None, *, logged_in: bool = False) -> dict[str, Any]:
    """The web/enter JSON: live, ended (status 4 / room_status 2) or unknown (empty data.data).

    ``data.login_lead.is_login`` is ``logged_in`` (the request's login cookie was accepted).
    """
    now = view.now_ms if view is not None else 0
    if view is None:
        return {
            "data": {"data": [], "enter_room_id": "", "room_status": 2, "qrcode_url": ""},
            "extra": {"now": now},
            "status_code": 0,
        }
    # A known broadcaster always has a room object, as on the real service: the current room
    # while live, else its last one (status 4); one that was never live here gets a placeholder.
    data: dict[str, Any] = {
        "data": [_room_object(view)],
        "enter_room_id": view.room_id,
        "room_status": 0 if view.live else 2,
        "web_stream_url": {"flv_pull_url": {}, "hls_pull_url_map": {}, "pull_datas": {}},
        "login_lead": {"is_login": logged_in, "level": 0, "items": {}},
    }
    if view.live or view.ended_style != "prompts":
        data["user"] = _user(view)
    else:
        data["prompts"] = "直播已结束"
    return {"data": data, "extra": {"now": view.now_ms}, "status_code": 0}


def reflow_body(view: RoomView | None, *, stale_replay: bool = False) -> dict[str, Any]:
    """The reflow/info JSON for a sec_uid; unknown → the real 10011 error shape.

    ``stale_replay`` reproduces the real quirk after an end: status 2 with ``finish_time`` set
    and a replay URL tagged ``rtm_expr_tag=reflow_room_info`` (protocol.md §1.4).
    """
    if view is None:
        return {
            "data": {"message": "Request params error", "prompts": "Request params error\t"},
            "status_code": 10011,
        }
    live = view.live or stale_replay
    room: dict[str, Any] = {
        "id": int(view.room_id) if view.room_id else 0,
        "id_str": view.room_id,
        "status": 2 if live else 4,
        "title": view.title,
        "user_count": view.viewers if view.live else 0,
        "create_time": view.create_time,
        "finish_time": 0 if view.live else view.finish_time,
        "cover": {"url_list": [f"https://p3-webcast.douyinpic.com/cover/{view.room_id}.image"]},
        "stream_id": int(view.stream_id) if view.stream_id else 0,
        "owner": {
            "id_str": str(view.uid),
            "nickname": view.nickname,
            "web_rid": view.web_rid,
            "sec_uid": view.sec_uid,
            "gender": 0,
            "signature": "",
            "avatar_thumb": _avatar(view.uid),
            "follow_info": {"follow_status": 0},
        },
    }
    if view.live:
        room["stream_url"] = stream_url_block(view)
    elif stale_replay:
        replay = f"https://replay.invalid/stream-{view.stream_id}.flv?rtm_expr_tag=reflow_room_info"
        room["stream_url"] = {
            "flv_pull_url": dict.fromkeys(LEGACY_KEYS, replay),
            "hls_pull_url_map": {},
            "pull_datas": {},
        }
    return {"data": {"room": room}, "extra": {"now": view.now_ms}, "status_code": 0}
