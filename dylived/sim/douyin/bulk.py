"""Real-size web/enter bodies: the bulk the real service sends around the few fields a client reads.

The 2026 capture (shared/captures/douyin-web-enter-live-2026-04.json) is ~625 KB: the room object
(41 keys: stream data, stats, auth flags, toolbar, touch-area config, AB flags …) plus
``data.similar_rooms``, 12 other live rooms of ~40–75 KB each (~590 KB), each with its own
``stream_url`` and a second one under ``others.web_data.additional_stream_url``. This module
builds a body with the same keys at the levels a parser walks (``data``, the room object, each
similar room, ``stream_url``, ``stream_data``), the same nesting and value types, and about the
same size and number of JSON values; the contents of the opaque blocks (AB flags, touch-area
config …) are generated, not copied. A test compares it with the capture when that is present.

The bulk that does not depend on the room (``similar_rooms`` and the room's opaque blocks) is
built once per process and kept as JSON text, so a request costs one small ``json.dumps`` and a
splice (:func:`real_web_enter_bytes`).
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

from dylived.sim.douyin.status import web_enter_body
from dylived.sim.view import RoomView


SIMILAR_ROOMS = 12
_SEED = 2026
_BULK = "\x00bulk:{}\x00"  # placeholder strings replaced by cached JSON text
_QUALITIES = ("origin", "uhd", "hd", "sd", "ld", "md", "ao")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _word(rng: random.Random, length: int) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=length))


def _url(rng: random.Random, host: str, length: int) -> str:
    query = "&".join(f"{_word(rng, 4)}={_word(rng, 12)}" for _ in range(max(1, length // 18)))
    return f"https://{host}/stage/stream-{rng.randrange(10**17, 10**18)}.flv?{query}"[:length]


def _ab_map(rng: random.Random) -> dict[str, str]:
    """``AnchorABMap``: ~116 string flags (3.5 KB)."""
    values = ("0", "1", "2", "default", "exp_v2", "")
    return {f"ab_{_word(rng, 15)}": rng.choice(values) for _ in range(116)}


def _touch_area(rng: random.Random) -> dict[str, Any]:
    """``short_touch_area_config``: ~160 small objects keyed by number (6 KB)."""

    def entries(count: int) -> dict[str, Any]:
        return {
            str(rng.randrange(1, 300)): {"type": rng.randrange(1, 9), "priority": rng.randrange(99)}
            for _ in range(count)
        }

    return {
        "elements": entries(14),
        "forbidden_types_map": {},
        "temp_state_condition_map": entries(7),
        "temp_state_strategy": {
            str(rng.randrange(1, 300)): {
                "short_touch_type": rng.randrange(1, 300),
                "strategy_map": {
                    str(k): {"duration": 300, "strategy_method": "", "short_touch_type": k}
                    for k in range(1, 5)
                },
            }
            for _ in range(18)
        },
        "strategy_feat_whitelist": [_word(rng, 8) for _ in range(6)],
        "temp_state_global_condition": {"duration_gap": 7200, "allow_count": 1, "ignore": []},
    }


def _toolbar(rng: random.Random) -> dict[str, Any]:
    def entry() -> dict[str, Any]:
        return {
            "group_id": rng.randrange(1, 9),
            "component_type": rng.randrange(1, 300),
            "op_type": 1,
            "text": "",
            "schema_url": "",
            "show_type": 1,
            "data_status": 0,
            "extra": _dumps({_word(rng, 6): rng.randrange(999) for _ in range(20)}),
        }

    return {
        "entrance_list": [entry() for _ in range(5)],
        "more_panel": [entry() for _ in range(3)],
        "max_entrance_cnt": 4,
        "landscape_up_right": [],
        "skin_resource": {},
        "max_entrance_cnt_landscape": 4,
        "permutation": {
            "general": {"GroupPriority": [1, 2, 3], "ComponentSequence": list(range(60))},
            "on_demand_component_list": [],
            "block_component_list": [],
        },
        "extra_info": {"game_promotion_coexist": 0},
    }


def _room_auth(rng: random.Random) -> dict[str, Any]:
    auth: dict[str, Any] = dict.fromkeys(("Chat", "Danmaku", "Gift", "LuckMoney", "Digg"), True)
    auth |= {f"{_word(rng, 8).title()}": rng.randrange(3) for _ in range(68)}
    auth |= {f"{_word(rng, 6).title()}Info": {"off_type": 1, "ab_status": 0} for _ in range(4)}
    return auth


def _stream_data(rng: random.Random, links: dict[str, tuple[str, str]]) -> str:
    """``live_core_sdk_data.pull_data.stream_data``: JSON text of ~9 KB."""
    data = {
        q: {
            "main": {
                "flv": flv,
                "hls": hls,
                "cmaf": "",
                "dash": "",
                "lls": flv if q != "ao" else "",
                "tsl": "",
                "tile": "",
                "http_ts": "",
                "ll_hls": "",
                "sdk_params": _dumps(
                    {"VCodec": "h264", "vbitrate": rng.randrange(500_000, 6_000_000)}
                    | {"resolution": "1920x1080", "gop": 4, "drType": "sdr"}
                ),
                "enableEncryption": False,
                "templateRealTimeInfo": {"cdn": "", "abr": _word(rng, 8), "lls": 0},
            }
        }
        for q, (flv, hls) in links.items()
    }
    return _dumps({"common": _common(rng), "data": data})


def _common(rng: random.Random) -> dict[str, Any]:
    """``stream_data.common``: the capture's keys."""
    return {
        "ts": str(rng.randrange(10**9, 2 * 10**9)),
        "session_id": _word(rng, 45),
        "stream": str(rng.randrange(10**17, 10**18)),
        "version": 0,
        "rule_ids": _word(rng, 86),
        "common_trace": _word(rng, 249),
        "app_id": "100102",
        "major_anchor_level": "common",
        "mode": "Normal",
        "lines": {"main": "line_main"},
        "p2p_params": {
            "PcdnIsolationConfig": {f"{_word(rng, 8)}": _word(rng, 20) for _ in range(7)}
        },
        "label": {"peer_labels": {"corr_resolution_rate": "0.000000"}, "labels": {"user_cnt": "9"}},
        "stream_data_content_encoding": "deflate",
        "common_sdk_params": {"main": "{}"},
        "stream_name": f"stream-{_word(rng, 18)}",
        "main_push_id": 1,
        "backup_push_id": 0,
    }


