"""platforms/douyin.py, the parts without network: share redirects, request URLs, cookies.

(Target strings are classified by dylived.config.schema.parse_target, tested with the config.)"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest

from dylived.errors import RoomNotFound
from dylived.net.http import HttpClient
from dylived.platforms.base import Target
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.platforms.douyin.targets import ShareLocation, TargetKind, parse_share_location


SEC_UID = "MS4wLjABAAAAOMC6z5OYdk5GziCLRHbsYCyNKkCZ9ajxuk1QT3bFUV87v48FP5VWQNP8N6gPK5kN"
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)


@dataclass(frozen=True)
class Settings:
    web_base: str = "https://live.douyin.com/"
    app_base: str = "https://webcast.amemv.com"
    share_base: str = "https://v.douyin.com"
    user_agent: str = UA
    cookies: object = ""


class FakeSecret:
    """Shaped like dylived.config.load.Secret: masked str(), reveal() for the clear text."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "********"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            f"https://webcast.amemv.com/douyin/webcast/reflow/7630361251285076745?u_code=x&sec_user_id={SEC_UID}&did=1",
            ShareLocation(sec_uid=SEC_UID, room_id="7630361251285076745"),
        ),
        (
            f"https://www.iesdouyin.com/share/user/{SEC_UID}?sec_uid={SEC_UID}&did=1",
            ShareLocation(sec_uid=SEC_UID),
        ),
        ("https://live.douyin.com/261378947940?from=share", ShareLocation(web_rid="261378947940")),
        (f"http://127.0.0.1:8000/share/user/{SEC_UID}", ShareLocation(sec_uid=SEC_UID)),
        ("https://webcast.amemv.com/douyin/webcast/reflow/", None),
        ("https://www.douyin.com/", None),
        ("https://live.douyin.com/", None),
    ],
)
def test_parse_share_location(location: str, expected: ShareLocation | None) -> None:
    if expected is None:
        with pytest.raises(RoomNotFound, match="names no room"):
            parse_share_location(location)
    else:
        assert parse_share_location(location) == expected


@pytest.mark.anyio
async def test_request_urls() -> None:
    async with HttpClient(user_agent=UA) as http:
        platform = DouyinPlatform(http, Settings(), rng=random.Random(1))
        enter = urlsplit(platform.enter_url("261378947940"))
        reflow = urlsplit(platform.reflow_url(SEC_UID))
        reflow_room = dict(parse_qsl(urlsplit(platform.reflow_url(SEC_UID, "55")).query))
        assert platform.share_url("iRNBho6u") == "https://v.douyin.com/iRNBho6u/"
        assert platform.share_url("https://v.douyin.com/iRNBho6u/?x=1") == (
            "https://v.douyin.com/iRNBho6u/?x=1"
        )
        assert platform.share_url("https://v.douyin.com") == "https://v.douyin.com/"
        assert platform.cookie_header() == ""
    assert (enter.scheme, enter.netloc, enter.path) == (
        "https",
        "live.douyin.com",
        "/webcast/room/web/enter/",
    )
    params = parse_qsl(enter.query, keep_blank_values=True)
    names = [name for name, _ in params]
    assert names[:3] == ["aid", "app_name", "live_id"]  # the browser's order
    assert names[-2:] == ["msToken", "a_bogus"]
    values = dict(params)
    assert values["web_rid"] == "261378947940"
    assert values["browser_version"] == "142.0.0.0"
    assert values["room_id_str"] == ""
    assert len(values["msToken"]) == 184
    assert values["a_bogus"]
    assert reflow.netloc == "webcast.amemv.com"
    assert reflow.path == "/webcast/room/reflow/info/"
    reflow_params = dict(parse_qsl(reflow.query))
    assert (reflow_params["sec_user_id"], reflow_params["room_id"]) == (SEC_UID, "2")
    assert reflow_room["room_id"] == "55"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cookies", "header"),
    [
        ("ttwid=abc; odin_tt=x", "ttwid=abc; odin_tt=x"),
        (FakeSecret(" ttwid=s "), "ttwid=s"),
        (None, ""),
    ],
)
async def test_configured_cookies_are_used_as_is(cookies: object, header: str) -> None:
    async with HttpClient(user_agent="UA") as http:
        platform = DouyinPlatform(http, Settings(cookies=cookies, user_agent="NoChrome"))
        assert platform.cookie_header() == header
        assert "browser_version=120.0.0.0" in platform.enter_url("1")


@pytest.mark.anyio
async def test_unreadable_cookie_secret_is_a_type_error() -> None:
    async with HttpClient(user_agent="UA") as http:
        with pytest.raises(TypeError, match="cookies"):
            DouyinPlatform(http, Settings(cookies=42))


@pytest.mark.anyio
async def test_numeric_user_id_cannot_be_resolved() -> None:
    async with HttpClient(user_agent="UA") as http:
        platform = DouyinPlatform(http, Settings())
        with pytest.raises(RoomNotFound, match="sec_uid"):
            await platform.resolve("uid:3789344204128560")
        with pytest.raises(ValueError, match="not a Douyin target"):
            await platform.resolve("what is this?")
        resolved = await platform.resolve(Target("web_rid", "12345"))
    assert (resolved.kind, resolved.web_rid, resolved.target) == (
        TargetKind.WEB_RID,
        "12345",
        "12345",
    )
