"""The TikTok personality: its HTTP routes and what each answers.

Routes (endpoint names in request records): ``tt_user_room`` (``GET /api-live/user/room/``:
without ``aid=1988``, ``app_name=tiktok_web`` and ``device_platform=web_pc`` the real
``params_error`` 19881005; an unknown ``uniqueId`` → ``user_not_found`` 19881007),
``tt_live_page`` (``GET /@<user>/live``: HTML with ``<script id="SIGI_STATE">``) and
``tt_room_info`` (``GET /webcast/room/info/?room_id=…``). The three answer at the real size
and shape (``bulk.py``) unless the scenario says ``status_body = "small"`` (``status.py``'s
bodies: only the fields a client reads). A room in mode "restricted" answers
4003110 (``prompts``, no stream) unless the request carries a ``sessionid`` cookie; mode
"paused" says status 3. Request faults (``http_5xx``, ``http_429``, ``risk_control``,
``waf_page``) apply to all three. The signing server's ``sign_connect`` / ``sign_fetch`` are
``signer.py``'s, the gift list (``gift_list``: ``/webcast/gift/list/`` and the signing server's
``/webcast/rooms/<id>/gifts``) ``gifts.py``'s, the push WebSocket (framing, URL checks,
enter-room rule) ``push.py``'s and the TikTok messages (with TikTok's own event kinds)
``messages.py``'s.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from dylived.sim.framing import Framing
from dylived.sim.http import HTML, Answer, HttpRequest, Reply, json_reply
from dylived.sim.script import KindMaker
from dylived.sim.tiktok import gifts, push, signer
from dylived.sim.tiktok.bulk import (
    real_live_page_bytes,
    real_room_info_bytes,
    real_user_room_bytes,
)
from dylived.sim.tiktok.messages import KINDS
from dylived.sim.tiktok.status import (
    params_error_body,
    room_info_body,
    sigi_state,
    user_room_body,
)
from dylived.sim.view import RoomView


if TYPE_CHECKING:
    from dylived.sim.room import SimRoom
    from dylived.sim.server import Simulator


LIVE_PAGE = re.compile(r"/@(?P<user>[0-9A-Za-z_.]{1,64})/live/?")
REQUIRED_PARAMS = {"aid": "1988", "app_name": "tiktok_web", "device_platform": "web_pc"}


def live_page(state: dict[str, Any]) -> bytes:
    sigi = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>TikTok LIVE</title>'
        f'</head><body><div id="app"></div><script id="SIGI_STATE" type="application/json">{sigi}'
        '</script><script>window["clusterRegion"]="useast5"</script></body></html>'
    ).encode()


class TikTokPersonality:
    """TikTok's web status API and live page (see the module docstring)."""

    platform = "tiktok"
    default = False
    push_path = push.PUSH_PATH
    opening_events: tuple[str, ...] = ("viewer_count",)
    event_kinds: dict[str, KindMaker] = KINDS

    @property
    def framing(self) -> Framing:
        return push.FRAMING

    def endpoint_of(self, path: str) -> str | None:
        if (name := gifts.endpoint_of(path)) is not None:
            return name
        signing = signer.endpoint_of(path)
        if signing is not None:
            return signing
        if path.rstrip("/") == "/api-live/user/room":
            return "tt_user_room"
        if path.rstrip("/") == "/webcast/room/info":
            return "tt_room_info"
        return "tt_live_page" if LIVE_PAGE.fullmatch(path) else None

    async def answer(self, endpoint: str, request: HttpRequest, sim: Simulator) -> Answer:
        if endpoint == gifts.ENDPOINT:
            return gifts.answer(time.time_ns() // 1_000_000)
        if endpoint.startswith("sign_"):
            return signer.answer(endpoint, request, sim, self.platform)
        logged_in = bool(request.cookies.get("sessionid"))
        real = sim.scenario.status_body == "real"
        if endpoint == "tt_room_info":
            room_id = request.query.get("room_id", "")
            room = sim.room_by_id(room_id, platform=self.platform) if room_id else None
            faulted = sim.request_fault(room)
            view = room.view() if room else None
            if faulted is not None:
                return faulted
            if real:
                return Reply(200, real_room_info_bytes(view, logged_in=logged_in))
            return json_reply(room_info_body(view, logged_in=logged_in))
        if endpoint == "tt_live_page":
            match = LIVE_PAGE.fullmatch(request.path)
            room = sim.room_of(self.platform, match.group("user") if match else "")
            faulted = sim.request_fault(room)
            view = room.view() if room else None
            if faulted is not None:
                return faulted
            if real:
                page = real_live_page_bytes(view, logged_in=logged_in)
            else:
                page = live_page(sigi_state(view, logged_in=logged_in))
            return Reply(200, page, content_type=HTML)
        room = sim.room_of(self.platform, request.query.get("uniqueId", ""))
        faulted = sim.request_fault(room)
        if faulted is not None:
            return faulted
        if any(request.query.get(k) != v for k, v in REQUIRED_PARAMS.items()):
            return json_reply(params_error_body())
        view = room.view() if room else None
        if real:
            return Reply(200, real_user_room_bytes(view, logged_in=logged_in))
        return json_reply(user_room_body(view, logged_in=logged_in))

    def render_status(self, view: RoomView | None) -> dict[str, Any]:
        return user_room_body(view, logged_in=False)

    def accept_push(self, request: HttpRequest, sim: Simulator) -> SimRoom | Reply:
        return push.accept_push(request, sim, self.platform)

    def push_url(self, ws_base: str, room_id: str, **params: str) -> str:
        return push.push_url(ws_base, room_id, **params)

    def daemon_config(self, web_base: str, ws_base: str) -> str:
        return (
            f'[tiktok]\nweb_base = "{web_base}"\nwebcast_base = "{web_base}"\n'
            f'sign_server = "{web_base}"\n'
        )
