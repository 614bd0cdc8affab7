"""The TikTok personality of the simulator: TikTok's web status API and live page on 127.0.0.1.

Its endpoints (names are the ``endpoint`` of request records): ``tt_user_room``
``GET /api-live/user/room/?aid=1988&uniqueId=…`` (the web parameters checked: without them
``params_error``), ``tt_live_page`` ``GET /@<user>/live`` (``SIGI_STATE``) and ``tt_room_info``
``GET /webcast/room/info/?room_id=…``, each with the real JSON shapes (``status.py``) and, by
default, the real size (``bulk.py``; ``status_body = "small"`` serves ``status.py``'s). A room
is TikTok's when its scenario entry says ``platform = "tiktok"``; its ``web_rid`` is the
``uniqueId``. ``room.modes`` adds "paused" (status 3, media going on), "restricted" (4003110
without a ``sessionid`` cookie) and "user_not_found" (19881007 while it exists); the
``waf_page`` fault serves a captcha page instead of JSON. Media (FLV and HLS) is the neutral
core's. ``routes.py`` holds ``TikTokPersonality``; the core finds it through ``PERSONALITY``
(``dylived/sim/personality.py``).
"""

from __future__ import annotations

from dylived.sim.tiktok.routes import TikTokPersonality


PERSONALITY = TikTokPersonality()

__all__ = ["PERSONALITY", "TikTokPersonality"]
