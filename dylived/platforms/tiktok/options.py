"""The ``[tiktok]`` config section as the platform defines it: its keys, converters and defaults.

``TikTokConfig`` is the section (every field a key, each default the platform's); ``OPTIONS``
the converter of each key. ``web_base`` serves ``api-live/user/room`` and the live page
(``/@<user>/live``), ``webcast_base`` the webcast API (``room/info``) (tiktok.md §1.1);
``proxy`` is the default proxy of every TikTok broadcaster. ``sessionid`` and ``tt_target_idc``
are the optional logged-in cookies (restricted rooms, hidden comments): secrets, masked when
printed, sent with status requests only. ``sign_server`` is the base URL of an
Euler-Stream-compatible signing server ("" = no events: the broadcaster is still recorded),
``sign_api_key`` its key (a secret) and ``sign_budget_per_day`` the signing calls a day the
daemon allows itself (every push connection costs one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dylived.config.values import (
    Converter,
    Secret,
    cookie_header,
    got,
    nonempty_text,
    text,
    url,
)
from dylived.net.proxy import ProxyUrl, parse_proxy


WEB_BASE = "https://www.tiktok.com"
WEBCAST_BASE = "https://webcast.tiktok.com"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
SIGN_BUDGET_PER_DAY = 1000


@dataclass(frozen=True, slots=True)
class TikTokConfig:
    """The ``[tiktok]`` section, every default filled in."""

    web_base: str = WEB_BASE
    webcast_base: str = WEBCAST_BASE
    user_agent: str = USER_AGENT
    sessionid: Secret = field(default_factory=Secret)
    tt_target_idc: Secret = field(default_factory=Secret)
    sign_server: str = ""  # "" = events off (no signing server)
    sign_api_key: Secret = field(default_factory=Secret)
    sign_budget_per_day: int = SIGN_BUDGET_PER_DAY
    proxy: ProxyUrl | None = None  # the default of every broadcaster; None = direct


def cookie_value(value: Any) -> Secret:
    """One cookie's value (``sessionid``, ``tt-target-idc``): printable ASCII without ``;``,
    ``,`` or spaces, kept as a Secret. No message quotes it."""
    checked = cookie_header(value)
    bad = next((i for i, ch in enumerate(checked) if ch in '; ,"\\'), None)
    if bad is not None:
        raise ValueError(
            f"character {bad + 1} cannot be in a cookie value (the value is not shown); give "
            "the value alone, not 'name=value; …'"
        )
    return Secret(checked)


def secret_text(value: Any) -> Secret:
    """A secret string (an API key), masked when printed."""
    return Secret(cookie_header(value))


def optional_url(value: Any) -> str:
    """An http(s) base URL, or "" for none."""
    if text(value) == "":
        return ""
    converted: str = url("http", "https")(value)
    return converted


def budget(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise ValueError(f"expected an integer from 0 to 1000000, got {got(value)}")
    return value


OPTIONS: dict[str, Converter] = {
    "web_base": url("http", "https"),
    "webcast_base": url("http", "https"),
    "user_agent": nonempty_text,
    "sessionid": cookie_value,
    "tt_target_idc": cookie_value,
    "sign_server": optional_url,
    "sign_api_key": secret_text,
    "sign_budget_per_day": budget,
    "proxy": parse_proxy,
}
