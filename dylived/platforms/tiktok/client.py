"""The TikTok platform over HTTP: live status and stream URLs, one request per check.

Owns :class:`TikTokPlatform` (``resolve``, ``fetch_status``, ``refresh_stream_urls``,
``media_headers``, ``event_source``), the ``Platform`` of ``platforms/base.py`` for TikTok.
Endpoints are configuration (``[tiktok] web_base``, ``webcast_base``); the tests and
``dylived demo`` point them at the simulator. Bodies are parsed by ``status.py``.

Which request each target form makes (tiktok.md §1.1, §1.3):

=================================  ============================================================
``@user`` and its addresses         ``api-live/user/room/?uniqueId=<user>`` with the full set of
                                    web parameters (without them TikTok answers params_error);
                                    when that answer is refused or unreadable, the live page
                                    ``/@<user>/live`` (its ``SIGI_STATE``) once, as fallback
numeric room id                     ``webcast/room/info/?room_id=<id>``
=================================  ============================================================

Every status carries the broadcaster's stable numeric id (``LiveStatus.user_id``) beside the
handle, which its owner may change. The ``sessionid`` and ``tt-target-idc`` cookies are secrets:
sent with the status requests only, never given to ffmpeg (``media_headers``), never logged.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from dylived.errors import RestrictedRoom, RiskControl, StatusUncertain, UpstreamError
from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms.tiktok import push
from dylived.platforms.tiktok.status import parse_live_page, parse_room_info, parse_user_room
from dylived.platforms.tiktok.targets import ResolvedTarget, parse_target, resolve_target


logger = logging.getLogger(__name__)

USER_ROOM_PATH = "/api-live/user/room/"
ROOM_INFO_PATH = "/webcast/room/info/"
# TikTokLive's web base parameters (web_settings.py), in its order; device_id is per request.
_WEB_PARAMS: tuple[tuple[str, str], ...] = (
    ("aid", "1988"),
    ("app_language", "en-US"),
    ("app_name", "tiktok_web"),
    ("browser_language", "en-US"),
    ("browser_name", "Mozilla"),
    ("browser_online", "true"),
    ("browser_platform", "Win32"),
    ("channel", "tiktok_web"),
    ("cookie_enabled", "true"),
    ("data_collection_enabled", "true"),
    ("device_platform", "web_pc"),
    ("focus_state", "true"),
    ("from_page", "user"),
    ("history_len", "4"),
    ("is_fullscreen", "false"),
    ("is_page_visible", "true"),
    ("os", "windows"),
    ("priority_region", ""),
    ("referer", ""),
    ("region", "US"),
    ("root_referer", "https://www.tiktok.com/"),
    ("screen_height", "1080"),
    ("screen_width", "1920"),
    ("tz_name", "Etc/UTC"),
    ("user_is_login", "false"),
    ("webcast_language", "en"),
    ("msToken", ""),
)


class TikTokSettings(Protocol):
    """The ``[tiktok]`` keys this adapter reads (``options.TikTokConfig`` has them)."""

    @property
    def web_base(self) -> str: ...
    @property
    def webcast_base(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def sessionid(self) -> Any: ...  # a Secret (str() masks it)
    @property
    def tt_target_idc(self) -> Any: ...


def _reveal(value: Any) -> str:
    return value.reveal() if hasattr(value, "reveal") else str(value or "")


def cookie_header(settings: TikTokSettings) -> str:
    """The ``Cookie`` of the status requests ("" when no cookie is configured)."""
    pairs = [("sessionid", _reveal(settings.sessionid))]
    pairs.append(("tt-target-idc", _reveal(settings.tt_target_idc)))
    return "; ".join(f"{name}={value}" for name, value in pairs if value)


def web_params(user_agent: str, rng: random.Random) -> list[tuple[str, str]]:
    """The browser's parameters with a fresh 20-digit ``device_id`` and its browser version."""
    version = user_agent.removeprefix("Mozilla/")
    params = list(_WEB_PARAMS)
    params.insert(5, ("browser_version", version))
    params.append(("device_id", str(rng.randrange(10**19, 10**20))))
    return params


