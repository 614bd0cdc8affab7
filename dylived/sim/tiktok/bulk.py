"""Real-size TikTok status bodies: the bulk the real service sends around the fields a client reads.

There is no TikTok capture in ``shared/captures``; the shapes and sizes come from public material
(tiktok.md §1.1, §2.2, §6 #5):

- ``webcast/room/info`` (E): a public repository (not identified, tiktok.md §6 #5) embeds the
  whole answer of ``webcast/room/enter`` for a live game room of 2025-05-12 (room
  7503448765740976902; ``data`` is the same webcast room object room/info answers with). It is
  ~55 KB: about 200 room keys (room auth, link-mic, multi-guest, decisions, game tags, like icons,
  covers, ``deprecated*`` …), the owner as a full webcast user (~4 KB: three signed avatar
  URL lists, pay grade, subscribe info …), one top fan and one linked guest (full users with a
  ~2.5 KB badge), and ``stream_url`` (~11 KB: legacy maps, their params, and
  ``live_core_sdk_data.pull_data`` with ``options.qualities`` and the ``stream_data`` text).
  :func:`real_room_info_bytes` builds the same keys at the levels a parser walks, the same
  value types and about the same size (~51–54 KB live, ~37 KB ended: no ``stream_url``); the
  opaque values and many key names are generated, not copied.
- ``api-live/user/room`` (A): its keys are the ones the client libraries model (tiktok.md §1.1;
  the Go and Rust structs of TikTok clients: ``user``, ``stats``, ``liveRoom`` with
  ``streamData`` *and* ``hevcStreamData``, each ``{pull_data: {options, stream_data},
  push_data}``). No whole answer was found, so the size is an **estimate**: the two stream sets
  carry a ``stream_data`` text each, sized like the 2025 capture's (~6 KB) plus the ``backup``
  sibling of ``main`` that 2026 EU answers have (tiktok.md §2.2, yt-dlp PR#16783), ~23–28 KB
  in all (the length of the stream URLs decides). An offline answer keeps a stale stream set
  of the last broadcast, as offline live pages are reported to; for api-live that is assumed,
  not observed.
- the live page (B): the HTML with ``SIGI_STATE`` (``AppContext``, ``SEOState``, ``LiveRoom``
  with ``loadingState``, ``recommendLiveRooms``, ``liveRoomUserInfo``; ``CurrentRoom``) and a
  ``__UNIVERSAL_DATA_FOR_REHYDRATION__`` script beside it. Its size (~190 KB of HTML, most of
  it inline styles and scripts; ~47 KB of SIGI_STATE) is an **estimate**: no whole page was
  found.

Built cheaply: the blocks that do not depend on the room are JSON text made once per process,
those of one broadcaster once per broadcaster (``functools.lru_cache``); a request costs a
``json.dumps`` of the few changing fields (status, counts, time) and, for a live room, of its
stream sets (the stream URLs change every second: their ``expire``).
"""

from __future__ import annotations

import functools
import json
import random
from typing import Any

from dylived.sim.tiktok.status import (
    SDK_KEYS,
    STATUS_LIVE,
    STATUS_OFFLINE,
    STATUS_PAUSED,
    live_room_object,
    room_info_body,
    sigi_state,
    user_object,
    user_room_body,
)
from dylived.sim.view import QUALITY_BY_KEY, RoomView, StreamLinks


__all__ = ["real_live_page_bytes", "real_room_info_bytes", "real_user_room_bytes"]

_SEED = 2025
_HEX = "0123456789abcdef"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_CACHE = 4096  # broadcasters whose blocks are kept (bench.poll_scale polls 1,000)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _members(value: dict[str, Any]) -> str:
    """The members of an object as JSON text, without the braces (to join with others)."""
    return _dumps(value)[1:-1]


def _word(rng: random.Random, length: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=length))


def _avatar_urls(rng: random.Random, uri: str, size: int) -> list[str]:
    def one(host: str, ext: str) -> str:
        return (
            f"https://{host}.tiktokcdn.com/{uri}~tplv-tiktokx-cropcenter:{size}:{size}.{ext}"
            f"?dr=14579&refresh_token={_word(rng, 8, _HEX)}"
            f"&x-expires={rng.randrange(10**9, 2 * 10**9)}"
            f"&x-signature={_word(rng, 27)}%3D&t=4d5b0474&ps=13740610&shp=a5d48078"
            f"&shcp=fdd36af4&idc=my2"
        )

    return [one("p16-sign-sg", "webp"), one("p9-sign-sg", "webp"), one("p16-sign-sg", "jpeg")]


