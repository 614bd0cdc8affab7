"""The Douyin personality of the simulator: a faithful Douyin web API and push on 127.0.0.1.

Its endpoints (names are the ``endpoint`` of request records):

- ``home`` ``GET /``: sets a ``ttwid`` cookie. ``web_enter`` ``GET /webcast/room/web/enter/
  ?web_rid=…``: without a ttwid this simulator issued → HTTP 200 with an **empty body** (the real
  risk-control answer; ``strict_ttwid = false`` accepts any). Live → ``data.data[0].status`` 2,
  ``data.room_status`` 0, full ``stream_url`` (see ``status.py``); ended → status 4,
  room_status 2, no ``stream_url`` (``ended_style = "prompts"``: ``data.prompts`` and no
  ``data.user``); unknown web_rid → ``data.data`` empty. ``a_bogus``/``msToken`` are not checked.
- ``reflow`` ``GET /webcast/room/reflow/info/?sec_user_id=…`` → ``data.room`` (status 2/4, owner
  with web_rid); unknown → ``status_code`` 10011. For 60 scenario-seconds after an end it still
  says status 2 with ``finish_time`` > 0 and an ``rtm_expr_tag=reflow_room_info`` URL (the real
  quirk).
- ``share`` ``GET /<code>/`` (a v.douyin.com short code from the room's ``share_code`` /
  ``profile_code``) → 302 to ``/douyin/webcast/reflow/<room_id>?sec_user_id=…`` (``reflow_page``)
  or ``/share/user/<sec_uid>?sec_uid=…`` (``profile_page``: HTML with RENDER_DATA, ``web_rid``
  only while live).
- ``ws_push`` ``/webcast/im/push/v2/?room_id=…&signature=…``: both required (400 otherwise;
  unknown room_id → 404; ``check_signature = true`` verifies the signature against its stub and
  rejects like ``ws_reject``: HTTP 200 + ``Handshake-Msg``). On open: one frame with room_stats and
  viewer_count; heartbeats are exactly ``3a 02 68 62``. PushFrame service 8888, method 8.

``routes.py`` (``DouyinPersonality``: home/ttwid, web/enter, reflow, share links, profile page,
the push URL's parameters and refusals), ``status.py`` (the web/enter and reflow JSON),
``signature.py`` (checking a push URL's ``signature`` against its stub) and ``messages.py``
(events → Douyin's protobuf messages, and its PushFrame schema). The core finds it through
``PERSONALITY`` (see ``dylived/sim/personality.py``).
"""

from __future__ import annotations

from dylived.sim.douyin.routes import DouyinPersonality


PERSONALITY = DouyinPersonality()

__all__ = ["PERSONALITY", "DouyinPersonality"]