def _similar_stream_url(rng: random.Random, *, extended: bool, multi_view: bool) -> dict[str, Any]:
    links = {
        q: (_url(rng, "pull-flv.douyincdn.com", 300), _url(rng, "pull-hls.douyincdn.com", 260))
        for q in _QUALITIES
    }
    legacy = ("FULL_HD1", "HD1", "SD1", "SD2")
    qualities = [
        {
            "name": q,
            "sdk_key": q,
            "v_codec": "264",
            "resolution": "1280x720",
            "level": level,
            "v_bit_rate": 2_000_000,
            "additional_content": "",
            "fps": 30,
            "disable": 0,
        }
        for level, q in enumerate(_QUALITIES[:6])
    ]
    block: dict[str, Any] = {
        "flv_pull_url": dict.fromkeys(legacy, links["hd"][0]),
        "default_resolution": "HD1",
        "hls_pull_url_map": dict.fromkeys(legacy, links["hd"][1]),
        "hls_pull_url": links["origin"][1],
        "stream_orientation": 1,
        "live_core_sdk_data": {
            "pull_data": {
                "options": {"default_quality": qualities[0], "qualities": qualities},
                "stream_data": _stream_data(rng, links),
            }
        },
        "extra": {f"{_word(rng, 10)}": rng.choice([0, 30, 1080, False, True]) for _ in range(17)},
        "pull_datas": {},
    }
    if multi_view:  # a second camera: one more stream_data of the same size
        block["pull_datas"] = {
            str(rng.randrange(10**17, 10**18)): {
                "options": {"default_quality": qualities[0], "qualities": qualities},
                "stream_data": _stream_data(rng, links),
                "extension": {"multi_view_data": _word(rng, 1036)},
            }
        }
    if extended:  # others.web_data.additional_stream_url: the long form of the same block
        pull = block["live_core_sdk_data"]["pull_data"]
        pull |= {"version": 0, "hls_data_unencrypted": {}, "kind": 1, "codec": "h264"}
        pull |= {
            name: [
                {"quality_name": q, "url": pair[i], "stream_size": 0} for q, pair in links.items()
            ]
            for i, name in enumerate(("Flv", "Hls"))
        }
        block["live_core_sdk_data"] |= {
            "push_data": {"push_stream_level": 0, "kind": 1, "resolution_params": {}},
            "size": "",
        }
        block |= {
            "provider": 0,
            "id": rng.randrange(10**17, 10**18),
            "id_str": str(rng.randrange(10**17, 10**18)),
            "resolution_name": {k: k for k in legacy} | {"ORIGION": "origin"},
            "rtmp_push_url": "",
            "rtmp_pull_url": _url(rng, "pull-rtmp.douyincdn.com", 339),
            "candidate_resolution": ["SD1", "SD2", "HD1", "FULL_HD1"],
            "hls_pull_url_params": "{}",
            "rtmp_pull_url_params": "{}",
            "flv_pull_url_params": {k: _dumps({"vbitrate": 1}) for k in legacy},
            "rtmp_push_url_params": "",
            "push_urls": [],
            "complete_push_urls": [],
            "stream_control_type": 0,
            "push_stream_type": 0,
            "play": {"horizontal": "", "vertical": ""},
            "push_datas": {},
            "vr_type": 0,
            "multi_stream_scene": 0,
            "resolution_select_panel_resident": 0,
        }
    return block


