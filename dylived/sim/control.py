"""``/_sim/…``: drive a simulator running as a subprocess over HTTP (JSON in, JSON out).

GET  /_sim/state                       rooms (live, room_id, stream URLs) and counters
GET  /_sim/observed                    request counts, push connections, events sent
                                       (``bulk_events``: sent from templates, counted only)
POST /_sim/rooms/{web_rid}/live        {"title": "…"}            → {"room_id": "…"}
POST /_sim/rooms/{web_rid}/offline     {"control": true}
POST /_sim/rooms/{web_rid}/push        {"type": "chat", "content": "…"} → {"msg_id": …}
POST /_sim/rooms/{web_rid}/fault       {"kind": "ws_drop", "duration": 5, "count": 2, …}
POST /_sim/login                       {"refused": true}  login cookies expired (false: again ok)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dylived.sim.http import HttpRequest, Reply


if TYPE_CHECKING:
    from dylived.sim.server import Simulator


def _reply(status: int, body: Any) -> Reply:
    return Reply(status, json.dumps(body, ensure_ascii=False).encode())


def state(sim: Simulator) -> dict[str, Any]:
    return {
        "web_base": sim.web_base,
        "ws_base": sim.ws_base,
        "rooms": [
            {
                "web_rid": room.web_rid,
                "platform": room.platform,
                "nickname": room.nickname,
                "sec_uid": room.sec_uid,
                "uid": room.uid,
                "live": room.live,
                "room_id": room.room_id,
                "share_code": room.spec.share_code,
                "profile_code": room.spec.profile_code,
                "push_clients": len(room.sessions),
            }
            for room in sim.rooms.values()
        ],
    }


def observed(sim: Simulator) -> dict[str, Any]:
    seen = sim.observed
    return {
        "request_counts": dict(seen.request_counts()),
        "sent_events": len(seen.sent_events),
        "bulk_events": seen.bulk_events,
        "push_connections": [
            {
                "conn_id": c.conn_id,
                "web_rid": c.web_rid,
                "room_id": c.room_id,
                "opened_at": c.opened_at,
                "closed_at": c.closed_at,
                "close_reason": c.close_reason,
                "heartbeats": len(c.heartbeats),
                "acks": len(c.acks),
                "acks_matched": sum(a.matched for a in c.acks),
                "pongs": len(c.pongs),
                "events": len(c.events),
                "bulk_events": c.bulk_events,
            }
            for c in seen.push_connections
        ],
        "media_connections": len(seen.media_connections),
    }


async def handle_control(sim: Simulator, request: HttpRequest) -> Reply:
    parts = request.path.strip("/").split("/")
    if request.method == "GET" and parts == ["_sim", "state"]:
        return _reply(200, state(sim))
    if request.method == "GET" and parts == ["_sim", "observed"]:
        return _reply(200, observed(sim))
    if request.method == "POST" and parts == ["_sim", "login"]:
        try:
            sim.logins_refused = bool(json.loads(request.body or b"{}")["refused"])
        except (KeyError, TypeError, ValueError) as exc:
            return _reply(400, {"error": f"expected {{'refused': bool}}: {exc}"})
        return _reply(200, {"refused": sim.logins_refused})
    if request.method != "POST" or len(parts) != 4 or parts[1] != "rooms":
        return _reply(404, {"error": "unknown /_sim endpoint"})
    room = sim.rooms.get(parts[2])
    if room is None:
        return _reply(404, {"error": f"no room {parts[2]!r}"})
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        action = parts[3]
        if action == "live":
            return _reply(200, {"room_id": room.go_live(body.get("title"))})
        if action == "offline":
            room.go_offline(control=bool(body.get("control", True)))
            return _reply(200, {"ok": True})
        if action == "push":
            kind = body.pop("type")
            event = room.push(kind, **body)
            return _reply(200, {"msg_id": event.msg_id})
        if action == "fault":
            room.inject(
                body["kind"],
                duration=body.get("duration"),
                count=body.get("count"),
                status=int(body.get("status", 503)),
                retry_after=int(body.get("retry_after", 5)),
            )
            return _reply(200, {"ok": True})
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        return _reply(400, {"error": str(exc)})
    return _reply(404, {"error": f"unknown action {parts[3]!r}"})
