"""The platform simulator: faithful live platforms on 127.0.0.1 for tests, benchmarks and the demo.

One process, **one TCP port** on 127.0.0.1 (port 0 allowed), serving everything the daemon
talks to. It is a **platform-neutral core** and **one personality per platform**:

- The core: the HTTP/1.1 server (h11 over anyio, ``sim/http.py``; media bodies stream in real
  time) and its router (``sim/server.py``); the media server (``sim/streams.py``,
  ``sim/media.py``: FLV and live HLS of ffmpeg-encoded testsrc); the push WebSocket (a
  WebSocket upgrade on the same port goes to websockets' sans-I/O ``ServerProtocol``,
  ``sim/push.py``) with the ByteDance PushFrame framing, acks and heartbeats
  (``sim/framing.py``, parameterised by the platform's schema); rooms (``sim/room.py``),
  scenarios and event scripts (``sim/scenario.py``, ``sim/script.py``), and the observation and
  control endpoints (``sim/observe.py``, ``/_sim/…`` in ``sim/control.py``).
- A personality (``sim/personality.py``, the ``Personality`` protocol) is what one platform's
  servers look like: the HTTP routes it answers, how a room's status JSON is rendered, its push
  URL and the parameters it demands, and how events become its protobuf messages. Each
  subpackage of ``dylived.sim`` with a ``PERSONALITY`` registers one (e.g. the Douyin
  personality in ``sim/douyin/``, which documents its routes; a TikTok one goes beside it);
  ``Simulator(personalities=[…])`` adds more. A scenario room names its ``platform``; a room
  that names none is the default personality's (the Douyin one), so older scenarios still work.

So ``web_base`` and ``ws_base`` share host and port; a daemon config points the platform's
section at them (for Douyin: ``web_base = sim.web_base``, ``ws_hosts = [sim.ws_base]``, push path
``/webcast/im/push/v2/``). Frames are encoded with generated schemas only
(``dylived.platforms.<name>._pb``), never with ``dylived.wire`` logic.

Quick start (tests)::

    from dylived.sim import Simulator, Scenario, RoomSpec, load_scenario

    scenario = Scenario(rooms=(RoomSpec("200000000001", nickname="测试主播", rates={"chat": 5}),))
    async with Simulator.running(scenario) as sim:      # bound and ready on return
        room = sim.room("200000000001")
        room_id = room.go_live()                           # or let the schedule do it
        ...  # point the client at sim.web_base / sim.ws_base
        event = room.push("chat", content="你好")          # one event to every push client now
        room.inject("ws_drop")                             # a fault now (see FAULT_KINDS)
        await sim.wait_until(lambda: sim.observed.acks())
        room.go_offline()                                  # ControlMessage action 3, then close

Or inside your own task group: ``sim = Simulator(scenario); await tg.start(sim.serve)``. As a
subprocess: ``dylived-sim --scenario FILE --listen 127.0.0.1:0`` prints one JSON line first,
``{"web_base": …, "ws_base": …, "port": …, "rooms": [...]}``, then serves until SIGTERM/SIGINT;
drive it over HTTP with ``/_sim/…`` (``sim/control.py``).

HTTP endpoints (names are the ``endpoint`` of request records and keys of request counts): the
core's are ``flv`` / ``hls_playlist`` / ``hls_segment`` ``/thirdgame/stream-<id><suffix>.flv|
.m3u8`` and ``…/<seq>.ts`` (real H.264/AAC, six qualities: origin 1280x720, uhd 1024x576, hd
960x540, sd 854x480, ld 640x360, md 426x240; ``resolution_change`` swaps to portrait; delivered
in real time; URLs carry ``expire=<hex unix time>`` and ``sign``: expired, forged, revoked
(``url_expire``) or unknown → 403, an ended stream → 404), ``ws_push`` (any personality's push
path; on open one frame of the personality's opening events, then the room's scripted events at
its rates, batched per 50 ms tick; every msg frame sets ``need_ack``; acks (``payload_type``
"ack", log_id echoed) and heartbeats (``payload_type`` "hb"; the exact minimal frame counted)
are recorded; no heartbeat for ``heartbeat_timeout`` (30 s) → dropped; pings every
``ping_interval`` (10 s), pong later than ``ping_timeout`` (20 s) → dropped; stream end → a
ControlMessage (action 3) frame, then a close frame (1000); a push URL for a room_id that is no
longer live is accepted and closed at once) and ``sim_control`` ``/_sim/…``. Every other
endpoint is a personality's (see its package; ``not_found`` when none claims the path).

Runtime control — ``SimRoom`` (``sim.room(web_rid)``; ``sim.add_room(spec)`` adds one):
``go_live(title=None) -> room_id``, ``go_offline(control=True)``, ``push(type, **fields) ->
ScriptedEvent`` (fields override the generated ones, e.g. ``content=``, ``user=SimUser(...)``),
``await flood(count, batch=100)`` (as fast as clients take them), ``inject(kind, duration=None,
count=None, status=503, retry_after=5)``; state: ``live``, ``room_id``, ``stream_id``, ``web_rid``,
``sec_uid``, ``uid``, ``nickname``, ``sessions``. Calling go_live/go_offline takes the room off its
schedule. Media seams: ``stream_url_override`` (every stream URL the status gives, e.g.
``file:///etc/passwd``), ``hls_segment_url`` (what the live playlist names, ``{seq}`` filled in),
``media_metadata`` (onMetaData strings, e.g. a ``title``, sent to each FLV viewer first).
``sim.ws_url(room_id, **params)`` builds a push URL with the parameters the room's platform
demands; ``room.platform``, ``sim.rooms_of(platform)`` and ``sim.room_of(platform, web_rid)``
tell which rooms a personality serves. ``room.modes`` holds platform states a personality
renders (the TikTok personality's "paused", "restricted"); the media goes on whatever they say.

Faults (``scenario.FAULT_KINDS``; windows in scenario seconds): ``ws_drop`` (abrupt TCP close),
``ws_reject`` (upgrade answered HTTP 200 + Handshake-Msg), ``http_5xx`` (status, default 503),
``http_429`` (Retry-After), ``risk_control`` (200, empty body), ``waf_page`` (200, a WAF/captcha
HTML page) — these five by ``count`` (default
1) or ``duration`` on the personality's status endpoints (e.g. the Douyin personality's
web_enter/reflow; ws_reject on the push upgrade); ``stream_stall`` (media
connections open, no bytes, default 5 s), ``stream_cut`` (media connections dropped),
``url_expire`` (old URLs → 403, media dropped; a fresh status answer gives new ones),
``resolution_change`` (from the next 4 s clip boundary, plus a stream_adaptation event),
``stream_end_without_control`` (offline, push connections dropped without a control frame).

Read back — ``sim.observed`` (``sim/observe.py``): ``requests`` (HttpRequestRecord: endpoint,
status, query, headers, cookies), ``request_counts()``, ``requests_to(endpoint)``,
``push_connections`` (PushConnectionRecord: heartbeats, exact_heartbeats, acks (AckRecord with
``matched``), pings_sent, pongs, frames_sent (raw bytes, in order), events, close_reason such as
``client_closed``/``stream_ended``/``ws_drop``/``heartbeat_timeout``/``ping_timeout``),
``sent_events`` (SentEvent: type, method, msg_id, sent_at, log_id, conn_id),
``media_connections`` (frame sizes served), ``rejected_upgrades``. ``await sim.wait_until(pred,
timeout)`` polls a condition.

Timing: ``time_scale`` divides scenario times (schedule, fault ``at``/``duration``); event rates,
keep-alive timeouts and media are wall time. Media clips are encoded with ffmpeg on first use and
cached in ``$DYLIVED_SIM_CACHE`` (default ``$TMPDIR/dylived-sim-media-<uid>``).
"""