def _small_blocks(rng: random.Random) -> dict[str, Any]:
    """The room keys of a few hundred bytes each, with values of the capture's types."""
    return {
        "mosaic_status": 0,
        "mosaic_status_str": "0",
        "admin_user_ids": [rng.randrange(10**10, 10**16) for _ in range(6)],
        "admin_user_ids_str": [str(rng.randrange(10**10, 10**16)) for _ in range(6)],
        "live_room_mode": 1,
        "has_commerce_goods": False,
        "linker_map": {},
        "linker_detail": {f"{_word(rng, 12)}": rng.choice([0, False, "", []]) for _ in range(16)},
        "ecom_data": {"reds_show_infos": [], "instant_type": 0, "route_rule": ""},
        "like_count": rng.randrange(10_000),
        "paid_live_data": {f"{_word(rng, 10)}": rng.choice([0, False, {}]) for _ in range(10)},
        "game_data": {"game_tag_info": {"is_game": 1, "game_tag_id": 1010003}},
        "gift_msg_style": 2,
        "fansclub_msg_style": 2,
        "follow_msg_style": 2,
        "share_msg_style": 2,
        "preview_expose": {f"{_word(rng, 14)}": rng.choice([0, False, "", []]) for _ in range(22)}
        | {"preview_high_light": {f"{_word(rng, 9)}": _word(rng, 50) for _ in range(11)}},
        "admin_user_open_ids": [],
        "admin_user_open_ids_str": [],
        "owner_open_id_str": "",
    }


def _similar_room(rng: random.Random, index: int) -> dict[str, Any]:
    uid = rng.randrange(10**10, 10**16)
    room = {
        "id_str": str(rng.randrange(10**18, 8 * 10**18)),
        "status": 2,
        "status_str": "2",
        "title": f"推荐直播 {index}",
        "user_count_str": str(rng.randrange(100, 9999)),
        "cover": {"url_list": [_url(rng, "p3-webcast.douyinpic.com", 200)]},
        "stream_url": _similar_stream_url(rng, extended=False, multi_view=index % 4 == 1),
        "owner": {
            "id_str": str(uid),
            "sec_uid": "MS4wLjABAAAA" + _word(rng, 64),
            "nickname": f"主播{index}",
            "avatar_thumb": {"url_list": [_url(rng, "p3.douyinpic.com", 130) for _ in range(3)]},
            "follow_info": {"follow_status": 0, "follow_status_str": "0"},
            "foreign_user": 0,
            "open_id_str": "",
            "subscribe": {"is_member": False, "level": 0},
        },
        "stats": {
            "total_user_desp": "",
            "like_count": 0,
            "total_user_str": "1万+",
            "user_count_str": "99",
        },
        "room_view_stats": {"is_hidden": False, "display_short": "99", "display_value": 99},
        "AnchorABMap": _ab_map(rng),
        "owner_user_id_str": "",
        "others": {
            "web_live_port_optimization": {"strategy_config": {}, "strategy_extra": ""},
            "lvideo_item_id": 0,
            "mosaic_version": 0,
            "web_data": {
                "additional_stream_url": _similar_stream_url(
                    rng, extended=True, multi_view=index % 4 == 1
                )
            },
            "metric_tracker_data_list": [],
            "room_chat_guide_locale_city": "",
            "redirect_from": 0,
            "panel_guidance": "",
            "participant_activity": "",
            "labels": {},
        },
    } | _small_blocks(rng)
    return {
        "room": room,
        "tag_name": "热门",
        "uniq_id": str(rng.randrange(10**10, 10**11)),
        "web_rid": str(rng.randrange(10**10, 10**11)),
        "is_recommend": 1,
        "title_type": 0,
        "cover_type": 0,
    }


