"""The signing-server client of TikTok's event connection (an Euler-Stream-compatible API).

Every TikTok LIVE client gets its first ``ProtoMessageFetchResult`` from a signing server
(tiktok.md §3.1, protocol.md §3.2 step 1): ``GET <sign_server>/webcast/rooms/<room_id>/connect``
(the 2026 path; ``/webcast/fetch/?room_id=`` the legacy one, used when the new one is 404) with
``client``, ``user_agent`` and the ``cursor`` to resume from, the key in ``x-api-key``. The 200
body is the raw protobuf; the header ``X-Set-TT-Cookie`` holds the cookies the WebSocket must
send (no cookies: an error, as in every client), ``X-Room-Id`` the room the server means.

**Pure part** (no I/O): :func:`sign_request` builds the request, :func:`read_sign_response`
classifies the answer: **429** → :class:`~dylived.errors.RateLimited` with the wait from
``Retry-After`` (seconds or a date), else from the body's "Try again in MM:SS", else
:data:`DEFAULT_WAIT_S`; **401/402/403** (or a body ``code`` 403) →
:class:`~dylived.errors.EventsUnavailable` ("this plan cannot"); an **empty 200** or one without a
cursor → :class:`~dylived.errors.RiskControl` (TikTok detected the signing server); other
answers → ``UpstreamError``. :func:`push_url` assembles the WebSocket URL from the result's
``push_server`` and ``route_params`` (values percent-encoded, empty ones dropped) and the
browser's client parameters. :class:`SignBudget` counts the calls of one UTC day against
``sign_budget_per_day``. The API key is never in a URL, a log line or a message
(:func:`mask_key` is how it is shown).

**I/O part**: :class:`SigningClient` sends the request on the daemon's ``HttpClient``; the
:class:`SignAccount` of a server and key (one per daemon process, :func:`account_for`: the
budget is the account's, whichever proxy a broadcaster uses) keeps the budget and the counters
``status`` shows (calls, 429s, what the day has left). The budget is in memory: a daemon
restart starts the day's count again. :meth:`SigningClient.gift_list` fetches the gift
catalogue (``gifts.py``) from the server's gift route, one call of the budget too.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dylived.errors import (
    DylivedError,
    EventsUnavailable,
    RateLimited,
    RemoteProtocolError,
    RiskControl,
    RoomNotFound,
    UpstreamError,
)
from dylived.net.http import HttpClient, parse_retry_after
from dylived.platforms.tiktok.envelope import LIVE_ID, FetchResult, parse_fetch_result
from dylived.platforms.tiktok.gifts import SIGNER_GIFTS_PATH


CLIENT = "ttlive-other"  # the ``client`` Euler's SDK sends for an unnamed client
CONNECT_PATH = "/webcast/rooms/{room_id}/connect"
LEGACY_PATH = "/webcast/fetch/"
DEFAULT_WAIT_S = 60.0  # a 429 that says nothing about when
_TRY_AGAIN = re.compile(r"try again in (?:(\d+):)?(\d{1,2}):(\d{2})", re.IGNORECASE)
# The browser's parameters of the push URL (protocol.md §3.2 step 2; TikTokLive's web settings).
CLIENT_PARAMS: tuple[tuple[str, str], ...] = (
    ("aid", "1988"),
    ("app_language", "en-US"),
    ("app_name", "tiktok_web"),
    ("browser_language", "en-US"),
    ("browser_name", "Mozilla"),
    ("browser_online", "true"),
    ("browser_platform", "Win32"),
    ("cookie_enabled", "true"),
    ("device_platform", "web"),
    ("did_rule", "3"),
    ("identity", "audience"),
    ("live_id", str(LIVE_ID)),
    ("resp_content_type", "protobuf"),
    ("sup_ws_ds_opt", "1"),
    ("tz_name", "Etc/UTC"),
    ("update_version_code", "2.0.0"),
    ("version_code", "180800"),
    ("webcast_language", "en"),
    ("ws_direct", "0"),
    ("heartbeat_duration", "0"),
    ("history_comment_count", "6"),
    ("compress", "gzip"),
    ("client_enter", "1"),
)


def mask_key(key: str) -> str:
    """How an API key is shown: its last four characters at most, the rest starred."""
    if not key:
        return ""
    return "****" + (key[-4:] if len(key) >= 12 else "")


@dataclass(frozen=True, slots=True)
class SignRequest:
    """One signing call: the URL (no key in it) and the headers (the key among them)."""

    url: str
    headers: tuple[tuple[str, str], ...]


def sign_request(
    base: str,
    room_id: str,
    *,
    user_agent: str,
    api_key: str = "",
    cursor: str = "",
    legacy: bool = False,
) -> SignRequest:
    """The request for the first fetch result of ``room_id`` (``legacy``: ``/webcast/fetch/``)."""
    query: dict[str, str] = {"client": CLIENT, "user_agent": user_agent, "client_enter": "true"}
    if cursor:
        query["cursor"] = cursor
    root = base.rstrip("/")
    if legacy:
        url = f"{root}{LEGACY_PATH}?" + urllib.parse.urlencode({**query, "room_id": room_id})
    else:
        path = CONNECT_PATH.format(room_id=urllib.parse.quote(room_id, safe=""))
        url = f"{root}{path}?" + urllib.parse.urlencode(query)
    headers = [("accept", "application/protobuf,application/json")]
    if api_key:
        headers.append(("x-api-key", api_key))
    return SignRequest(url, tuple(headers))


@dataclass(frozen=True, slots=True)
class Signed:
    """A signing server's good answer: the first fetch result and what the WebSocket needs."""

    result: FetchResult
    cookies: tuple[tuple[str, str], ...]
    room_id: str  # X-Room-Id when the server sent one, else ""
    body: bytes = b""  # the result as it came (a Response)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies)


