"""The simulator's stand-in for an Euler-Stream-compatible signing server (tiktok.md §3.1).

Endpoints (names are the ``endpoint`` of request records): ``sign_connect``
``GET /webcast/rooms/<room_id>/connect`` (the 2026 path) and ``sign_fetch``
``GET /webcast/fetch/?room_id=…`` (the legacy one). A good call answers HTTP 200 with
``Content-Type: application/protobuf`` and the raw first ``ProtoMessageFetchResult``: the live
room's opening events (viewer count, the LIVE intro), its ``cursor`` and ``internal_ext``,
``push_server`` = this simulator's TikTok push URL and ``route_params`` with the ``wrss`` the
push endpoint checks; ``X-Set-TT-Cookie`` carries a fresh ``ttwid`` (which the push endpoint
also checks) and ``X-Room-Id`` the room. A room that is not live gets a result holding a
ControlMessage 3.

What a test sets on :func:`signer_of` (per simulator): ``api_key`` (a call without it, or with
another, is HTTP 401), ``plan_refuses`` (402, "premium feature"), ``detected`` (an empty 200: TikTok
detected the server), ``rate_limited`` (the next N calls are 429 with ``Retry-After:
retry_after`` and Euler's JSON ``{"message": "… Try again in 00:SS", "limit_label"}``) and
``per_minute`` (more calls than that in 60 s are 429 until the oldest ages out). It records
``calls`` (the wall time of each) and ``first_events`` (what its results carried).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dylived.sim.framing import FrameContext
from dylived.sim.http import HttpRequest, Reply, json_reply
from dylived.sim.script import ScriptedEvent
from dylived.sim.tiktok.push import PUSH_PATH, response, route_token


if TYPE_CHECKING:
    from dylived.sim.server import Simulator


CONNECT = re.compile(r"/webcast/rooms/(\d+)/connect/?")
FETCH_PATH = "/webcast/fetch"
OPENING = ("viewer_count", "live_intro")


@dataclass(slots=True)
class SignerState:
    """One simulator's signing server: its settings (tests set them) and what it saw."""

    api_key: str = ""  # "" = anonymous calls are fine
    plan_refuses: bool = False
    detected: bool = False
    rate_limited: int = 0  # the next N calls answer 429
    retry_after: int = 2
    per_minute: int = 0  # 0 = no sliding limit
    calls: list[float] = field(default_factory=list)
    first_events: list[ScriptedEvent] = field(default_factory=list)
    _window: deque[float] = field(default_factory=deque)


_STATES: weakref.WeakKeyDictionary[Simulator, SignerState] = weakref.WeakKeyDictionary()


def signer_of(sim: Simulator) -> SignerState:
    """The signing server state of ``sim`` (made on first use)."""
    state = _STATES.get(sim)
    if state is None:
        state = _STATES[sim] = SignerState()
    return state


def endpoint_of(path: str) -> str | None:
    if CONNECT.fullmatch(path):
        return "sign_connect"
    if path.rstrip("/") == FETCH_PATH:
        return "sign_fetch"
    return None


def _too_many(state: SignerState, wait: int) -> Reply:
    body = {
        "message": f"Too many connections started, try again in 00:{wait:02d}",
        "limit_label": "minute",
    }
    reply = json_reply(body, 429)
    return Reply(429, reply.body, headers=(("Retry-After", str(wait)),))


def _limited(state: SignerState, now: float) -> Reply | None:
    if state.rate_limited > 0:
        state.rate_limited -= 1
        return _too_many(state, state.retry_after)
    if state.per_minute:
        window = state._window
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= state.per_minute:
            return _too_many(state, max(1, int(60 - (now - window[0])) + 1))
        window.append(now)
    return None


def answer(endpoint: str, request: HttpRequest, sim: Simulator, platform: str) -> Reply:
    """Serve one signing call (see the module docstring)."""
    state = signer_of(sim)
    now = time.time()
    state.calls.append(now)
    if state.api_key and request.headers.get("x-api-key", "") != state.api_key:
        return json_reply({"code": 401, "message": "Invalid API key"}, 401)
    limited = _limited(state, now)
    if limited is not None:
        return limited
    if state.plan_refuses:
        return json_reply({"code": 402, "message": "This is a premium feature"}, 402)
    if state.detected:
        return Reply(200, b"", content_type="application/protobuf")
    found = CONNECT.fullmatch(request.path)
    room_id = found.group(1) if found else request.query.get("room_id", "")
    room = sim.room_by_id(room_id, platform=platform) if room_id else None
    if room is None or room.script is None:
        body = {"code": 400, "message": f"room {room_id or '?'} not found"}
        return Reply(400, json.dumps(body).encode())
    if room.live:
        events = [room.script.make_event(kind) for kind in OPENING]
    else:
        events = [room.script.make_event("control", status=3)]
    state.first_events.extend(events)
    ttwid = secrets.token_urlsafe(24)
    sim.ttwids.add(ttwid)
    ctx = FrameContext(
        room_id=int(room_id), seq_id=1, log_id=secrets.randbits(62), now_ms=int(now * 1000)
    )
    result = response(
        events,
        ctx,
        push_server=f"{sim.ws_base}{PUSH_PATH}",
        route_params={"wrss": route_token(ttwid, room_id), "empty": ""},
        is_first=True,
    )
    headers = (
        ("X-Set-TT-Cookie", f"ttwid={ttwid}; tt_chain_token={secrets.token_hex(8)}"),
        ("X-Room-Id", room_id),
    )
    return Reply(
        200, result.SerializeToString(), headers=headers, content_type="application/protobuf"
    )