def _image(rng: random.Random, uri: str, urls: list[str] | None = None) -> dict[str, Any]:
    if urls is None:
        urls = [f"https://p{n}-webcast.tiktokcdn.com/{uri}~tplv-obj.image" for n in (16, 19)]
    return {
        "avg_color": f"#{rng.randrange(16**6):06X}",
        "height": 0,
        "image_type": 0,
        "is_animated": False,
        "open_web_url": "",
        "uri": uri,
        "url_list": urls,
        "width": 0,
    }


def _badge(rng: random.Random) -> dict[str, Any]:
    """One ``badge_list`` entry (a user-level badge, ~2.5 KB in the capture)."""
    empty = _image(rng, "", [])
    padding = dict.fromkeys(("horizontal_padding_rule", "icon_bottom_padding", "left_padding"), 0)
    padding |= {"badge_width": 32, "middle_padding": 3, "use_specific": True}
    panel = f"sslocal://webcast_lynxview_popup?use_spark=1&url={_word(rng, 180)}&height=90%"
    level = rng.randrange(1, 50)
    return {
        "OpenWebURL": panel,
        "combine": {
            "background": {"background_color_code": "#995F90EF", "image": empty},
            "background_dark_mode": {"background_color_code": "#995F90EF", "image": empty},
            "display_type": 4,
            "font_style": {"border_color": "", "font_color": "", "font_size": 0},
            "icon": _image(rng, f"webcast-va/grade_badge_icon_lite_lv{level}_v1.png")
            | {"open_web_url": panel},
            "padding": padding,
            "padding_new_font": padding,
            "personal_card_show_style": 15,
            "profile_card_panel": {"profile_content": {"icon_list": [], "use_content": False}},
            "public_screen_show_style": 14,
            "str": str(level),
        },
        "display": True,
        "display_type": 4,
        "position": 1,
        "priority_type": 20,
        "privilege_log_extra": {
            "data_version": "2",
            "level": str(level),
            "privilege_id": str(rng.randrange(10**18, 8 * 10**18)),
            "privilege_order_id": f"mock_fix_width_transparent_{rng.randrange(10**18)}",
        },
        "scene_type": 8,
    }


def _webcast_user(
    rng: random.Random,
    *,
    uid: int,
    display_id: str,
    nickname: str,
    sec_uid: str,
    owner: bool,
    badges: int = 0,
) -> dict[str, Any]:
    """A webcast ``User`` as room/info sends it (owner, top fans, linked guests)."""
    avatar = f"tos-alisg-avt-0068/{_word(rng, 32, _HEX)}"
    user: dict[str, Any] = {f"allow_{_word(rng, 10).lower()}": False for _ in range(9)}
    user |= {
        f"avatar_{name}": _image(rng, f"{size}x{size}/{avatar}", _avatar_urls(rng, avatar, size))
        | {"avg_color": ""}
        for name, size in (("large", 1080), ("medium", 720), ("thumb", 100))
    }
    user |= {
        "badge_image_list": [],
        "badge_list": [_badge(rng) for _ in range(badges)],
        "bg_img_url": "",
        "bio_description": "",
        "block_status": 0,
        "border_list": [],
        "comment_restrict": 0,
        "commerce_webcast_config_ids": [],
        "constellation": "",
        "create_time": 0,
    }
    user |= {f"deprecated{n}": rng.choice([0, False, ""]) for n in range(1, 30, 2)}
    user |= {
        "disable_ichat": 0,
        "display_id": display_id,
        "enable_ichat_img": 0,
        "exp": 0,
        "fan_ticket_count": 0,
        "fold_stranger_chat": False,
        "follow_info": {
            "follow_status": 0,
            "follower_count": 1000 + uid % 9000,
            "following_count": 12,
            "push_status": 0,
        },
        "follow_status": 0,
        "ichat_restrict_type": 0,
        "id": uid,
        "id_str": str(uid),
        "is_anchor_marked": False,
        "is_block": False,
        "is_follower": False,
        "is_following": False,
        "is_subscribe": False,
        "link_mic_stats": 2,
        "media_badge_image_list": [],
        "mint_type_label": [],
        "modify_time": rng.randrange(10**9, 2 * 10**9),
        "need_profile_guide": False,
        "new_real_time_icons": [],
        "nickname": nickname,
        "pay_grade": {f"deprecated{n}": 0 for n in range(20, 27)}
        | {"grade_banner": "", "grade_icon_list": [], "level": 0, "name": "", "score": 0},
        "pay_score": 0,
        "pay_scores": 0,
    }
    user |= {f"push_{_word(rng, 8).lower()}": False for _ in range(8)}
    user |= {
        "real_time_icons": [],
        "scm_label": "",
        "sec_uid": sec_uid,
        "secret": 0,
        "share_qrcode_uri": "",
        "special_id": "",
        "status": 1,
        "ticket_count": 0,
        "top_fans": [],
        "top_vip_no": 0,
        "upcoming_event_list": [],
        "user_attr": {"admin_permissions": {}, "is_admin": False, "is_muted": False},
        "user_role": 0,
        "verified": False,
        "verified_content": "",
        "verified_reason": "",
        "with_car_management_permission": False,
        "with_commerce_permission": False,
        "with_fusion_shop_entry": False,
    }
    if owner:
        user |= {
            "fans_club_info": {
                "badge": _image(rng, "webcast-va/fans_left_up_corner_entrance_icon_lv1_v0.png"),
                "fans_club_name": "",
                "fans_count": 0,
                "fans_level": 0,
                "fans_score": 0,
                "is_sleeping": False,
            },
            "subscribe_info": {
                "badge": {"is_customized": False},
                "enable_subscription": False,
                "is_subscribe": False,
                "package_id": "",
                "status": 0,
                "timer_detail": {f"{_word(rng, 14).lower()}": 0 for _ in range(24)},
            },
        }
    return user


