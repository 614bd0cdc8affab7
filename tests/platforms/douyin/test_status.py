"""wire/status.py: web/enter and reflow bodies → LiveStatus, error classification, select_stream.

The real 2026 capture anchors the parser to reality; hand-built bodies cover every other shape
(ended, prompts, deleted account, empty room list, error codes, the reflow post-end quirk).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dylived.errors import CookieRejected, RiskControl, RoomNotFound, UpstreamError
from dylived.model import (
    LEGACY_QUALITIES,
    QUALITIES,
    LiveStatus,
    StreamChoice,
    StreamVariant,
    select_stream,
)
from dylived.platforms.douyin.status import (
    ACCOUNT_DELETED_NICKNAME,
    RoomListEmpty,
    carries_login,
    decode_body,
    parse_enter,
    parse_reflow,
    parse_streams,
    sec_uid_of,
)


SEC_UID = "MS4wLjABAAAAOMC6z5OYdk5GziCLRHbsYCyNKkCZ9ajxuk1QT3bFUV87v48FP5VWQNP8N6gPK5kN"


# ---------------------------------------------------------------- builders


def sdk_entry(quality: str, *, resolution: str = "1280x720", codec: str = "h264") -> dict[str, Any]:
    params = {"VCodec": codec, "vbitrate": 2_000_000, "resolution": resolution, "fps": 30}
    return {
        "main": {
            "flv": f"http://pull.example/stream_{quality}.flv?expire=69edc03f",
            "hls": f"http://pull.example/stream_{quality}.m3u8?expire=69edc03f",
            "sdk_params": json.dumps(params),
        }
    }


def stream_url_block(
    sdk_qualities: tuple[str, ...] = QUALITIES,
    legacy: tuple[str, ...] = tuple(LEGACY_QUALITIES),
    suffix: str = "",
) -> dict[str, Any]:
    stream_data = {"common": {}, "data": {q: sdk_entry(q) for q in sdk_qualities}}
    return {
        "flv_pull_url": {k: f"http://pull.example/legacy_{k}.flv{suffix}" for k in legacy},
        "hls_pull_url_map": {k: f"http://pull.example/legacy_{k}.m3u8{suffix}" for k in legacy},
        "live_core_sdk_data": {"pull_data": {"stream_data": json.dumps(stream_data)}},
    }


def enter_body(
    *,
    status: Any = 2,
    room_status: Any = 0,
    with_user: bool = True,
    nickname: str = "主播",
    rooms: Any = None,
    prompts: str | None = None,
    stream_url: Any = None,
) -> dict[str, Any]:
    room: dict[str, Any] = {
        "id_str": "7630361251285076745",
        "status": status,
        "title": "标题",
        "user_count_str": "91",
        "owner": {"id_str": "3789", "sec_uid": SEC_UID, "nickname": nickname},
        "stream_url": stream_url if stream_url is not None else stream_url_block(),
    }
    data: dict[str, Any] = {
        "data": [room] if rooms is None else rooms,
        "enter_room_id": "7630361251285076745",
        "room_status": room_status,
    }
    if with_user:
        data["user"] = {"id_str": "3789", "sec_uid": SEC_UID, "nickname": nickname}
    if prompts is not None:
        data["prompts"] = prompts
    return {"status_code": 0, "data": data, "extra": {"now": 1776584127911}}


def reflow_body(
    *,
    status: Any = 2,
    finish_time: int = 0,
    suffix: str = "",
    nickname: str = "主播",
    room: bool = True,
    user: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if room:
        data["room"] = {
            "id": 7630361251285076745,
            "status": status,
            "title": "reflow 标题",
            "user_count": 1200,
            "finish_time": finish_time,
            "owner": {"id": 3789, "nickname": nickname, "web_rid": "261378947940"},
            "stream_url": stream_url_block(sdk_qualities=(), suffix=suffix),
        }
    if user:
        data["user"] = {"id_str": "3789", "sec_uid": SEC_UID, "nickname": "用户"}
    return {"status_code": 0, "data": data, "extra": {"now": 1}}


# ---------------------------------------------------------------- the real capture


def test_real_capture_is_parsed_as_live(enter_live_json_path: Path) -> None:
    status = parse_enter(enter_live_json_path.read_bytes(), web_rid="261378947940")
    assert status.live is True
    assert status.room_id == "7630361251285076745"
    assert status.handle == "261378947940"
    assert status.title == "内格夫强势打法，把把虐"
    assert status.nickname == "内格夫教主Duck"
    sec_uid = sec_uid_of(status)
    assert sec_uid is not None
    assert sec_uid.startswith("MS4wLjAB")
    assert status.user_id == "3789344204128560"
    assert status.viewers == 91
    assert status.viewers_text == "91在线观众"
    assert status.server_time_ms == 1776584127911
    assert set(status.streams) == set(QUALITIES)  # "ao" is audio only, never a video variant
    uhd = status.streams["uhd"]
    assert uhd.flv_url is not None
    assert "_uhd.flv" in uhd.flv_url
    assert uhd.hls_url is not None
    assert "_uhd.m3u8" in uhd.hls_url
    assert (uhd.codec, uhd.width, uhd.height, uhd.bitrate) == ("h264", 1920, 1080, 8_000_000)
    origin = status.streams["origin"]
    assert origin.flv_url is not None
    assert "_or4.flv" in origin.flv_url
    assert (origin.width, origin.height) == (None, None)  # the capture leaves its size empty
    assert status.streams["md"].height == 360


def test_real_capture_selects_and_falls_back(enter_live_json_path: Path) -> None:
    status = parse_enter(json.loads(enter_live_json_path.read_text("utf-8")))
    assert select_stream(status, "origin") == StreamChoice(status.streams["origin"], False)
    # legacy names map through LEGACY_QUALITIES: SD2 is sd (720p), SD1 is ld (540p)
    assert select_stream(status, "SD2").variant.height == 720
    assert select_stream(status, "SD1").variant.height == 540


def test_real_capture_legacy_maps_agree_with_sdk_keys(enter_live_json_path: Path) -> None:
    room = json.loads(enter_live_json_path.read_text("utf-8"))["data"]["data"][0]
    legacy_only = parse_streams({"flv_pull_url": room["stream_url"]["flv_pull_url"]})
    assert set(legacy_only) == set(LEGACY_QUALITIES)
    for legacy, quality in LEGACY_QUALITIES.items():
        url = legacy_only[legacy].flv_url
        assert url is not None
        assert url.split("?")[0].endswith(f"_{quality}.flv")


# ---------------------------------------------------------------- envelope and errors


@pytest.mark.parametrize("body", [b"", "", b"  \n", "\t"])
def test_empty_body_is_risk_control(body: bytes | str) -> None:
    with pytest.raises(RiskControl) as info:
        parse_enter(body)
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"<html>captcha</html>", "not JSON"),
        (b"<html>\xff\xfe captcha</html>", "not JSON"),  # invalid UTF-8 and not JSON
        ("[1, 2]", "JSON list"),
        ('{"status_code": 0}', "no 'data'"),
        ('{"status_code": 0, "data": []}', "no 'data'"),
    ],
)
def test_malformed_bodies_are_upstream_errors(body: str | bytes, needle: str) -> None:
    with pytest.raises(UpstreamError, match=needle):
        decode_body(body)


def test_invalid_utf8_inside_a_string_is_replaced_not_fatal() -> None:
    body = b'{"status_code": 0, "data": {"prompts": "\xff\xfe"}}'
    document = decode_body(body)
    assert document["data"] == {"prompts": "\ufffd\ufffd"}


def test_valid_envelope_is_returned_whole() -> None:
    body = enter_body()
    assert decode_body(json.dumps(body).encode()) == body
    assert decode_body(body) is body


@pytest.mark.parametrize(
    ("document", "error", "needle"),
    [
        (
            {"status_code": 4001038, "data": {"prompts": "该内容暂时无法无法查看"}},
            RoomNotFound,
            "4001038",
        ),
        (
            {
                "status_code": 10011,
                "data": {"message": "Request params error", "prompts": "Request params error\t"},
            },
            UpstreamError,
            "Request params error",
        ),
        (
            {"status_code": 10011, "data": {"message": "Request params error"}},
            UpstreamError,
            "10011",
        ),
        (
            {"status_code": 30003, "status_message": "room not exist"},
            RoomNotFound,
            "room not exist",
        ),
        ({"status_code": 5, "data": {"prompts": "直播间不存在"}}, RoomNotFound, "不存在"),
        ({"status_code": 7}, UpstreamError, "no message"),
        ({"status_code": "weird", "data": {}}, UpstreamError, "weird"),
        ({"status_code": True, "data": {}}, UpstreamError, "True"),
    ],
)
def test_status_codes_are_classified(
    document: Mapping[str, Any], error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match=needle) as info:
        decode_body(document)
    if error is UpstreamError:
        assert not isinstance(info.value, RoomNotFound)


def test_status_code_as_decimal_string_zero_is_ok() -> None:
    body = enter_body()
    body["status_code"] = "0"
    assert parse_enter(body).live is True


# ---------------------------------------------------------------- web/enter shapes


def test_hand_built_live_body() -> None:
    status = parse_enter(enter_body(), web_rid="1234")
    assert status == LiveStatus(
        live=True,
        room_id="7630361251285076745",
        handle="1234",
        title="标题",
        nickname="主播",
        extra={"sec_uid": SEC_UID},
        user_id="3789",
        viewers=91,
        viewers_text="91",
        streams=status.streams,
        server_time_ms=1776584127911,
    )
    assert set(status.streams) == set(QUALITIES)


def test_ended_room_is_offline_without_streams() -> None:
    status = parse_enter(enter_body(status=4, room_status=2), web_rid="1234")
    assert status.live is False
    assert status.streams == {}
    assert status.room_id == "7630361251285076745"
    assert status.nickname == "主播"


@pytest.mark.parametrize(
    ("status", "room_status", "live"),
    [(2, 0, True), ("2", "0", True), (2, None, True), (2, 2, False), (4, 0, False), (3, 0, False)],
)
def test_live_needs_status_2_and_room_status_0(status: Any, room_status: Any, live: bool) -> None:
    body = enter_body(status=status, room_status=room_status)
    if room_status is None:
        del body["data"]["room_status"]
    assert parse_enter(body).live is live


def test_prompts_with_a_room_mean_offline() -> None:
    assert parse_enter(enter_body(prompts="直播已结束")).live is False


def test_prompts_without_user_or_rooms_mean_offline() -> None:
    body = enter_body(rooms=[], with_user=False, prompts="直播已结束")
    status = parse_enter(body, web_rid="42")
    assert status == LiveStatus(live=False, handle="42", server_time_ms=1776584127911)


def test_prompts_with_user_keep_the_identity() -> None:
    body = enter_body(prompts="直播已结束")
    del body["data"]["data"]
    status = parse_enter(body, web_rid="42")
    assert (status.live, status.nickname, sec_uid_of(status), status.user_id) == (
        False,
        "主播",
        SEC_UID,
        "3789",
    )


def test_empty_room_list_asks_for_the_reflow_fallback() -> None:
    with pytest.raises(RoomListEmpty) as info:
        parse_enter(enter_body(rooms=[]), web_rid="42")
    assert info.value.sec_uid == SEC_UID
    assert info.value.identity == LiveStatus(
        live=False,
        handle="42",
        nickname="主播",
        extra={"sec_uid": SEC_UID},
        user_id="3789",
        server_time_ms=1776584127911,
    )
    assert isinstance(info.value, RoomNotFound)
    with pytest.raises(RoomListEmpty) as bare:
        parse_enter(enter_body(rooms=[], with_user=False))
    assert (bare.value.sec_uid, bare.value.identity) == (None, None)


def test_deleted_account_is_room_not_found() -> None:
    with pytest.raises(RoomNotFound, match="deleted"):
        parse_enter(enter_body(status=4, nickname=ACCOUNT_DELETED_NICKNAME))


@pytest.mark.parametrize(
    ("rooms", "needle"),
    [({"0": {}}, "not a list"), (["room"], "not an object"), ([{"id_str": "1"}], "no status")],
)
def test_unexpected_room_shapes_are_upstream_errors(rooms: Any, needle: str) -> None:
    with pytest.raises(UpstreamError, match=needle):
        parse_enter(enter_body(rooms=rooms))


def test_identity_falls_back_to_owner_and_enter_room_id() -> None:
    body = enter_body(with_user=False)
    room = body["data"]["data"][0]
    del room["id_str"]
    room["owner"]["web_rid"] = "999"
    status = parse_enter(body)
    assert status.room_id == "7630361251285076745"  # data.enter_room_id
    assert (status.handle, status.nickname, sec_uid_of(status)) == ("999", "主播", SEC_UID)
    assert status.user_id == "3789"
    del room["owner"]
    room["owner_user_id_str"] = "555"
    status = parse_enter(body)
    assert (status.user_id, status.nickname, sec_uid_of(status), status.handle) == (
        "555",
        "",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "viewers", "text"),
    [
        (
            {"room_view_stats": {"display_value": 91, "display_long": "91在线观众"}},
            91,
            "91在线观众",
        ),
        ({"user_count_str": "1.2万"}, 12_000, "1.2万"),
        ({"user_count_str": "3亿"}, 300_000_000, "3亿"),
        ({"user_count_str": "1234"}, 1234, "1234"),
        ({"user_count_str": "很多"}, None, "很多"),
        ({"stats": {"user_count_str": "77"}}, 77, "77"),
        ({"user_count": 1200}, 1200, ""),
        ({}, None, ""),
        ({"user_count_str": True}, None, ""),
    ],
)
def test_viewer_counts(fields: dict[str, Any], viewers: int | None, text: str) -> None:
    body = enter_body()
    room = body["data"]["data"][0]
    del room["user_count_str"]
    room.update(fields)
    status = parse_enter(body)
    assert (status.viewers, status.viewers_text) == (viewers, text)


# ---------------------------------------------------------------- streams


def test_sdk_keys_win_and_legacy_fills_missing_urls_and_qualities() -> None:
    block = stream_url_block(sdk_qualities=("origin", "hd"))
    data = json.loads(block["live_core_sdk_data"]["pull_data"]["stream_data"])
    del data["data"]["hd"]["main"]["hls"]
    data["data"]["ao"] = sdk_entry("ao")
    data["data"]["weird"] = sdk_entry("weird")
    block["live_core_sdk_data"]["pull_data"]["stream_data"] = json.dumps(data)
    streams = parse_streams(block)
    assert set(streams) == {"origin", "uhd", "hd", "sd", "ld"}  # no md: legacy has none
    assert streams["hd"].flv_url == "http://pull.example/stream_hd.flv?expire=69edc03f"
    assert streams["hd"].hls_url == "http://pull.example/legacy_HD1.m3u8"  # gap filled
    assert (streams["hd"].codec, streams["hd"].width, streams["hd"].height) == ("h264", 1280, 720)
    assert streams["hd"].bitrate == 2_000_000
    assert streams["uhd"] == StreamVariant(
        quality="uhd",
        flv_url="http://pull.example/legacy_FULL_HD1.flv",
        hls_url="http://pull.example/legacy_FULL_HD1.m3u8",
    )


def test_streams_keep_legacy_names_when_alone() -> None:
    streams = parse_streams(stream_url_block(sdk_qualities=(), legacy=("HD1", "SD1")))
    assert set(streams) == {"HD1", "SD1"}
    assert streams["HD1"].quality == "HD1"


@pytest.mark.parametrize(
    "block",
    [
        None,
        "not an object",
        {},
        {"live_core_sdk_data": {"pull_data": {"stream_data": "{not json"}}},
        {"live_core_sdk_data": {"pull_data": {"stream_data": {"data": {"hd": {"main": {}}}}}}},
        {"flv_pull_url": {"HD1": ""}, "hls_pull_url_map": {"HD1": None}},
    ],
)
def test_unusable_stream_blocks_give_no_variants(block: object) -> None:
    assert parse_streams(block) == {}


def test_inline_sdk_params_and_odd_resolution() -> None:
    entry = {"main": {"hls": "http://h.m3u8", "sdk_params": {"VCodec": "h265", "resolution": ""}}}
    block = {"live_core_sdk_data": {"pull_data": {"stream_data": {"data": {"sd": entry}}}}}
    variant = parse_streams(block)["sd"]
    assert variant == StreamVariant(quality="sd", hls_url="http://h.m3u8", codec="h265")


# ---------------------------------------------------------------- select_stream


def _status_with(*qualities: str) -> LiveStatus:
    streams = {q: StreamVariant(quality=q, flv_url=f"http://x/{q}.flv") for q in qualities}
    return LiveStatus(live=True, streams=streams)


@pytest.mark.parametrize(
    ("available", "wanted", "picked", "fell_back"),
    [
        (QUALITIES, "origin", "origin", False),
        (QUALITIES, "sd", "sd", False),
        (("hd", "ld"), "sd", "hd", True),  # equally near: the better one
        (("ld", "md"), "origin", "ld", True),
        (("origin",), "md", "origin", True),
        (("uhd", "md"), "hd", "uhd", True),
        (("FULL_HD1", "SD1"), "uhd", "FULL_HD1", False),
        (("FULL_HD1", "SD1"), "origin", "FULL_HD1", True),
        (("uhd", "sd"), "FULL_HD1", "uhd", False),
        (("uhd", "sd"), "SD2", "sd", False),
        (("uhd", "sd"), "SD1", "sd", True),
    ],
)
def test_select_stream_nearest_fallback(
    available: tuple[str, ...], wanted: str, picked: str, fell_back: bool
) -> None:
    variant, did_fall_back = select_stream(_status_with(*available), wanted)
    assert (variant.quality, did_fall_back) == (picked, fell_back)


def test_select_stream_ignores_unknown_qualities_and_rejects_unknown_wishes() -> None:
    status = _status_with("ao", "ld")
    assert select_stream(status, "origin").variant.quality == "ld"
    with pytest.raises(ValueError, match="ultra"):
        select_stream(status, "ultra")
    with pytest.raises(UpstreamError, match="no stream"):
        select_stream(_status_with("ao"), "origin")
    with pytest.raises(UpstreamError):
        select_stream(LiveStatus(live=True), "hd")


# ---------------------------------------------------------------- reflow


def test_reflow_live() -> None:
    status = parse_reflow(reflow_body(), sec_uid=SEC_UID)
    assert status.live is True
    assert (status.room_id, status.handle, status.user_id) == (
        "7630361251285076745",
        "261378947940",
        "3789",
    )
    assert (status.title, status.nickname, sec_uid_of(status)) == ("reflow 标题", "主播", SEC_UID)
    assert (status.viewers, status.server_time_ms) == (1200, 1)
    assert set(status.streams) == set(LEGACY_QUALITIES)


@pytest.mark.parametrize(
    "body",
    [
        reflow_body(finish_time=1776584000),
        reflow_body(suffix="?rtm_expr_tag=reflow_room_info"),
        reflow_body(status=4),
    ],
)
def test_reflow_post_end_quirk_and_ended_room_are_offline(body: dict[str, Any]) -> None:
    status = parse_reflow(body, sec_uid=SEC_UID)
    assert status.live is False
    assert status.streams == {}


def test_reflow_without_room_but_with_user_is_offline() -> None:
    status = parse_reflow(reflow_body(room=False, user=True))
    assert (status.live, status.nickname, sec_uid_of(status), status.user_id) == (
        False,
        "用户",
        SEC_UID,
        "3789",
    )


def test_reflow_errors() -> None:
    with pytest.raises(RoomNotFound, match="neither"):
        parse_reflow(reflow_body(room=False), sec_uid=SEC_UID)
    with pytest.raises(RoomNotFound, match="deleted"):
        parse_reflow(reflow_body(nickname=ACCOUNT_DELETED_NICKNAME))
    with pytest.raises(UpstreamError, match="no status"):
        parse_reflow(reflow_body(status=None))
    with pytest.raises(UpstreamError, match="Request params error"):
        parse_reflow(
            {
                "data": {"message": "Request params error", "prompts": "Request params error\t"},
                "status_code": 10011,
            }
        )
    with pytest.raises(RiskControl):
        parse_reflow(b"")


def test_reflow_identity_fallbacks() -> None:
    body = reflow_body(user=True)
    room = body["data"]["room"]
    room["id_str"] = "111"
    room["owner"] = {"id_str": "222", "sec_uid": "MS4wLjABother"}
    status = parse_reflow(copy.deepcopy(body), sec_uid=SEC_UID)
    assert (status.room_id, status.user_id, sec_uid_of(status), status.nickname) == (
        "111",
        "222",
        "MS4wLjABother",
        "用户",
    )


# ---------------------------------------------------------------- the login cookie


def test_the_real_anonymous_capture_is_a_refused_login_cookie_only_when_one_was_sent(
    enter_live_json_path: Path,
) -> None:
    body = json.loads(enter_live_json_path.read_text(encoding="utf-8"))
    assert body["data"]["login_lead"]["is_login"] is False  # the capture was made signed out
    anonymous = parse_enter(body, web_rid="1")
    assert (anonymous.cookie_accepted, anonymous.cookie_problem) == (None, "")
    refused = parse_enter(body, web_rid="1", login_cookie=True)
    assert refused.cookie_accepted is False
    assert "login_lead.is_login" in refused.cookie_problem
    assert refused.live is True  # the status itself is still good: recording goes on
    # The bytes as they come (typed decoding of the fields used) say the same.
    raw = enter_live_json_path.read_bytes()
    assert parse_enter(raw, web_rid="1", login_cookie=True) == refused
    body["data"]["login_lead"]["is_login"] = True
    assert parse_enter(body, web_rid="1", login_cookie=True).cookie_accepted is True
    del body["data"]["login_lead"]
    assert parse_enter(body, web_rid="1", login_cookie=True).cookie_accepted is None


def test_an_error_asking_for_a_sign_in_is_a_rejected_cookie_only_with_a_login_cookie() -> None:
    document = {"status_code": 8, "status_message": "用户未登录"}
    with pytest.raises(CookieRejected, match="用户未登录"):
        decode_body(document, login_cookie=True)
    with pytest.raises(UpstreamError) as info:
        decode_body(document)
    assert not isinstance(info.value, CookieRejected)


@pytest.mark.parametrize(
    ("header", "login"),
    [
        ("sessionid=abc; ttwid=1", True),
        ("ttwid=1%7Cx; sid_tt=9", True),
        ("ttwid=1%7Cx; odin_tt=2", False),
        ("sessionidx=1", False),
        ("", False),
    ],
)
def test_which_cookie_headers_carry_a_login(header: str, login: bool) -> None:
    assert carries_login(header) is login


# ---------------------------------------------------------------- typed decoding of bytes


def test_bytes_and_decoded_bodies_parse_alike(enter_live_json_path: Path) -> None:
    raw = enter_live_json_path.read_bytes()
    assert parse_enter(raw, web_rid="1") == parse_enter(json.loads(raw), web_rid="1")
    for body in (enter_body(), enter_body(status="2", room_status="0"), enter_body(status=4)):
        assert parse_enter(json.dumps(body).encode()) == parse_enter(body)
    assert parse_reflow(json.dumps(reflow_body()).encode()) == parse_reflow(reflow_body())


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"data": {"0": {}}}, "$.data.data"),
        ({"data": ["room"]}, "$.data.data[0]"),
        ({"data": [{"status": 2, "owner": "me"}]}, "$.data.data[0].owner"),
        ({"data": [{"status": 2, "stream_url": []}]}, "$.data.data[0].stream_url"),
        ({"user": 5}, "$.data.user"),
    ],
)
def test_bytes_that_do_not_fit_the_shape_are_refused_with_the_path(
    data: dict[str, Any], path: str
) -> None:
    body = json.dumps({"status_code": 0, "data": data}).encode()
    with pytest.raises(UpstreamError, match="does not fit the expected shape") as info:
        parse_enter(body)
    assert f"at `{path}`" in str(info.value)


def test_an_error_status_code_wins_over_the_shape() -> None:
    body = json.dumps({"status_code": 4001038, "data": {"data": "x", "prompts": "不存在"}})
    with pytest.raises(RoomNotFound, match="4001038"):
        parse_enter(body.encode())
    with pytest.raises(UpstreamError, match="no 'data'"):
        parse_enter(b'{"status_code": 0, "data": []}')
    with pytest.raises(UpstreamError, match="not JSON"):
        parse_enter(b"<html>\xff captcha</html>")
    assert parse_enter(b'{"status_code": 0, "data": {"prompts": "\xff"}}').live is False
