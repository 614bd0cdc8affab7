"""The ``[douyin]`` config section as the platform defines it: its keys and their defaults.

The config (``dylived.config``) reads and validates the section; these are the values it falls
back to. ``web_base`` serves web/enter and the ttwid, ``app_base`` the reflow API,
``share_base`` the share links, ``ws_hosts`` the push WebSocket (protocol.md §1–2).
"""

from __future__ import annotations


WEB_BASE = "https://live.douyin.com"
WS_HOSTS: tuple[str, ...] = (
    "wss://webcast100-ws-web-lq.douyin.com",
    "wss://webcast100-ws-web-hl.douyin.com",
    "wss://webcast100-ws-web-lf.douyin.com",
)
APP_BASE = "https://webcast.amemv.com"
SHARE_BASE = "https://v.douyin.com"
USER_UNIQUE_ID = ""  # "" = a random id per push connection

# Every key of the section (the config adds user_agent's and cookies' shared meaning).
OPTION_KEYS: tuple[str, ...] = (
    "web_base",
    "ws_hosts",
    "app_base",
    "share_base",
    "user_agent",
    "cookies",
    "user_unique_id",
)