def _fan(rng: random.Random) -> dict[str, Any]:
    uid = rng.randrange(6 * 10**18, 7 * 10**18)
    return _webcast_user(
        rng,
        uid=uid,
        display_id=_word(rng, 11).lower(),
        nickname=f"fan {uid % 1000}",
        sec_uid="MS4wLjABAAAA" + _word(rng, 64),
        owner=False,
        badges=1,
    )


# Scalar room keys of the 2025 capture (their values there: "", false, 0).
_ROOM_TEXTS = (
    "answering_question_content",
    "challenge_info",
    "content_tag",
    "finish_url",
    "finish_url_v2",
    "forum_extra_data",
    "history_comment_cursor",
    "hot_sentence_info",
    "introduction",
    "live_reason",
    "multi_stream_id_str",
    "owner_device_id_str",
    "relation_tag",
    "room_llm_title",
    "rtc_app_id",
    "scroll_config",
    "short_title",
    "user_share_text",
    "video_feed_tag",
)
_ROOM_FLAGS = (
    "aigc_self_disclosure_switch",
    "disable_preload_stream",
    "disable_screen_record",
    "enable_optimize_sensitive_word",
    "enable_stream_encryption",
    "existed_commerce_goods",
    "gift_poll_vote_enabled",
    "has_commerce_goods",
    "has_more_history_comment",
    "has_used_music",
    "have_wishlist",
    "is_gated_room",
    "is_replay",
    "is_show_user_card_switch",
    "lite_user_not_visible",
    "lite_user_visible",
    "polling_star_comment",
    "replay",
    "reposted",
    "show_star_comment_entrance",
    "use_filter",
    "with_draw_something",
    "with_ktv",
)
_ROOM_NUMBERS = (
    "comment_has_text_emoji_emote",
    "comment_name_mode",
    "cpp_version",
    "disable_preview_sub_only",
    "drop_comment_group",
    "ec_age_interval",
    "effect_frame_upload_demotion",
    "enable_server_drop",
    "fansclub_msg_style",
    "finish_reason",
    "follow_msg_style",
    "game_demo",
    "gift_msg_style",
    "group_source",
    "interaction_question_version",
    "is_game",
    "layout",
    "linkmic_layout",
    "live_id",
    "live_sub_only_month",
    "live_sub_only_tier",
    "live_sub_only_use_music",
    "lottery_finish_time",
    "multi_stream_id",
    "net_mode",
    "os_type",
    "owner_device_id",
    "pico_live_type",
    "pre_enter_time",
    "preview_flow_tag",
    "ranklist_audience_type",
    "room_audit_status",
    "room_layout",
    "room_tag",
    "search_id",
    "share_msg_style",
    "sub_tag",
    "support_quiz",
    "webcast_comment_tcs",
)