class TikTokPlatform:
    """TikTok over HTTP (see the module docstring).

    Args:
        http: the daemon's HTTP client for TikTok.
        settings: the ``[tiktok]`` section.
        rng: randomness of the per-request device_id (tests may seed it).
    """

    name = "tiktok"

    def __init__(
        self,
        http: HttpClient,
        settings: TikTokSettings,
        *,
        rng: random.Random | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self._http = http
        self._state_dir = state_dir  # the gift catalogue's cache (push.py)
        self._web_base = settings.web_base.rstrip("/")
        self._webcast_base = settings.webcast_base.rstrip("/")
        self._user_agent = settings.user_agent
        self._cookie = cookie_header(settings)
        self._rng = rng or random.Random()
        self.fallbacks = 0  # live-page fallbacks taken (statistics, tests)

    def event_source(self, section: Any) -> push.TikTokPush:
        """The event source of one session from the current ``[tiktok]`` section."""
        return push.event_source(self._http, section, self._state_dir)

    def media_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers ffmpeg sends: the browser's User-Agent and Referer, never a cookie."""
        return (("User-Agent", self._user_agent), ("Referer", self._web_base + "/"))

    # ------------------------------------------------------------ URLs

    def user_room_url(self, unique_id: str) -> str:
        params = [*web_params(self._user_agent, self._rng), ("uniqueId", unique_id)]
        params.append(("sourceType", "54"))
        return f"{self._web_base}{USER_ROOM_PATH}?{urlencode(params)}"

    def live_page_url(self, unique_id: str) -> str:
        return f"{self._web_base}/@{quote(unique_id)}/live"

    def room_info_url(self, room_id: str) -> str:
        params = [*web_params(self._user_agent, self._rng), ("room_id", room_id)]
        return f"{self._webcast_base}{ROOM_INFO_PATH}?{urlencode(params)}"

    # ------------------------------------------------------------ requests

    async def _get(self, url: str, accept: str) -> bytes:
        headers = {"Accept": accept, "Referer": self._web_base + "/", "Origin": self._web_base}
        if self._cookie:
            headers["Cookie"] = self._cookie  # the secret: never in a log line or an error
        response = await self._http.fetch(url, headers=headers)
        return response.body

    async def resolve(self, target: Any) -> ResolvedTarget:
        """The resolved value of a target (no request).

        Raises:
            ValueError: not a TikTok form, or a form that cannot be watched (a short link).
        """
        ref = parse_target(target) if isinstance(target, str) else target
        return resolve_target(target if isinstance(target, str) else ref.value, ref)

    async def fetch_status(self, resolved: ResolvedTarget) -> LiveStatus:
        """The live status of a resolved target: one request, the live page as fallback.

        Raises:
            RiskControl (blocked: the breaker backs off), RestrictedRoom, StatusUncertain,
            RoomNotFound, TransportError, UpstreamError.

        Cancel safety: safe (read-only).
        """
        if resolved.unique_id is None:
            if resolved.room_id is None:
                raise UpstreamError(f"target {resolved.target!r} names neither user nor room")
            body = await self._get(self.room_info_url(resolved.room_id), "application/json")
            return parse_room_info(body, resolved.room_id)
        try:
            body = await self._get(self.user_room_url(resolved.unique_id), "application/json")
            return parse_user_room(body)
        except (RestrictedRoom, StatusUncertain):
            raise
        except (RiskControl, UpstreamError) as first:
            if isinstance(first, RiskControl) and first.retry_after is not None:
                raise  # rate limited: a second request now would only make it worse
            logger.info("api-live/user/room failed (%s); reading the live page instead", first)
            self.fallbacks += 1
        page = await self._get(self.live_page_url(resolved.unique_id), "text/html")
        return parse_live_page(page)

    async def refresh_stream_urls(self, resolved: ResolvedTarget) -> LiveStatus:
        """Fresh stream URLs (the recorder asks when a URL failed): a new status."""
        return await self.fetch_status(resolved)
