"""The simulator's TikTok gift list: the body of ``GET /webcast/gift/list/`` and of the signing
server's gift route (``/webcast/rooms/{room_id}/gifts``), in TikTok's JSON shape (tiktok.md
§4.3: ``{"status_code": 0, "data": {"gifts": [...], "gifts_info": {...}, "pages": [],
"doodle_templates": []}, "extra": {"log_id", "now"}}``; each gift with ``id``, ``name``,
``diamond_count``, ``type``, ``combo``, ``describe``, ``duration``, ``image``).

:data:`GIFTS` are the gifts the simulator knows: the two of the real 2023 capture with the
values recorded there (Ice Cream Cone 5827 and It's corn 7096, 1 diamond, streakable) and a few
common ones, streakable (type 1) or not (type 2). The personality claims the routes with
:func:`endpoint_of` and answers them with :func:`answer`; ``gifts`` lets a scenario or a test
serve another list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dylived.sim.http import Reply, json_reply


ENDPOINT = "gift_list"
_ROUTES = (re.compile(r"/webcast/gift/list/?"), re.compile(r"/webcast/rooms/\d+/gifts/?"))


@dataclass(frozen=True, slots=True)
class SimGift:
    gift_id: int
    name: str
    diamond_count: int
    gift_type: int  # 1 streakable, 2 not


GIFTS: tuple[SimGift, ...] = (
    SimGift(5655, "Rose", 1, 1),
    SimGift(5827, "Ice Cream Cone", 1, 1),
    SimGift(7096, "It's corn", 1, 1),
    SimGift(5269, "TikTok", 1, 1),
    SimGift(5487, "Finger Heart", 5, 1),
    SimGift(5879, "Doughnut", 30, 1),
    SimGift(5660, "Hand Hearts", 100, 2),
    SimGift(11046, "Galaxy", 1000, 2),
    SimGift(6369, "Lion", 29999, 2),
)


def endpoint_of(path: str) -> str | None:
    """``"gift_list"`` for the gift routes, else None."""
    return ENDPOINT if any(route.fullmatch(path) for route in _ROUTES) else None


def _gift_json(gift: SimGift) -> dict[str, Any]:
    uri = f"webcast-va/{gift.gift_id}"
    return {
        "id": gift.gift_id,
        "name": gift.name,
        "diamond_count": gift.diamond_count,
        "type": gift.gift_type,
        "combo": gift.gift_type == 1,
        "describe": f"sent {gift.name}",
        "duration": 1000,
        "image": {"uri": uri, "url_list": [f"https://p16-webcast.tiktokcdn.com/img/{uri}.webp"]},
        "is_displayed_on_panel": True,
        "is_broadcast_gift": False,
    }


def gift_list_body(now_ms: int, gifts: Sequence[SimGift] = GIFTS) -> dict[str, Any]:
    """The JSON body of a gift list holding ``gifts``."""
    return {
        "data": {
            "gifts": [_gift_json(g) for g in gifts],
            "gifts_info": {"default_loc_pos": 3, "enable_first_recharge_dynamic_effect": False},
            "pages": [],
            "doodle_templates": [],
        },
        "extra": {"log_id": f"{now_ms}0001", "now": now_ms},
        "status_code": 0,
    }


def answer(now_ms: int, gifts: Sequence[SimGift] = GIFTS) -> Reply:
    """The reply to a gift-list request."""
    return json_reply(gift_list_body(now_ms, gifts))