def _room_statics(rng: random.Random) -> dict[str, Any]:
    """The room keys that do not depend on the room (~30 KB of JSON)."""
    statics: dict[str, Any] = {
        "AnchorABMap": {},
        "adjust_display_order": 1,
        "admin_ec_show_permission": {},
        "admin_user_ids": [],
        "age_restricted": {"AgeInterval": 0, "restricted": False, "source": 0},
        "allow_preview_time": -1,
        "anchor_live_pro_info": {f"{_word(rng, 12).lower()}": "" for _ in range(5)},
        "anchor_scheduled_time_text": "",
        "anchor_share_text": "",
        "anchor_tab_type": 7,
        "app_id": 8311,
        "audio_mute": 0,
        "auto_cover": 0,
        "ba_leads_gen_info": {"leads_gen_model": "", "leads_gen_permission": False},
        "ba_link_info": {"ba_link_data": "", "ba_link_permission": 0},
        "biz_sticker_list": [],
        "book_end_time": 0,
        "book_time": 0,
        "business_live": 0,
        "client_version": 8302,
        "commerce_info": {"commerce_permission": 0, "product_num": 0, "use_new_promotion": 0},
        "common_label_list": "",
        "continuous_room_quota_config": {"1": {"component_type": 1, "count": 1}},
        "cover_type": 0,
        "decisions": {
            "data": {"im_frequency": "-2", "public_screen_frequency": "1.5"},
            "data_v2": {
                k: _dumps({"value": "1", "source": "1362", "decision_name": "1392"})
                for k in ("im_frequency", "public_screen_frequency")
            },
            "server_features": {
                f"{_word(rng, 14).lower()}": str(rng.randrange(9)) for _ in range(30)
            },
            "ts": rng.randrange(10**9, 2 * 10**9),
        },
        "deco_list": [],
    }
    statics |= {f"deprecated{n}": rng.choice([0, False, "", [], {}]) for n in range(2, 45)}
    statics |= {
        "drawer_tab_position": "game",
        "drops_info": {f"{_word(rng, 16).lower()}": rng.choice([False, "", 0]) for _ in range(7)},
        "ecommerce_room_tags": [],
        "effect_info": [],
        "emoji_list": [],
        "feed_room_label": _image(rng, f"webcast-sg/{_word(rng, 20, _HEX)}"),
        "feed_room_labels": [],
        "filter_msg_rules": [
            {"name": name, "random": {"percentage": 100}, "rule": 0}
            for name in ("regiongroup", "agegroup3")
        ],
        "game_emotes_tab": {
            "can_use_guessing_emotes": False,
            "game_emote_config": {"emotes_can_not_be_used_hint": _word(rng, 60)},
            "unusable_guessing_emotes": {"emote_list": [], "emote_version": 0, "exist": False},
            "usable_guessing_emotes": {"emote_list": [], "emote_version": 0, "exist": False},
        },
        "game_gift_guide_config": {
            "game_gift_guide_keyword_config": [
                {"regrex_pattern": "(?i)\\b${value}\\b", "type": 2, "value": _word(rng, 10)}
                for _ in range(20)
            ]
        },
        "game_tag": [
            {
                "bundle_id": "",
                "full_name": "",
                "game_category": [],
                "hashtag_id": [5],
                "id": 1329,
                "is_new_game": False,
                "show_name": "Simulated Game",
            }
        ],
        "game_tag_detail": {
            "display_name": "Simulated Game",
            "game_tag_id": 1329,
            "game_tag_name": "Simulated Game",
            "starling_key": "topic_game_simulated",
        },
        "group_live_session": {"group_live_members": [], "is_group_live_session": False},
        "hashtag": {
            "id": 5,
            "image": _image(rng, "webcast-sg/5Gaming.png"),
            "namespace": 0,
            "title": "Gaming",
        },
        "history_comment_list": [],
        "idc_region": "maliva",
        "indicators": [],
        "interaction_question": {"has_quick_answer": True, "question_and_answer_entry": 3},
        "karaoke_info": {"display_karaoke": False, "karaoke_status": False},
        "like_effect": {"effect_cnt": 0, "effect_interval_ms": 300, "level": 0, "version": 0},
        "like_icon_info": {
            "default_icons": [],
            "icons": [_image(rng, f"webcast-sg/icon{n}.png") for n in range(5)],
            "icons_self": [],
        },
        "link_mic": {
            "audience_id_list": [],
            "battle_scores": [],
            "battle_settings": {f"{_word(rng, 10).lower()}": 0 for _ in range(8)},
            "channel_info": {"dimension": 0, "group_channel_id": 0, "layout": 0},
            "linked_user_list": [],
            "multi_live_enum": 1,
        },
        "linker_map": {},
        "live_distribution": [],
        "live_room_mode": 6,
        "live_sub_only": 0,
    }
    statics |= {f"live_type_{_word(rng, 8).lower()}": False for _ in range(7)}
    statics |= {
        "max_continue_watch_mill_seconds": 30000,
        "max_preview_time": 60000,
        "mosaic_status": 0,
        "multi_stream_scene": 0,
        "multi_stream_source": 0,
        "multi_stream_url": {
            "candidate_resolution": [],
            "flv_pull_url": {},
            "flv_pull_url_params": {},
            "hls_pull_url": "",
            "hls_pull_url_map": {},
            "resolution_name": {},
            "rtmp_pull_url": "",
        }
        | {f"{_word(rng, 12).lower()}": 0 for _ in range(14)},
        "paid_content_info": {"paid_content_live_data": "", "paid_content_permission": False},
        "paid_event": {"event_id": 0, "paid_type": 0},
        "partnership_info": {f"{_word(rng, 14).lower()}": "" for _ in range(9)},
        "pin_info": {"display_duration": 60, "has_pin": True},
        "poll_conf": {"gift_poll_limit": {"max_poll_count": 6}, "use_new_gift_poll": True},
        "quota_config": {
            str(n): {"component_type": n, "default_count": 1, "position_count_map": {}}
            for n in (6, 7, 15, 16)
        },
        "rank_comment_groups": ["ug_6", "user_type_rule"],
        "rectangle_cover_img": _image(rng, f"webcast-va/{_word(rng, 32, _HEX)}"),
        "regional_restricted": {"block_list": []},
        "room_auth": {
            f"{_word(rng, 12).title()}": rng.choice([0, 1, 2, True, False]) for _ in range(58)
        }
        | {
            "anchor_level_permission": {f"{_word(rng, 10).lower()}": 0 for _ in range(30)},
            "star_comment_permission_switch": {"OffReason": "", "status": 1},
        },
        "room_create_ab_param": _dumps({f"{_word(rng, 24).lower()}": 0 for _ in range(34)}),
        "room_sticker_list": [],
        "room_tabs": [],
        "short_touch_items": [],
        "square_cover_img": _image(rng, f"webcast-va/{_word(rng, 32, _HEX)}"),
        "star_comment_config": {"star_comment_qualification": True, "star_comment_switch": True},
        "sticker_list": [],
        "top_fans": [{"fan_ticket": 1, "user": _fan(rng)}],
        "watch_early_quota_config": {"1": {"component_type": 1, "count": 0}},
        "webcast_sdk_version": 832,
        "with_linkmic": True,
    }
    cover = f"tos-alisg-avt-0068/{_word(rng, 32, _HEX)}"
    statics |= {
        "blurred_cover": _image(rng, cover, _avatar_urls(rng, cover, 100)[:2]),
        "cover": _image(rng, f"720x720/{cover}", _avatar_urls(rng, cover, 720)),
        "commercial_content_toggle": dict.fromkeys(
            ("open_commercial_content_toggle", "promote_myself", "promote_third_party"), False
        ),
        "like_info": {"click_cnt": 0, "show_cnt": 0},
        "share_show_time": {"show_time_on_enter": 0, "show_time_on_share": 0},
    }
    statics |= dict.fromkeys(_ROOM_TEXTS, "")
    statics |= dict.fromkeys(_ROOM_FLAGS, False)
    statics |= dict.fromkeys(_ROOM_NUMBERS, 0)
    return statics


