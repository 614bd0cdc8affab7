"""The ``[douyin]`` config section as the platform defines it: its keys, converters and defaults.

``DouyinConfig`` is the section (every field a key, each default the platform's); ``OPTIONS``
the converter of each key (``dylived.config`` reads and validates the section with them and
reports each problem with its dotted path). ``web_base`` serves web/enter and the ttwid,
``app_base`` the reflow API, ``share_base`` the share links, ``ws_hosts`` the push WebSocket
(protocol.md §1–2); ``proxy`` is the default proxy of every Douyin broadcaster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dylived.config.values import (
    Converter,
    Secret,
    nonempty_text,
    secret_cookies,
    text,
    url,
    url_list,
)
from dylived.net.proxy import ProxyUrl, parse_proxy


WEB_BASE = "https://live.douyin.com"
WS_HOSTS: tuple[str, ...] = (
    "wss://webcast100-ws-web-lq.douyin.com",
    "wss://webcast100-ws-web-hl.douyin.com",
    "wss://webcast100-ws-web-lf.douyin.com",
)
APP_BASE = "https://webcast.amemv.com"
SHARE_BASE = "https://v.douyin.com"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
USER_UNIQUE_ID = ""  # "" = a random id per push connection


@dataclass(frozen=True, slots=True)
class DouyinConfig:
    """The ``[douyin]`` section, every default filled in."""

    web_base: str = WEB_BASE
    ws_hosts: tuple[str, ...] = WS_HOSTS
    app_base: str = APP_BASE
    share_base: str = SHARE_BASE
    user_agent: str = USER_AGENT
    cookies: Secret = field(default_factory=Secret)
    user_unique_id: str = USER_UNIQUE_ID
    proxy: ProxyUrl | None = None  # the default of every broadcaster; None = direct


def digits_or_empty(value: Any) -> str:
    if text(value) == "" or str(value).isdigit():
        return str(value)
    raise ValueError(f'expected digits (a viewer id) or "" for a random one, got {value!r}')


OPTIONS: dict[str, Converter] = {
    "web_base": url("http", "https"),
    "ws_hosts": url_list("ws", "wss"),
    "app_base": url("http", "https"),
    "share_base": url("http", "https"),
    "user_agent": nonempty_text,
    "cookies": secret_cookies,
    "user_unique_id": digits_or_empty,
    "proxy": parse_proxy,
}
