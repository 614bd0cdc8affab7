"""net/http.py: Retry-After parsing; HttpClient's error mapping against a real loopback server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from dylived.errors import RiskControl, RoomNotFound, TransportError, UpstreamError
from dylived.net.http import BlockedResponse, HttpClient, parse_retry_after, redact_url


NOW = datetime(2026, 4, 19, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("Sun, 19 Apr 2026 12:00:30 -0000", 30.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_redact_url_drops_query_and_credentials() -> None:
    url = "https://user:pw@live.douyin.com/webcast/room/web/enter/?web_rid=1&msToken=abc#x"
    assert redact_url(url) == "https://live.douyin.com/webcast/room/web/enter/"


@pytest.mark.anyio
async def test_ok_response_and_headers(http_server: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        response = await http.fetch(f"{http_server}/json")
    assert response.status_code == 200
    assert response.body == b'{"ok": true}'
    assert response.header("content-type") == response.header("Content-Type") == "application/json"


@pytest.mark.anyio
@pytest.mark.parametrize("code", [403, 412, 429])
async def test_risk_control_statuses(http_server: str, code: int) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(BlockedResponse) as info:
            await http.fetch(f"{http_server}/status/{code}?retry_after=17")
    assert isinstance(info.value, RiskControl)
    assert info.value.status_code == code
    assert info.value.retry_after == 17.0
    assert f"HTTP {code}" in str(info.value)
    assert "retry_after" not in str(info.value)  # no query strings in messages


@pytest.mark.anyio
async def test_retry_after_http_date_is_measured_from_now(http_server: str) -> None:
    when = format_datetime(NOW + timedelta(seconds=45), usegmt=True).replace(" ", "%20")
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(RiskControl) as info:
            await http.fetch(f"{http_server}/status/429?retry_after={when}", now=NOW)
    assert info.value.retry_after == 45.0


@pytest.mark.anyio
async def test_429_without_retry_after(http_server: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(RiskControl) as info:
            await http.fetch(f"{http_server}/status/429")
    assert info.value.retry_after is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "error"),
    [
        (500, UpstreamError),
        (503, UpstreamError),
        (400, UpstreamError),
        (404, RoomNotFound),
        (410, RoomNotFound),
    ],
)
async def test_error_statuses(http_server: str, code: int, error: type[Exception]) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(error, match=f"HTTP {code}"):
            await http.fetch(f"{http_server}/status/{code}")


@pytest.mark.anyio
async def test_empty_200_body_is_risk_control_only_when_a_body_is_required(
    http_server: str,
) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        with pytest.raises(BlockedResponse) as info:
            await http.fetch(f"{http_server}/empty")
        assert info.value.status_code == 200
        response = await http.fetch(f"{http_server}/empty", require_body=False)
    assert response.body == b""


@pytest.mark.anyio
async def test_redirects_are_returned_unless_followed(http_server: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        response = await http.fetch(f"{http_server}/redirect", require_body=False)
        assert (response.status_code, response.header("location")) == (302, "/json")
        followed = await http.fetch(f"{http_server}/redirect", follow_redirects=True)
    assert followed.body == b'{"ok": true}'
    assert followed.url.endswith("/json")


@pytest.mark.anyio
async def test_body_cap(http_server: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5, max_body=1024) as http:
        with pytest.raises(UpstreamError, match="larger than 1024"):
            await http.fetch(f"{http_server}/big")


@pytest.mark.anyio
async def test_timeout_is_a_transport_error(http_server: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=0.2) as http:
        with pytest.raises(TransportError, match=r"timed out|in time"):
            await http.fetch(f"{http_server}/slow?s=1.5")


@pytest.mark.anyio
async def test_connection_refused_is_a_transport_error() -> None:
    async with HttpClient(user_agent="UA/1", timeout=2) as http:
        with pytest.raises(TransportError, match="ConnectError"):
            await http.fetch("http://127.0.0.1:9/nothing")


@pytest.mark.anyio
async def test_invalid_url_is_a_transport_error() -> None:
    async with HttpClient(user_agent="UA/1", timeout=2) as http:
        with pytest.raises(TransportError):
            await http.fetch("ftp://127.0.0.1/x")


@pytest.mark.anyio
async def test_cookie_jar(http_server: str) -> None:
    async with HttpClient(user_agent="UA/1", timeout=5) as http:
        assert http.cookie("ttwid") is None
        await http.fetch(f"{http_server}/cookie")
        assert http.cookie("ttwid") == "1%7Cabc"
        echoed = await http.fetch(f"{http_server}/echo-cookie")
        assert echoed.body == b"ttwid=1%7Cabc"
        explicit = await http.fetch(f"{http_server}/echo-cookie", headers={"Cookie": "a=b"})
        assert explicit.body == b"a=b"  # an explicit header wins over the jar
        http.drop_cookie("ttwid")
        assert http.cookie("ttwid") is None
        http.set_cookie("other", "v")
        assert http.cookie("other") == "v"