@functools.cache
def _statics_text() -> str:
    return _members(_room_statics(random.Random(_SEED)))


@functools.lru_cache(maxsize=_CACHE)
def _owner_texts(uid: int, display_id: str, nickname: str, sec_uid: str) -> tuple[str, str]:
    """The room's owner and its multi-guest block (the owner, linked as a guest), as JSON."""
    rng = random.Random(uid)
    owner = _webcast_user(
        rng, uid=uid, display_id=display_id, nickname=nickname, sec_uid=sec_uid, owner=True
    )
    guest = _webcast_user(
        rng, uid=uid, display_id=display_id, nickname=nickname, sec_uid=sec_uid, owner=False
    )
    social = {
        "cohost": {"linked_users": [], "multi_cohost_permission": True},
        "multi_live": {
            "linkmic_service_version": 1,
            "room_multi_guest_linkmic_info": {
                "multi_guest_linkmic_info": {
                    "linked_users": [
                        {"fan_ticket": 1, "linkmic_id_str": f"{uid}_0", "role_type": 1}
                        | {"user": guest}
                    ]
                }
            },
            "user_settings": {f"multi_guest_{_word(rng, 12).lower()}": 0 for _ in range(7)},
        },
    }
    return _dumps(owner), _dumps(social)


def _live_code(view: RoomView) -> int:
    if not view.live:
        return STATUS_OFFLINE
    return STATUS_PAUSED if "paused" in view.modes else STATUS_LIVE


# ---------------------------------------------------------------- stream sets


def _sdk_params(ladder: str, links: StreamLinks, audio_only: bool, codec: str) -> str:
    quality = QUALITY_BY_KEY[ladder]
    return _dumps(
        {
            "Auto": {"Demotion": {"StallCount": 4}, "Enable": 1},
            "VCodec": codec,
            "gop": 4,
            "resolution": "" if audio_only else f"{links.width}x{links.height}",
            "stream_suffix": quality.suffix.lstrip("_"),
            "v_rtbitrate": quality.bitrate * 7 // 10,
            "v_rtbitrate_timestamp": 1_747_034_137_020,
            "v_rtbitrate_vpaas_timestamp": 1_747_034_147_157,
            "v_rtpsnr": 0,
            "vbitrate": 0 if audio_only else quality.bitrate,
        }
    )


def _lls(url: str) -> str:
    """The low-latency (RTC) address of a stream: a real-looking one, never pulled."""
    path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0].rsplit(".", 1)[0]
    return f"https://pull-lls-l1-va01.tiktokcdn.com/{path}.sdp?expire=1748243747&sign=0"