@functools.cache
def _cached_bulk() -> dict[str, bytes]:
    """JSON of the blocks that do not depend on the room, built once per process (the largest
    last: it is spliced last, so the body is copied once at full size)."""
    rng = random.Random(_SEED)
    blocks = {
        "AnchorABMap": _ab_map(rng),
        "short_touch_area_config": _touch_area(rng),
        "toolbar_data": _toolbar(rng),
        "room_auth": _room_auth(rng),
        "similar_rooms": [_similar_room(rng, i) for i in range(SIMILAR_ROOMS)],
    }
    return {name: _dumps(value).encode() for name, value in blocks.items()}


def real_web_enter(view: RoomView | None) -> dict[str, Any]:
    """The web/enter JSON at the real size, as a Python object (for tests; slower to serve)."""
    body: dict[str, Any] = json.loads(real_web_enter_bytes(view))
    return body


def real_web_enter_bytes(view: RoomView | None, *, logged_in: bool = False) -> bytes:
    """The web/enter body of :func:`dylived.sim.douyin.status.web_enter_body` with the bulk."""
    body = web_enter_body(view, logged_in=logged_in)
    data = body["data"]
    placeholders = {name: _BULK.format(name) for name in _cached_bulk()}
    data |= {
        "qrcode_url": "https://webcast.amemv.com/douyin/webcast/reflow/0?u_code=0",
        "enter_mode": 0,
        "partition_road_map": {"partition": {"id_str": "1010003", "type": 1, "title": "射击游戏"}},
        "similar_rooms": placeholders["similar_rooms"] if view is not None else [],
        "shark_decision_conf": "",
        "auth_cert_info": "",
        "extra": {"digg_color": "", "pay_scores": {}, "is_official_channel": False},
    }
    for room in data["data"]:
        del room["partition_road_map"]  # data.partition_road_map in the real body
        room |= {k: placeholders[k] for k in ("AnchorABMap", "short_touch_area_config")}
        room |= {k: placeholders[k] for k in ("toolbar_data", "room_auth")}
        room |= _room_blocks(room["id_str"])
        if "stream_url" in room:
            room["stream_url"] = _with_stream_bulk(
                room["stream_url"], random.Random(room["id_str"])
            )
    return _splice(_dumps(body).encode(), placeholders)


def _splice(text: bytes, placeholders: dict[str, str]) -> bytes:
    """``text`` with each placeholder string replaced by its cached JSON (one copy in all)."""
    found = []
    for name, bulk in _cached_bulk().items():
        marker = _dumps(placeholders[name]).encode()
        at = text.find(marker)
        if at >= 0:
            found.append((at, len(marker), bulk))
    parts: list[bytes] = []
    start = 0
    for at, length, bulk in sorted(found):
        parts += (text[start:at], bulk)
        start = at + length
    parts.append(text[start:])
    return b"".join(parts)


@functools.lru_cache(maxsize=4096)
def _room_blocks(room_id: str) -> dict[str, Any]:
    """The room's small blocks, the same for every answer about that room (kept, not rebuilt:
    the simulator answers ~30 web/enter requests a second in bench.poll_scale)."""
    return _small_blocks(random.Random(room_id)) | {
        "scene_type_info": {"is_union_live_room": False, "is_life": False},
        "basis": {"next_ping": 300, "is_customize_audio_room": False},
        "pico_info": {"pico_live_type": 0, "pico_virtual_live_bg_image_uri": ""},
        "room_cart": {"contain_cart": False, "total": 0, "flash_total": 0},
        "req_user": {"user_share_room_score": 0, "enter_user_device_type": 0},
        "others": {"deco_detail": {}, "more_panel_info": {"load_strategy": 0}},
    }


def _with_stream_bulk(block: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The simulator's stream_url with the capture's extra keys and a stream_data of real size."""
    extra = block["extra"] | {f"{_word(rng, 10)}": 0 for _ in range(13)}
    pull = block["live_core_sdk_data"]["pull_data"]
    stream_data = json.loads(pull["stream_data"])
    stream_data["common"] = _common(rng) | stream_data["common"]
    for entry in stream_data["data"].values():
        entry["main"]["templateRealTimeInfo"] = {"cdn": "", "abr": _word(rng, 8), "lls": 0}

    pull = pull | {"stream_data": _dumps(stream_data)}
    return block | {"extra": extra, "live_core_sdk_data": {"pull_data": pull}}


__all__ = ["SIMILAR_ROOMS", "real_web_enter", "real_web_enter_bytes"]
