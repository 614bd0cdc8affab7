"""The Douyin platform over HTTP: ttwid, target resolution, room status and stream URLs.

Owns :class:`DouyinPlatform` (``resolve``, ``fetch_status``, ``refresh_stream_urls``,
``cookie_header``, ``media_headers``, ``event_source``), the ``Platform`` of
``platforms/base.py`` for Douyin. Target strings are classified by ``targets.parse_target``.
Endpoints are configuration (``[douyin] web_base``, ``app_base``, ``share_base``): the tests and
``dylived demo`` point them at the simulator. HTTP goes through
:class:`dylived.net.http.HttpClient`; bodies are parsed by ``status.py``. The
cookie is a secret: it is never logged, and never given to ffmpeg (``media_headers``).

Which endpoint each target form needs (protocol.md §1.2, §1.4, §1.6):

=========================================  =================================================
``live.douyin.com/<web_rid>``, bare web_rid  web/enter on ``web_base`` (no resolution request)
``v.douyin.com/<code>/`` share link         one GET on ``share_base`` (redirect read, not
                                            followed), then reflow on ``app_base``
``www.douyin.com/user/<sec_uid>``, sec_uid  reflow on ``app_base`` (learns the web_rid)
numeric user id (``uid:<digits>``)          cannot be resolved: RoomNotFound saying to use the
                                            sec_uid or the live URL
=========================================  =================================================
"""

from __future__ import annotations

import base64
import logging
import random
import re
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import quote_plus, urlencode, urlsplit

import anyio

from dylived.errors import RoomNotFound, UpstreamError
from dylived.model import LiveStatus
from dylived.net.http import BlockedResponse, HttpClient
from dylived.platforms.douyin.push import DouyinPush
from dylived.platforms.douyin.status import (
    RoomListEmpty,
    carries_login,
    parse_enter,
    parse_reflow,
    sec_uid_of,
)
from dylived.platforms.douyin.targets import (
    ResolvedTarget,
    ShareLocation,
    TargetKind,
    TargetLike,
    parse_share_location,
    parse_target,
)


logger = logging.getLogger(__name__)

ENTER_PATH = "/webcast/room/web/enter/"
REFLOW_PATH = "/webcast/room/reflow/info/"
# BU: the reflow API requires room_id but does not check it ("必要但不校验").
REFLOW_ROOM_PLACEHOLDER = "2"
# Random bytes in base64 give the tokens' alphabets at a fraction of the cost of drawing
# characters one by one: 138 bytes → 184 URL-safe characters (A-Z a-z 0-9 - _), 48 → 64.
_MS_TOKEN_BYTES = 138
_A_BOGUS_BYTES = 48
_CHROME_VERSION = re.compile(r"Chrome/([\d.]+)")
_NUMERIC_UID_HELP = (
    "a numeric user id cannot be resolved to a live room without login; use the "
    "broadcaster's sec_uid (MS4wLjAB…, from www.douyin.com/user/<sec_uid>) or the "
    "live.douyin.com/<web_rid> URL instead"
)