def _stream_set(
    links: dict[str, StreamLinks], *, session_id: str, viewers: int, codec: str
) -> dict[str, Any]:
    """A ``streamData`` / ``hevcStreamData`` object at the real size (~13 KB of JSON)."""
    data: dict[str, Any] = {}
    for key, ladder, _, _ in SDK_KEYS:
        link = links[ladder]
        audio = key == "ao"
        flv = link.flv + ("&only_audio=1" if audio else "")
        main = {
            "flv": flv,
            "hls": "" if audio else link.hls,
            "cmaf": "",
            "dash": "",
            "lls": "" if audio else _lls(link.flv),
            "tsl": "",
            "tile": "",
            "rtc": "",
            "sdk_params": _sdk_params(ladder, link, audio, "h264" if audio else codec),
        }
        backup = main | {k: v.replace("-l1-va01.", "-f5-va02.") for k, v in main.items()}
        data[key] = {"main": main, "backup": backup}
    common = {
        "session_id": session_id,
        "rule_ids": _dumps({"ab_version_trace": None, "sched": _dumps({"ids": ["ex_608398"]})}),
        "user_count": viewers,
        "peer_anchor_level": 1,
    }
    qualities = [
        {
            "icon_type": level // 2,
            "level": level,
            "name": name,
            "resolution": "",
            "sdk_key": key,
            "v_codec": "",
        }
        for key, _, name, level in SDK_KEYS
        if key != "ao"
    ]
    return {
        "pull_data": {
            "options": {
                "default_preview_quality": qualities[-2],
                "default_quality": qualities[-2],
                "qualities": qualities,
                "show_quality_button": True,
            },
            "stream_data": _dumps({"common": common, "data": data}),
        },
        "push_data": {"push_stream_level": 0, "resolution_params": {}, "stream_data": ""},
    }


def _stale_links(uid: int) -> dict[str, StreamLinks]:
    """Links of a past broadcast (what an offline answer still carries; they answer 404)."""
    stream = f"stream-{2_999_000_000_000_000_000 + uid % 10**15}"
    return {
        q.sdk_key: StreamLinks(
            flv=f"https://pull-flv-l1-va01.tiktokcdn.com/game/{stream}{q.suffix}.flv?expire=1&sign=0",
            hls=f"https://pull-hls-l1-va01.tiktokcdn.com/game/{stream}{q.suffix}/playlist.m3u8",
            width=q.width,
            height=q.height,
        )
        for q in QUALITY_BY_KEY.values()
    }


@functools.lru_cache(maxsize=_CACHE)
def _stale_sets(uid: int) -> tuple[str, str]:
    links = _stale_links(uid)
    session = f"178-{uid:020d}"
    h264 = _stream_set(links, session_id=session, viewers=0, codec="h264")
    hevc = _stream_set(links, session_id=session, viewers=0, codec="h265")
    return _dumps(h264), _dumps(hevc)


def _live_set(view: RoomView, codec: str) -> dict[str, Any]:
    return _stream_set(
        dict(view.links), session_id=view.session_id, viewers=view.viewers, codec=codec
    )


def _stream_sets_text(view: RoomView) -> tuple[str, str]:
    """``streamData`` and ``hevcStreamData`` as JSON: the room's own when live, else stale.

    The simulator's media is H.264: the HEVC set names the same streams (the daemon prefers
    H.264 and the H.264 set has every quality, so the HEVC URLs are never pulled).
    """
    if not view.links:
        return _stale_sets(view.uid)
    return _dumps(_live_set(view, "h264")), _dumps(_live_set(view, "h265"))


# ---------------------------------------------------------------- api-live/user/room (A)


@functools.lru_cache(maxsize=_CACHE)
def _user_extra_text(uid: int) -> str:
    rng = random.Random(uid)
    avatar = f"tos-maliva-avt-0068/{_word(rng, 32, _HEX)}"
    return _members(
        {
            "avatarMedium": _avatar_urls(rng, avatar, 720)[0],
            "avatarThumb": _avatar_urls(rng, avatar, 100)[0],
            "followStatus": 0,
            "secret": False,
        }
    )


def _live_room_text(view: RoomView, *, streams: bool) -> str:
    small = live_room_object(view, streams=False)
    del small["streamData"], small["hevcStreamData"]
    small |= {
        "squareCoverImg": small["coverUrl"],
        "paidEvent": {"event_id": 0, "paid_type": 0},
        "liveSubOnly": 0,
        "gameTagId": 1329,
        "multiStreamScene": 0,
        "multiStreamSource": 0,
    }
    if not streams:
        return _dumps(small | {"streamData": {}, "hevcStreamData": {}})
    h264, hevc = _stream_sets_text(view)
    return f'{{{_members(small)},"streamData":{h264},"hevcStreamData":{hevc}}}'


def _user_text(view: RoomView) -> str:
    return f"{{{_members(user_object(view))},{_user_extra_text(view.uid)}}}"


