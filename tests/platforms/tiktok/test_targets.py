"""TikTok's target forms: which strings are TikTok's, how they parse, which are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from dylived.platforms.base import Target
from dylived.platforms.tiktok.targets import (
    ResolvedTarget,
    TargetKind,
    claims,
    parse_target,
    resolve_target,
    target_problem,
)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("@some.user", "handle", "some.user"),
        ("https://www.tiktok.com/@some.user", "handle", "some.user"),
        ("https://www.tiktok.com/@some_user/live", "handle", "some_user"),
        ("tiktok.com/@some_user/live?lang=en", "handle", "some_user"),
        ("watch this https://www.tiktok.com/@x/live now", "handle", "x"),
        ("https://m.tiktok.com/@x", "handle", "x"),
        ("7300000000000000001", "room_id", "7300000000000000001"),
        ("@12345678", "handle", "12345678"),
        ("bare_name", "handle", "bare_name"),
        ("https://vm.tiktok.com/ZMabc123/", "short_link", "ZMabc123"),
    ],
)
def test_each_form_parses_to_its_kind(text: str, kind: str, value: str) -> None:
    assert parse_target(text) == Target(kind, value)


@pytest.mark.parametrize(
    "text",
    [
        "https://www.tiktok.com/",
        "https://www.tiktok.com/@x/video/123",
        "https://example.com/@x",
        "@not a handle",
        "two words",
        "ftp://www.tiktok.com/@x",
    ],
)
def test_other_strings_are_refused_with_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"TikTok|handle"):
        parse_target(text)


@pytest.mark.parametrize(
    ("text", "claimed"),
    [
        ("@some.user", True),
        ("https://www.tiktok.com/@u/live", True),
        ("https://vm.tiktok.com/ZMabc123/", True),
        ("7300000000000000001", False),  # a bare number could be a Douyin web_rid
        ("bare_name", False),
        ("https://live.douyin.com/123", False),
        ("https://nottiktok.com/@u", False),
    ],
)
def test_claims_only_the_forms_that_are_tiktoks_alone(text: str, claimed: bool) -> None:
    assert claims(text) is claimed


def test_a_short_link_is_refused_and_the_others_resolve_without_a_request() -> None:
    short = parse_target("https://vm.tiktok.com/ZMabc123/")
    assert "short link (ZMabc123)" in (target_problem(short) or "")
    with pytest.raises(ValueError, match="short link"):
        resolve_target("x", short)
    assert target_problem(parse_target("@u")) is None
    assert resolve_target("@u", parse_target("@u")) == ResolvedTarget(
        "@u", TargetKind.HANDLE, unique_id="u"
    )
    assert resolve_target("7300000000000000001", parse_target("7300000000000000001")) == (
        ResolvedTarget("7300000000000000001", TargetKind.ROOM_ID, room_id="7300000000000000001")
    )


@given(st.from_regex(r"[0-9A-Za-z_.]{1,24}", fullmatch=True))
def test_every_handle_round_trips_through_each_address_form(handle: str) -> None:
    for text in (f"@{handle}", f"https://www.tiktok.com/@{handle}", f"tiktok.com/@{handle}/live"):
        assert claims(text)
        assert parse_target(text) == Target("handle", handle)