def parse_cookie_string(text: str) -> tuple[tuple[str, str], ...]:
    """``"a=1; b=2"`` → ``(("a", "1"), ("b", "2"))``; pieces without a name are dropped."""
    pairs = []
    for piece in text.split(";"):
        name, sep, value = piece.strip().partition("=")
        if sep and name.strip():
            pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def _json(body: bytes) -> Mapping[str, Any]:
    try:
        value = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _said(body: Mapping[str, Any]) -> str:
    """The server's own words (``message``, ``error``), short and on one line."""
    words = str(body.get("message") or body.get("error") or "").replace("\n", " ")
    return words[:200]


def wait_of(headers: Mapping[str, str], body: bytes, now: datetime) -> float:
    """How long a 429 asks to wait: ``Retry-After``, else "Try again in [H:]MM:SS", else 60 s."""
    header = parse_retry_after(headers.get("retry-after"), now)
    if header is not None:
        return header
    found = _TRY_AGAIN.search(body[:2000].decode("utf-8", "replace"))
    if found is not None:
        hours, minutes, seconds = (int(g) if g else 0 for g in found.groups())
        return float(hours * 3600 + minutes * 60 + seconds)
    return DEFAULT_WAIT_S


def read_sign_response(
    status: int, headers: Mapping[str, str], body: bytes, *, now: datetime
) -> Signed:
    """Classify a signing server's answer (``headers`` with lower-case names).

    Raises:
        RateLimited: HTTP 429 (``retry_after`` set, see :func:`wait_of`).
        EventsUnavailable: 401, 402 or 403 (or a JSON body with ``code`` 403): the key or its
            plan cannot do this; retrying changes nothing.
        RiskControl: an empty 200, or a result without a cursor: TikTok detected the server.
        RoomNotFound: 404 (the caller may try the legacy path).
        UpstreamError: any other answer, a body that is not a fetch result, no cookies.
    """
    if status == 429:
        said = _said(_json(body))
        wait = wait_of(headers, body, now)
        detail = f": {said}" if said else ""
        raise RateLimited(f"signing server rate limit (HTTP 429{detail})", retry_after=wait)
    parsed = _json(body) if body[:1] == b"{" else {}
    if status in (401, 402, 403) or parsed.get("code") == 403:
        said = _said(parsed)
        raise EventsUnavailable(
            f"the signing server refused this key or plan (HTTP {status}"
            f"{': ' + said if said else ''})"
        )
    if status == 404:
        raise RoomNotFound("signing server: HTTP 404")
    if status != 200:
        raise UpstreamError(f"signing server: HTTP {status}")
    if not body.strip() or parsed:
        said = _said(parsed)
        raise RiskControl(
            "the signing server got nothing from TikTok (detected?)" + (f": {said}" if said else "")
        )
    try:
        result = parse_fetch_result(body)
    except RemoteProtocolError as exc:
        raise UpstreamError(f"signing server: the body is not a fetch result ({exc})") from None
    if not result.cursor:
        raise RiskControl("signing server: the fetch result has no cursor (TikTok detected it?)")
    cookies = parse_cookie_string(headers.get("x-set-tt-cookie", ""))
    if not cookies:
        raise UpstreamError("signing server: no X-Set-TT-Cookie in its answer")
    if not result.push_server:
        raise UpstreamError("signing server: the fetch result names no push server")
    return Signed(result, cookies, headers.get("x-room-id", "").strip(), body)


def push_url(
    result: FetchResult, *, room_id: str, user_agent: str, cursor: str, internal_ext: str
) -> str:
    """The WebSocket URL: ``push_server``, the client parameters, the non-empty route params
    (percent-encoded), the room and where to resume."""
    params: dict[str, str] = dict(CLIENT_PARAMS)
    params["browser_version"] = user_agent.partition("/")[2] or user_agent
    params.update({k: v for k, v in result.route_params.items() if v})
    params["room_id"] = room_id
    params["cursor"] = cursor or result.cursor
    params["internal_ext"] = internal_ext or result.internal_ext
    sep = "&" if "?" in result.push_server else "?"
    return result.push_server + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