def real_user_room_bytes(view: RoomView | None, *, logged_in: bool) -> bytes:
    """The ``api-live/user/room`` answer of ``status.user_room_body`` at the real size."""
    small = user_room_body(view, logged_in=logged_in)
    if view is None or small["statusCode"] != 0:
        return _dumps(small).encode()  # the refusals are small in the real service too
    data = small["data"]
    rest = {"extra": small["extra"], "message": "", "statusCode": 0}
    stats = data["stats"] | {"heartCount": 0, "videoCount": 0, "diggCount": 0, "friendCount": 0}
    return (
        f'{{"data":{{"liveRoom":{_live_room_text(view, streams=True)},'
        f'"stats":{_dumps(stats)},"user":{_user_text(view)}}},{_members(rest)}}}'
    ).encode()


# ---------------------------------------------------------------- webcast/room/info (E)


def _stream_url(view: RoomView) -> dict[str, Any]:
    """``data.stream_url`` of a live room with the legacy maps' params and names."""
    legacy = {"HD1": "hd", "SD1": "ld", "SD2": "sd"}
    params = {
        name: _sdk_params(ladder, view.links[ladder], False, "h264")
        for name, ladder in legacy.items()
    }
    origin = view.links["origin"]
    return {
        "alive_timestamp": 0,
        "candidate_resolution": ["SD1", "SD2", "HD1"],
        "complete_push_urls": [],
        "default_resolution": "SD2",
        "drm_type": 0,
        "extra": {f"{k}": 0 for k in ("anchor_interact_profile", "default_bitrate", "fps")}
        | {"bframe_enable": False, "gop_sec": 0, "height": 0, "width": 0, "roi": False},
        "flv_pull_url": {name: view.links[ladder].flv for name, ladder in legacy.items()},
        "flv_pull_url_params": params,
        "hls_pull_url": origin.hls,
        "hls_pull_url_map": {},
        "hls_pull_url_params": _sdk_params("origin", origin, False, "h264"),
        "id": int(view.stream_id or 0),
        "id_str": view.stream_id,
        "live_core_sdk_data": {"pull_data": _live_set(view, "h264")["pull_data"]},
        "provider": 0,
        "push_resolution": "",
        "push_urls": [],
        "resolution_name": {
            "AUTO": "AUTO",
            "FULL_HD1": "1080p",
            "HD1": "720p",
            "ORIGION": "Original",
            "SD1": "360p",
            "SD2": "540p",
            "pm_mt_video_1080p60": "1080p60",
            "pm_mt_video_720p60": "720p60",
        },
        "rtmp_pull_url": origin.flv,
        "rtmp_pull_url_params": _sdk_params("origin", origin, False, "h264"),
        "rtmp_push_url": "",
        "rtmp_push_url_params": "",
        "stream_app_id": 0,
        "stream_control_type": 0,
        "stream_delay_ms": 0,
        "stream_size_height": 0,
        "stream_size_width": 0,
        "vr_type": 0,
    }


def real_room_info_bytes(view: RoomView | None, *, logged_in: bool) -> bytes:
    """The ``webcast/room/info`` answer of ``status.room_info_body`` at the real size."""
    small = room_info_body(view, logged_in=logged_in)
    if view is None or small["status_code"] != 0:
        return _dumps(small).encode()
    data = small["data"]
    owner = data.pop("owner")
    owner_text, social_text = _owner_texts(
        view.uid, owner["display_id"], owner["nickname"], owner["sec_uid"]
    )
    room_id = int(view.room_id or 0)
    data |= {
        "id": room_id,
        "finish_time": view.finish_time or view.create_time,
        "last_ping_time": view.now_ms // 1000,
        "like_count": view.total_users // 3,
        "living_room_attrs": {"admin_flag": 0, "rank": 0, "room_id": room_id}
        | {"room_id_str": view.room_id, "silence_flag": 0},
        "owner_user_id": view.uid,
        "owner_user_id_str": "",
        "room_pcu": view.viewers,
        "share_url": f"https://m.tiktok.com/share/live/{view.room_id}/?language=en",
        "start_time": view.create_time,
        "stats": data["stats"]
        | {"id": room_id, "id_str": view.room_id}
        | dict.fromkeys(
            ("comment_count", "digg_count", "enter_count", "fan_ticket", "like_count"), 0
        )
        | {"total_user_desp": "", "user_count_composition": {"my_follow": 0, "other": 0.97}},
        "stream_id": int(view.stream_id or 0),
        "stream_id_str": view.stream_id,
        "stream_status": 1 if view.live else 0,
        "user_count": view.viewers,
    }
    if "stream_url" in data:
        data["stream_url"] = _stream_url(view)
    extra = small["extra"] | {
        "digg_color": 16711902,
        "finished_perception_msg": "",
        "is_official_channel": False,
        "is_same_app_language": True,
        "pay_scores": 0,
        "region": "US",
        "user_restricted_mode": 0,
    }
    return (
        f'{{"data":{{{_statics_text()},"owner":{owner_text},"social_interaction":{social_text},'
        f'{_members(data)}}},"extra":{_dumps(extra)},"status_code":0}}'
    ).encode()


