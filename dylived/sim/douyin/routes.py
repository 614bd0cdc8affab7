"""The Douyin personality: its HTTP routes, cookie and signature rules, and push URL checks.

Routes (endpoint names in request records): ``home`` (``GET /`` sets a ``ttwid`` cookie),
``web_enter`` (without a ttwid this simulator issued: HTTP 200, empty body, the real
risk-control answer; ``strict_ttwid = false`` accepts any; bodies of the real ~600 KB size
from sim/douyin/bulk.py unless the scenario says ``status_body = "small"``), ``reflow``
(``sec_user_id``; says status 2 with ``finish_time`` for 60 scenario-seconds after an end, the
real quirk), ``share`` (a v.douyin.com short code → 302 to ``reflow_page`` or
``profile_page``) and ``profile_page`` (HTML with RENDER_DATA). The push upgrade at
``/webcast/im/push/v2/`` needs ``room_id`` and ``signature`` (400 without; unknown room → 404;
a ``ws_reject`` fault or, with ``check_signature``, a bad signature → HTTP 200 +
``Handshake-Msg``). Request faults (``http_5xx``, ``http_429``, ``risk_control``) apply to
web_enter and reflow. A request with a login cookie (``sessionid``…) is answered
``login_lead.is_login`` true, false once ``sim.logins_refused`` (an expired cookie: the status
is still given, as to a logged-out viewer).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from dylived.sim.douyin.bulk import real_web_enter_bytes
from dylived.sim.douyin.messages import FRAMING
from dylived.sim.douyin.signature import signature_matches
from dylived.sim.douyin.status import reflow_body, web_enter_body
from dylived.sim.framing import Framing
from dylived.sim.http import HTML, Answer, HttpRequest, Reply, json_reply
from dylived.sim.view import RoomView


if TYPE_CHECKING:
    from dylived.sim.room import SimRoom
    from dylived.sim.server import Simulator


PUSH_PATH = "/webcast/im/push/v2/"
LOGIN_COOKIES = ("sessionid", "sessionid_ss", "sid_tt", "sid_guard")  # douyin.com's sign-in
SHARE_PATH = re.compile(r"/[^/@]+/?")  # a short link's code, e.g. /iRNBho6u/ (not /@handle)
REFLOW_STALE_SECONDS = 60.0  # reflow keeps saying status 2 this long after an end (real quirk)
PUSH_QUERY = {
    "app_name": "douyin_web",
    "version_code": "180800",
    "webcast_sdk_version": "1.0.14-beta.0",
    "update_version_code": "1.0.14-beta.0",
    "compress": "gzip",
    "device_platform": "web",
    "host": "https://live.douyin.com",
    "aid": "6383",
    "live_id": "1",
    "did_rule": "3",
    "endpoint": "live_pc",
    "support_wrds": "1",
    "user_unique_id": "7319483754668557238",
    "im_path": "/webcast/im/fetch/",
    "identity": "audience",
    "need_persist_msg_count": "15",
}


class DouyinPersonality:
    """Douyin's web API, share links and push WebSocket (see the module docstring)."""

    platform = "douyin"
    default = True  # the first platform: scenarios without `platform` are Douyin's
    push_path = PUSH_PATH
    opening_events = ("room_stats", "viewer_count")

    @property
    def framing(self) -> Framing:
        return FRAMING

    def endpoint_of(self, path: str) -> str | None:
        if path == "/":
            return "home"
        if path.startswith("/webcast/room/web/enter"):
            return "web_enter"
        if path.startswith("/webcast/room/reflow/info"):
            return "reflow"
        if path.startswith("/douyin/webcast/reflow/"):
            return "reflow_page"
        if path.startswith(("/share/user/", "/user/")):
            return "profile_page"
        return "share" if SHARE_PATH.fullmatch(path) else None

    async def answer(self, endpoint: str, request: HttpRequest, sim: Simulator) -> Answer:
        if endpoint == "home":
            return self._home(sim)
        if endpoint == "web_enter":
            return self._web_enter(request, sim)
        if endpoint == "reflow":
            return self._reflow(request, sim)
        if endpoint == "reflow_page":
            return Reply(200, b"<html><body>reflow</body></html>", content_type=HTML)
        if endpoint == "profile_page":
            return self._profile_page(request, sim)
        return self._share(request, sim)

    def render_status(self, view: RoomView | None, *, logged_in: bool = False) -> dict[str, Any]:
        return web_enter_body(view, logged_in=logged_in)

    def push_url(self, ws_base: str, room_id: str, **params: str) -> str:
        query = {
            **PUSH_QUERY,
            "room_id": room_id,
            "heartbeatDuration": "0",
            "signature": "00000000deadbeef",
            **params,
        }
        return f"{ws_base}{PUSH_PATH}?{urllib.parse.urlencode(query)}"

    def daemon_config(self, web_base: str, ws_base: str) -> str:
        return (
            f'[douyin]\nweb_base = "{web_base}"\napp_base = "{web_base}"\n'
            f'share_base = "{web_base}"\nws_hosts = ["{ws_base}"]\n'
        )

    def accept_push(self, request: HttpRequest, sim: Simulator) -> SimRoom | Reply:
        room_id = request.query.get("room_id", "")
        signature = request.query.get("signature", "")
        if not room_id or not signature:
            return Reply(400, b'{"status_code":10011,"message":"params error"}')
        room = sim.room_by_id(room_id, platform=self.platform)
        if room is None:
            return Reply(404, b'{"status_code":4001038}')
        fault = room.take_fault(("ws_reject",))
        bad_signature = sim.scenario.check_signature and not signature_matches(
            signature, request.query
        )
        if fault is None and not bad_signature:
            return room
        message = "signature verify failed" if bad_signature else "reject by risk control"
        sim.record_rejected_upgrade(request)
        return Reply(200, b"", headers=(("Handshake-Msg", message), ("Handshake-Status", "403")))

    # ------------------------------------------------------------ routes

    def _home(self, sim: Simulator) -> Reply:
        ttwid = "1%7C" + secrets.token_urlsafe(32) + "%7C" + str(int(time.time()))
        sim.ttwids.add(ttwid)
        cookie = f"ttwid={ttwid}; Path=/; Max-Age=31536000; HttpOnly"
        body = (
            "<!DOCTYPE html><html><head><title>抖音直播</title></head><body></body></html>".encode()
        )
        return Reply(200, body, headers=(("Set-Cookie", cookie),), content_type=HTML)

    def _web_enter(self, request: HttpRequest, sim: Simulator) -> Reply:
        room = sim.room_of(self.platform, request.query.get("web_rid", ""))
        faulted = sim.request_fault(room)
        if faulted is not None:
            return faulted
        ttwid = request.cookies.get("ttwid", "")
        if not ttwid or (sim.scenario.strict_ttwid and ttwid not in sim.ttwids):
            return Reply(200, b"")  # the real service: HTTP 200, empty body
        login = any(request.cookies.get(name) for name in LOGIN_COOKIES)
        logged_in = login and not sim.logins_refused
        view = room.view() if room is not None else None
        if sim.scenario.status_body == "real":
            return Reply(200, real_web_enter_bytes(view, logged_in=logged_in))
        return json_reply(self.render_status(view, logged_in=logged_in))

    def _by_sec_uid(self, sim: Simulator, sec_uid: str) -> SimRoom | None:
        rooms = sim.rooms_of(self.platform).values()
        return next((r for r in rooms if r.sec_uid == sec_uid), None)

    def _reflow(self, request: HttpRequest, sim: Simulator) -> Reply:
        room = self._by_sec_uid(sim, request.query.get("sec_user_id", ""))
        faulted = sim.request_fault(room)
        if faulted is not None:
            return faulted
        if room is None or not room.room_id:
            return json_reply(reflow_body(None))
        stale = (
            not room.live
            and room.finished_at > 0
            and time.time() - room.finished_at < sim.scenario.wall(REFLOW_STALE_SECONDS)
        )
        return json_reply(reflow_body(room.view(), stale_replay=stale))

    def _profile_page(self, request: HttpRequest, sim: Simulator) -> Reply:
        room = self._by_sec_uid(sim, request.path.rstrip("/").rsplit("/", 1)[-1])
        if room is None:
            return Reply(404, b"", content_type=HTML)
        data: dict[str, dict[str, Any]] = {
            "user": {
                "uid": str(room.uid),
                "secUid": room.sec_uid,
                "nickname": room.nickname,
                "unique_id": room.web_rid,
            }
        }
        if room.live:
            data["user"]["web_rid"] = room.web_rid
            data["user"]["roomData"] = {"room_id": room.room_id, "status": 2}
        render = urllib.parse.quote(json.dumps(data, ensure_ascii=False))
        page = (
            f'<html><body><script id="RENDER_DATA" type="application/json">{render}</script>'
            "</body></html>"
        )
        return Reply(200, page.encode(), content_type=HTML)

    def _share(self, request: HttpRequest, sim: Simulator) -> Reply:
        code = request.path.strip("/")
        for room in sim.rooms_of(self.platform).values():
            if code and code == room.spec.share_code:
                query = {"u_code": "0", "did": "0", "sec_user_id": room.sec_uid, "share_type": "0"}
                return _redirect(
                    f"{sim.web_base}/douyin/webcast/reflow/{room.room_id or '0'}?"
                    + urllib.parse.urlencode(query)
                )
            if code and code == room.spec.profile_code:
                return _redirect(
                    f"{sim.web_base}/share/user/{room.sec_uid}?"
                    + urllib.parse.urlencode({"sec_uid": room.sec_uid})
                )
        return Reply(404, b'{"status_code":404}')


def _redirect(location: str) -> Reply:
    return Reply(302, b"", headers=(("Location", location),), content_type="text/html")