class DouyinSettings(Protocol):
    """The ``[douyin]`` config keys this adapter reads (``options.DouyinConfig`` has them)."""

    @property
    def web_base(self) -> str: ...
    @property
    def app_base(self) -> str: ...
    @property
    def share_base(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def cookies(self) -> object: ...  # str, or a Secret whose str() masks it


# ---------------------------------------------------------------- pure helpers


def _with_scheme(text: str) -> str:
    return text if "://" in text else f"https://{text}"


def _random_tokens(rng: random.Random) -> str:
    """``msToken`` (184 chars) and a placeholder ``a_bogus`` (64), as a query string tail."""
    ms_token = base64.urlsafe_b64encode(rng.randbytes(_MS_TOKEN_BYTES)).decode("ascii")
    # placeholder: the real a_bogus is a signature we do not compute (protocol.md §1.2)
    a_bogus = base64.b64encode(rng.randbytes(_A_BOGUS_BYTES)).decode("ascii")
    return f"msToken={ms_token}&a_bogus={quote_plus(a_bogus)}"


def _enter_head(web_base: str, user_agent: str) -> str:
    """The constant start of every web/enter URL, up to ``web_rid=`` (built once)."""
    version = _CHROME_VERSION.search(user_agent)
    params = {
        "aid": "6383",
        "app_name": "douyin_web",
        "live_id": "1",
        "device_platform": "web",
        "language": "zh-CN",
        "enter_from": "web_live",
        "cookie_enabled": "true",
        "screen_width": "1920",
        "screen_height": "1080",
        "browser_language": "zh-CN",
        "browser_platform": "Win32",
        "browser_name": "Chrome",
        "browser_version": version.group(1) if version else "120.0.0.0",
        "os_name": "Windows",
        "os_version": "10",
    }
    return f"{web_base}{ENTER_PATH}?{urlencode(params)}&web_rid="


# After web_rid and room_id_str, before the tokens.
_ENTER_TAIL = (
    "&"
    + urlencode(
        {
            "enter_source": "",
            "is_need_double_stream": "false",
            "insert_task_id": "",
            "live_reason": "",
        }
    )
    + "&"
)


def _secret_text(value: object) -> str:
    """The clear text of a configured secret: a str, or a Secret exposing it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    for name in ("reveal", "get_secret_value", "value"):
        attribute = getattr(value, name, None)
        if isinstance(attribute, str):
            return attribute
        if callable(attribute):
            revealed = attribute()
            if isinstance(revealed, str):
                return revealed
    raise TypeError(f"cannot read the cookies secret from a {type(value).__name__}")


# ---------------------------------------------------------------- the adapter


class DouyinPlatform:
    """Douyin over HTTP: resolve targets, fetch live status, keep a ttwid.

    Args:
        http: the daemon's HTTP client (its cookie jar holds the ttwid).
        settings: the ``[douyin]`` section.
        rng: randomness for msToken/a_bogus placeholders (tests may seed it).
        ttwid_refresh_interval: seconds during which a ttwid we fetched is not replaced again
            because of a refusal (a risk-control window must not turn every poll into two
            extra requests).

    Without configured ``cookies`` the adapter fetches a ``ttwid`` from ``web_base + "/"`` before
    its first status request, and once more when a request is refused in a way that suggests
    an expired ttwid (empty 200 body, 403, 412); if the retry is refused too, the RiskControl
    goes to the caller (the circuit breaker). A 429 never triggers a refresh.
    """

    name = "douyin"

    def __init__(
        self,
        http: HttpClient,
        settings: DouyinSettings,
        *,
        rng: random.Random | None = None,
        ttwid_refresh_interval: float = 60.0,
    ) -> None:
        self._http = http
        self._web_base = settings.web_base.rstrip("/")
        self._app_base = settings.app_base.rstrip("/")
        self._share_base = settings.share_base.rstrip("/")
        self._user_agent = settings.user_agent
        self._cookies = _secret_text(settings.cookies).strip()
        self._login_cookie = carries_login(self._cookies)  # web/enter then says if it took it
        self._enter_head = _enter_head(self._web_base, self._user_agent)
        self._rng = rng or random.Random()
        self._ttwid_lock = anyio.Lock()
        self._ttwid_refresh_interval = ttwid_refresh_interval
        self._ttwid_fetched_at: float | None = None
        self.ttwid_fetches = 0  # how many times a ttwid was requested (statistics, tests)

    # ------------------------------------------------------------ events

    def event_source(self, section: Any) -> DouyinPush:
        """The push connection of one session from the current ``[douyin]`` section."""
        return DouyinPush.from_section(section, self.cookie_header)

    # ------------------------------------------------------------ cookies

    def media_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers ffmpeg sends when it pulls a stream: the browser's User-Agent and Referer.

        No cookie: the pull URLs are signed and the CDN asks for none, while ffmpeg's argv is
        readable by every local user and ffmpeg sends its headers to whatever host a redirect
        or an HLS playlist names.
        """
        return (("User-Agent", self._user_agent), ("Referer", self._web_base + "/"))

    def cookie_header(self) -> str:
        """The ``Cookie`` header value for the WebSocket handshake ("" when none)."""
        if self._cookies:
            return self._cookies
        ttwid = self._http.cookie("ttwid")
        return f"ttwid={ttwid}" if ttwid else ""

    async def ensure_ttwid(self) -> None:
        """Fetch a ttwid unless configured cookies are used or one is already held.

        Cancel safety: safe; a cancelled fetch leaves no partial cookie.
        """
        if not self._cookies and self._http.cookie("ttwid") is None:
            await self._refresh_ttwid(stale=None)

    async def _refresh_ttwid(self, stale: str | None) -> None:
        """Fetch a new ttwid, unless another task replaced ``stale`` meanwhile."""
        async with self._ttwid_lock:
            current = self._http.cookie("ttwid")
            if current is not None and current != stale:
                return  # someone else refreshed while we waited
            if current is not None:
                self._http.drop_cookie("ttwid")
            self.ttwid_fetches += 1
            self._ttwid_fetched_at = anyio.current_time()
            await self._http.fetch(
                self._web_base + "/",
                headers={"Accept": "text/html,application/xhtml+xml"},
                require_body=False,
            )
            if self._http.cookie("ttwid") is None:
                raise BlockedResponse(f"{self._web_base}/ did not set a ttwid cookie", 200)
            logger.info("obtained a ttwid cookie from %s/", self._web_base)

    async def _get_json(self, url: str, referer: str | None) -> bytes:
        """GET a JSON endpoint with the cookie; one ttwid refresh when refused."""
        await self.ensure_ttwid()
        used = self._http.cookie("ttwid")
        try:
            return await self._get_once(url, referer)
        except BlockedResponse as refused:
            if self._cookies or refused.status_code == 429 or self._ttwid_is_fresh():
                raise
            logger.warning("request refused (%s); refreshing the ttwid once", refused)
            await self._refresh_ttwid(stale=used)
            return await self._get_once(url, referer)

    def _ttwid_is_fresh(self) -> bool:
        fetched_at = self._ttwid_fetched_at
        return (
            fetched_at is not None
            and anyio.current_time() - fetched_at < self._ttwid_refresh_interval
        )

    async def _get_once(self, url: str, referer: str | None) -> bytes:
        headers = {"Accept": "application/json, text/plain, */*"}
        if referer is not None:
            headers["Referer"] = referer
        if self._cookies:
            headers["Cookie"] = self._cookies  # wins over the jar
        response = await self._http.fetch(url, headers=headers)
        return response.body

    # ------------------------------------------------------------ URLs

    def enter_url(self, web_rid: str, room_id: str | None = None) -> str:
        """The web/enter URL, parameters in the browser's order (protocol.md §1.2)."""
        return (
            f"{self._enter_head}{quote_plus(web_rid)}&room_id_str={quote_plus(room_id or '')}"
            f"{_ENTER_TAIL}{_random_tokens(self._rng)}"
        )

    def reflow_url(self, sec_uid: str, room_id: str | None = None) -> str:
        """The reflow info URL (protocol.md §1.4)."""
        params = {
            "type_id": "0",
            "live_id": "1",
            "room_id": room_id or REFLOW_ROOM_PLACEHOLDER,
            "sec_user_id": sec_uid,
            "version_code": "99.99.99",
            "app_id": "1128",
        }
        return f"{self._app_base}{REFLOW_PATH}?{urlencode(params)}&{_random_tokens(self._rng)}"

    def share_url(self, link: str) -> str:
        """``share_base`` + the path of a share link (or ``/<code>/`` for a bare share code)."""
        if "/" not in link:
            return f"{self._share_base}/{link}/"
        parts = urlsplit(_with_scheme(link))
        query = f"?{parts.query}" if parts.query else ""
        return f"{self._share_base}{parts.path or '/'}{query}"

    # ------------------------------------------------------------ resolve

    async def resolve(self, target: str | TargetLike) -> ResolvedTarget:
        """Resolve a configured target to what status requests need.

        Raises:
            RoomNotFound: the target cannot be resolved (unknown, a numeric user id, …).
            RiskControl, TransportError, UpstreamError: from the requests it makes.
            ValueError: ``target`` is not a recognised form.

        Cancel safety: safe; nothing is cached until it completes.
        """
        ref = parse_target(target) if isinstance(target, str) else target
        text = target if isinstance(target, str) else ref.value
        kind = TargetKind(ref.kind)
        if kind is TargetKind.WEB_RID:
            return ResolvedTarget(text, kind, web_rid=ref.value)
        if kind is TargetKind.USER_ID:
            raise RoomNotFound(f"{ref.value}: {_NUMERIC_UID_HELP}")
        if kind is TargetKind.SEC_UID:
            return await self._resolve_sec_uid(text, kind, ref.value, room_id=None)
        location = await self._share_redirect(ref.value)
        if location.web_rid is not None:
            return ResolvedTarget(text, kind, web_rid=location.web_rid, sec_uid=location.sec_uid)
        if location.sec_uid is None:
            raise RoomNotFound(f"the share link {ref.value} names a room but no user")
        return await self._resolve_sec_uid(text, kind, location.sec_uid, location.room_id)

    async def _share_redirect(self, link: str) -> ShareLocation:
        response = await self._http.fetch(self.share_url(link), require_body=False)
        location = response.header("Location")
        if not 300 <= response.status_code < 400 or not location:
            raise RoomNotFound(
                f"the share link {link} did not redirect (HTTP {response.status_code})"
            )
        return parse_share_location(location)

    async def _resolve_sec_uid(
        self, text: str, kind: TargetKind, sec_uid: str, room_id: str | None
    ) -> ResolvedTarget:
        status = parse_reflow(
            await self._get_json(self.reflow_url(sec_uid, room_id), referer=None), sec_uid=sec_uid
        )
        return ResolvedTarget(
            text,
            kind,
            web_rid=status.handle,
            sec_uid=sec_uid_of(status) or sec_uid,
            room_id=room_id,
        )

    # ------------------------------------------------------------ status

    async def fetch_status(self, resolved: ResolvedTarget) -> LiveStatus:
        """The live status of a resolved target.

        With a web_rid: web/enter, falling back to the reflow API when it lists no room and a
        sec_uid is known (from the target or the body). With only a sec_uid: the reflow API.
        When ``cookies`` carry a login cookie (``sessionid``…), web/enter's answer says whether
        it still signs in: ``cookie_accepted`` of the status (``status.parse_enter``).

        Raises:
            RoomNotFound, RiskControl (``retry_after`` for a 429), TransportError,
            UpstreamError; CookieRejected when an error answer asks for a sign-in.

        Cancel safety: safe (read-only).
        """
        if resolved.web_rid is not None:
            body = await self._get_json(
                self.enter_url(resolved.web_rid), referer=f"{self._web_base}/{resolved.web_rid}"
            )
            try:
                return parse_enter(body, web_rid=resolved.web_rid, login_cookie=self._login_cookie)
            except RoomListEmpty as empty:
                return await self._after_empty_room_list(resolved, empty)
        if resolved.sec_uid is not None:
            return await self._reflow_status(resolved.sec_uid, None)
        raise UpstreamError(f"target {resolved.target!r} resolved to neither web_rid nor sec_uid")

    async def _after_empty_room_list(
        self, resolved: ResolvedTarget, empty: RoomListEmpty
    ) -> LiveStatus:
        """web/enter listed no room: ask reflow (BU, SR); if it cannot say, the user is offline.

        An account web/enter still describes (``data.user``) exists, so a reflow that refuses
        the request (10011) or knows no room means "not live"; a body naming no one is an
        unknown web_rid (RoomNotFound).
        """
        sec_uid = resolved.sec_uid or empty.sec_uid
        if sec_uid is None:
            raise empty
        logger.debug("web/enter listed no room for %s; asking reflow", resolved.web_rid)
        try:
            return await self._reflow_status(sec_uid, resolved.web_rid)
        except (RoomNotFound, UpstreamError) as refused:
            if empty.identity is None:
                raise
            logger.debug("reflow could not say (%s); %s is offline", refused, resolved.web_rid)
            return empty.identity

    async def _reflow_status(self, sec_uid: str, web_rid: str | None) -> LiveStatus:
        # The placeholder room id, not a remembered one: room ids change every broadcast and
        # the API picks the user's current room by sec_uid (BU: "必要但不校验").
        status = parse_reflow(
            await self._get_json(self.reflow_url(sec_uid), referer=None), sec_uid=sec_uid
        )
        if status.handle is None and web_rid is not None:
            status = replace(status, handle=web_rid)
        return status

    async def refresh_stream_urls(self, resolved: ResolvedTarget) -> LiveStatus:
        """Fresh stream URLs (the recorder calls this when a URL expired): a new status."""
        return await self.fetch_status(resolved)