# ---------------------------------------------------------------- the live page (B)


@functools.cache
def _page_parts() -> tuple[str, str, str, str]:
    """The page around ``SIGI_STATE`` (head with styles and the rehydration data, scripts
    after it), the state's other modules and ``LiveRoom.recommendLiveRooms``, as text."""
    rng = random.Random(_SEED + 1)
    style = "".join(f".{_word(rng, 8)}{{{_word(rng, 6)}:{_word(rng, 40)}}}" for _ in range(1200))
    script = "".join(f"var {_word(rng, 6)}={_dumps(_word(rng, 60))};" for _ in range(900))
    universal = _dumps(
        {
            "__DEFAULT_SCOPE__": {
                "webapp.app-context": {f"{_word(rng, 12)}": _word(rng, 24) for _ in range(60)},
                "webapp.biz-context": {f"{_word(rng, 12)}": _word(rng, 24) for _ in range(60)},
                "seo.abtest": {"canonical": "https://www.tiktok.com/live", "vidList": []},
            }
        }
    )
    head = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>TikTok LIVE</title>'
        f'<style>{style}</style></head><body><div id="app"></div>'
        f'<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{universal}'
        "</script>"
    )
    tail = f'<script>window["clusterRegion"]="useast5";{script}</script></body></html>'
    recommended = [
        {
            "liveRoom": {
                "coverUrl": f"https://p16-webcast.tiktokcdn.com/cover/{_word(rng, 32, _HEX)}.webp",
                "liveRoomStats": {"enterCount": rng.randrange(9999), "userCount": 99},
                "startTime": rng.randrange(10**9, 2 * 10**9),
                "status": STATUS_LIVE,
                "title": f"recommended {n}",
            },
            "roomId": str(rng.randrange(7 * 10**18, 8 * 10**18)),
            "user": {
                "avatarThumb": _avatar_urls(rng, f"tos-maliva-avt-0068/{_word(rng, 32)}", 100)[0],
                "id": str(rng.randrange(6 * 10**18, 7 * 10**18)),
                "nickname": f"creator {n}",
                "secUid": "MS4wLjABAAAA" + _word(rng, 64),
                "uniqueId": _word(rng, 12).lower(),
            },
        }
        for n in range(12)
    ]
    modules = {
        "UserModule": {"users": {}, "stats": {}},
        "LiveUserModule": {f"{_word(rng, 10)}": _word(rng, 30) for _ in range(40)},
        "I18n": {
            "lang": "en",
            "translations": {_word(rng, 20): _word(rng, 60) for _ in range(150)},
        },
    }
    return head, tail, _members(modules), _dumps(recommended)


def real_live_page_bytes(view: RoomView | None, *, logged_in: bool) -> bytes:
    """The live page of ``status.sigi_state`` at the (estimated) real size."""
    head, tail, modules, recommended = _page_parts()
    state = sigi_state(view, logged_in=logged_in)
    small_room = state.pop("LiveRoom", None)
    parts = [_members(state), modules]
    if view is not None and small_room is not None:
        small_live = small_room["liveRoomUserInfo"]["liveRoom"]
        streams = bool(small_live["streamData"]) or not view.live  # offline: the stale set
        room = _live_room_text(view, streams=streams)
        if "prompts" in small_live:
            room = room[:-1] + f',"prompts":{_dumps(small_live["prompts"])}}}'
        stats = {"followerCount": 1000 + view.uid % 9000, "followingCount": 12}
        head_keys = {
            "loadingState": {"getRecommendLive": 1, "getUserInfo": 1, "getUserStat": 1},
            "needLogin": False,
            "showLiveGate": False,
            "isAgeGateRoom": False,
            "liveRoomStatus": small_room["liveRoomStatus"],
        }
        parts.append(
            f'"LiveRoom":{{{_members(head_keys)},"recommendLiveRooms":{recommended},'
            f'"liveRoomUserInfo":{{"user":{_user_text(view)},"stats":{_dumps(stats)},'
            f'"liveRoom":{room}}}}}'
        )
        current = {
            "anchorId": str(view.uid),
            "anchorUniqueId": view.web_rid,
            "roomId": view.room_id,
            "liveType": "video_live",
            "enterRoomWithSSR": True,
            "playMode": "live",
        }
        parts.append(f'"CurrentRoom":{_dumps(current)}')
    sigi = "{" + ",".join(parts) + "}"
    return (
        head + f'<script id="SIGI_STATE" type="application/json">{sigi}</script>' + tail
    ).encode()
