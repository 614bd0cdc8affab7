"""The TikTok personality: its HTTP routes and what each answers.

Routes (endpoint names in request records): ``tt_user_room`` (``GET /api-live/user/room/``:
without ``aid=1988``, ``app_name=tiktok_web`` and ``device_platform=web_pc`` the real
``params_error`` 19881005; an unknown ``uniqueId`` → ``user_not_found`` 19881007),
``tt_live_page`` (``GET /@<user>/live``: HTML with ``<script id="SIGI_STATE">``) and
``tt_room_info`` (``GET /webcast/room/info/?room_id=…``). A room in mode "restricted" answers
4003110 (``prompts``, no stream) unless the request carries a ``sessionid`` cookie; mode
"paused" says status 3. Request faults (``http_5xx``, ``http_429``, ``risk_control``,
``waf_page``) apply to all three. The push WebSocket is not simulated here yet: its upgrade is
refused with 404 (the event half of issue 13 adds it), and ``FRAMING`` encodes only the
ControlMessage.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import TYPE_CHECKING, Any

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.sim.framing import FrameSchema, Framing
from dylived.sim.http import HTML, Answer, HttpRequest, Reply, json_reply
from dylived.sim.script import ScriptedEvent
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


PUSH_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
LIVE_PAGE = re.compile(r"/@(?P<user>[0-9A-Za-z_.]{1,64})/live/?")
REQUIRED_PARAMS = {"aid": "1988", "app_name": "tiktok_web", "device_platform": "web_pc"}


def _encode_event(event: ScriptedEvent) -> bytes:
    if event.type != "control":
        raise ValueError(f"the TikTok personality does not encode {event.type} events yet")
    common = pb.Common(method="WebcastControlMessage", msg_id=event.msg_id, room_id=event.room_id)
    return bytes(pb.ControlMessage(common=common, action=3).SerializeToString())


FRAMING = Framing(
    FrameSchema(
        push_frame=pb.PushFrame,
        headers=pb.PushHeader,
        response=pb.Response,
        message=pb.Message,
        service=5,
        method=8,
    ),
    _encode_event,
)


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
    push_path = PUSH_PATH
    opening_events: tuple[str, ...] = ()

    @property
    def framing(self) -> Framing:
        return FRAMING

    def endpoint_of(self, path: str) -> str | None:
        if path.rstrip("/") == "/api-live/user/room":
            return "tt_user_room"
        if path.rstrip("/") == "/webcast/room/info":
            return "tt_room_info"
        return "tt_live_page" if LIVE_PAGE.fullmatch(path) else None

    async def answer(self, endpoint: str, request: HttpRequest, sim: Simulator) -> Answer:
        logged_in = bool(request.cookies.get("sessionid"))
        if endpoint == "tt_room_info":
            room_id = request.query.get("room_id", "")
            room = sim.room_by_id(room_id, platform=self.platform) if room_id else None
            return sim.request_fault(room) or json_reply(
                room_info_body(room.view() if room else None, logged_in=logged_in)
            )
        if endpoint == "tt_live_page":
            match = LIVE_PAGE.fullmatch(request.path)
            room = sim.room_of(self.platform, match.group("user") if match else "")
            faulted = sim.request_fault(room)
            view = room.view() if room else None
            return faulted or Reply(
                200, live_page(sigi_state(view, logged_in=logged_in)), content_type=HTML
            )
        room = sim.room_of(self.platform, request.query.get("uniqueId", ""))
        faulted = sim.request_fault(room)
        if faulted is not None:
            return faulted
        if any(request.query.get(k) != v for k, v in REQUIRED_PARAMS.items()):
            return json_reply(params_error_body())
        return json_reply(user_room_body(room.view() if room else None, logged_in=logged_in))

    def render_status(self, view: RoomView | None) -> dict[str, Any]:
        return user_room_body(view, logged_in=False)

    def accept_push(self, request: HttpRequest, sim: Simulator) -> SimRoom | Reply:
        return Reply(404, b'{"status_code":404,"message":"the TikTok push is not simulated"}')

    def push_url(self, ws_base: str, room_id: str, **params: str) -> str:
        query = {"room_id": room_id, "aid": "1988", **params}
        return f"{ws_base}{PUSH_PATH}?{urllib.parse.urlencode(query)}"

    def daemon_config(self, web_base: str, ws_base: str) -> str:
        return f'[tiktok]\nweb_base = "{web_base}"\nwebcast_base = "{web_base}"\n'