class SignBudget:
    """The signing calls one UTC day allows (``per_day``; 0 = none); pure, the caller passes now."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        self.used = 0
        self._day = ""

    def _roll(self, now: datetime) -> None:
        day = now.astimezone(UTC).date().isoformat()
        if day != self._day:
            self._day, self.used = day, 0

    def left(self, now: datetime) -> int:
        self._roll(now)
        return max(0, self.per_day - self.used)

    def take(self, now: datetime) -> bool:
        """Spend one call; False (nothing spent) when the day's budget is used up."""
        if self.left(now) <= 0:
            return False
        self.used += 1
        return True

    @staticmethod
    def seconds_to_reset(now: datetime) -> float:
        """Seconds until the next UTC midnight (when a used-up budget is whole again)."""
        utc = now.astimezone(UTC)
        midnight = (utc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return max(1.0, (midnight - utc).total_seconds())


class SignAccount:
    """One signing account (a server and a key) as every TikTok session of the daemon shares it:
    the day's budget and the counters ``status`` shows (never the key)."""

    def __init__(self, base: str, api_key: str, per_day: int) -> None:
        self.base = base
        self.masked_key = mask_key(api_key)
        self.budget = SignBudget(per_day)
        self.legacy = False  # the server answered 404 on the 2026 path
        self.calls = 0
        self.rate_limited = 0
        self.last_error = ""

    def statistics(self, now: datetime) -> dict[str, Any]:
        return {
            "sign_server": urllib.parse.urlsplit(self.base).netloc,
            "sign_api_key": self.masked_key,
            "sign_calls": self.calls,
            "sign_rate_limited": self.rate_limited,
            "sign_budget_per_day": self.budget.per_day,
            "sign_budget_left": self.budget.left(now),
            "sign_last_error": self.last_error or None,
        }


_ACCOUNTS: dict[tuple[str, str], SignAccount] = {}


def account_for(base: str, api_key: str, per_day: int) -> SignAccount:
    """The process's one account of ``base`` and ``api_key`` (its budget follows reloads)."""
    account = _ACCOUNTS.get((base, api_key))
    if account is None:
        account = _ACCOUNTS[base, api_key] = SignAccount(base, api_key, per_day)
    account.budget.per_day = per_day
    return account


class SigningClient:
    """A session's signing calls: the daemon's HTTP client and the shared account."""

    def __init__(self, http: HttpClient, base: str, api_key: str, account: SignAccount) -> None:
        self.http = http
        self.base = base
        self.api_key = api_key
        self.account = account

    def statistics(self, now: datetime) -> dict[str, Any]:
        return self.account.statistics(now)

    async def connect(self, room_id: str, *, user_agent: str, cursor: str) -> Signed:
        """The first fetch result of ``room_id`` (one call of the day's budget).

        Raises:
            RateLimited: a 429, or the day's budget is used up (wait until UTC midnight).
            EventsUnavailable, RiskControl, UpstreamError, TransportError: see
                :func:`read_sign_response`.
        """
        account = self.account
        now = datetime.now(UTC)
        if not account.budget.take(now):
            raise RateLimited(
                f"the signing budget of {account.budget.per_day} calls a day is used up",
                retry_after=SignBudget.seconds_to_reset(now),
            )
        for legacy in (account.legacy, True):
            request = sign_request(
                self.base,
                room_id,
                user_agent=user_agent,
                api_key=self.api_key,
                cursor=cursor,
                legacy=legacy,
            )
            account.calls += 1
            try:
                answer = await self.http.fetch(
                    request.url, headers=dict(request.headers), check_status=False
                )
                signed = read_sign_response(
                    answer.status_code, answer.headers, answer.body, now=datetime.now(UTC)
                )
            except RoomNotFound:
                if legacy:
                    raise UpstreamError("signing server: no such API path (HTTP 404)") from None
                account.legacy = True
                continue
            except RateLimited as exc:
                account.rate_limited += 1
                account.last_error = str(exc)
                raise
            except DylivedError as exc:
                account.last_error = str(exc)
                raise
            account.last_error = ""
            return signed
        raise AssertionError("unreachable")  # pragma: no cover

    async def gift_list(self, room_id: str) -> Mapping[str, Any]:
        """The gift-list body of ``room_id`` from the server's gift route
        (``gifts.SIGNER_GIFTS_PATH``; one call of the day's budget, as a connection).

        Raises:
            RateLimited: a 429, or the day's budget is used up. RemoteProtocolError: the body
                is not a JSON object. PlatformError, TransportError: the request failed.
        """
        account = self.account
        if not account.budget.take(datetime.now(UTC)):
            raise RateLimited(f"the signing budget of {account.budget.per_day} calls is used up")
        path = SIGNER_GIFTS_PATH.format(room_id=urllib.parse.quote(room_id, safe=""))
        headers = {"accept": "application/json"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        account.calls += 1
        answer = await self.http.fetch(self.base.rstrip("/") + path, headers=headers)
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RemoteProtocolError("signing server gift list: not a JSON object")
        return body