from __future__ import annotations

from dylived.sim.media import MediaLibrary
from dylived.sim.observe import (
    AckRecord,
    HttpRequestRecord,
    MediaConnectionRecord,
    Observations,
    PushConnectionRecord,
    SentEvent,
)
from dylived.sim.personality import Personality, UnknownPlatform, registered
from dylived.sim.room import SimRoom
from dylived.sim.scenario import (
    FAULT_KINDS,
    FaultSpec,
    RoomSpec,
    Scenario,
    ScheduleStep,
    load_scenario,
    parse_scenario,
)
from dylived.sim.script import METHODS, ScriptedEvent, SimUser
from dylived.sim.server import Simulator, endpoint_of
from dylived.sim.view import QUALITY_LADDER, RoomView


__all__ = [
    "FAULT_KINDS",
    "METHODS",
    "QUALITY_LADDER",
    "AckRecord",
    "FaultSpec",
    "HttpRequestRecord",
    "MediaConnectionRecord",
    "MediaLibrary",
    "Observations",
    "Personality",
    "PushConnectionRecord",
    "RoomSpec",
    "RoomView",
    "Scenario",
    "ScheduleStep",
    "ScriptedEvent",
    "SentEvent",
    "SimRoom",
    "SimUser",
    "Simulator",
    "UnknownPlatform",
    "endpoint_of",
    "load_scenario",
    "parse_scenario",
    "registered",
]
