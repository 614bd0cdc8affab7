"""Co-hosting on TikTok: PK battles, their scores and the end of their punishment, link-mic
(co-host) signalling and fan tickets, multi-guest layers → row bodies (``decode.py`` adds the
common head).

Field numbers: shared/research/tiktok.md §4.2 (TikTokLiveProto 0.2.2), checked against the
real payloads of tiktok-events-2023.jsonl (``LinkMicArmies.armies`` is a map anchor id →
scores, wire-equal to a repeated ``{1 key, 2 value}``). The ``message_type`` enums of Link and
LinkLayer are not documented anywhere (tiktok.md §7.6): kept as numbers.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import Row, id_str


BATTLE_ACTIONS = {
    1: "invite",
    2: "reject",
    3: "cancel",
    4: "open",
    5: "finish",
    6: "cut_short",
    7: "accept",
    8: "quit_apply",
    9: "decline_quit",
    10: "decline_off_quit",
    11: "leave_linkmic",
}


def battle(m: pb.LinkMicBattle) -> Row:
    s = m.battle_settings
    return {
        "type": "battle",
        "battle_id": id_str(m.battle_id or s.battle_id),
        "action_code": m.action,
        "action": BATTLE_ACTIONS.get(m.action, "unknown"),
        "channel_id": id_str(s.channel_id),
        "battle_type": s.battle_type,
        "start_time_ms": s.start_time_ms or None,
        "duration_s": s.duration,
        "end_time_ms": s.end_time_ms or None,
        "results": [
            {
                "user_id": id_str(r.user_id or key),
                "result": r.result,
                "score": r.score,
                "diamond_score": r.diamond_score,
            }
            for key, r in sorted(m.battle_result.items())
        ],
    }


def battle_punish_finish(m: pb.LinkMicBattlePunishFinish) -> Row:
    """The end of a battle's punishment phase (the loser's forfeit)."""
    return {
        "type": "battle_punish_finish",
        "battle_id": id_str(m.battle_id),
        "channel_id": id_str(m.channel_id),
        "operator_user_id": id_str(m.op_uid),
        "reason": m.reason,
    }


def battle_score(m: pb.LinkMicArmies) -> Row:
    return {
        "type": "battle_score",
        "battle_id": id_str(m.battle_id),
        "channel_id": id_str(m.channel_id),
        "trigger_reason": m.trigger_reason,  # 1 score update, 2 battle end, 4 keep-alive, ...
        "scores": [
            {"anchor_id": id_str(anchor), "host_score": army.host_score}
            for anchor, army in sorted(m.armies.items())
        ],
        "gift_id": id_str(m.gift_id),
        "gift_count": m.gift_count,
        "repeat_count": m.repeat_count,
        "total_diamond_count": m.total_diamond_count,
    }


def link_mic(m: pb.LinkMicMethod) -> Row:
    return {
        "type": "link_mic",
        "message_type": m.message_type,
        "user_id": id_str(m.user_id),
        "fan_ticket": m.fan_ticket,
        "total_linkmic_fan_ticket": m.total_linkmic_fan_ticket,
        "channel_id": id_str(m.channel_id),
    }


def link_mic_fan_ticket(m: pb.LinkMicFanTicketMethod) -> Row:
    notice = m.fan_ticket_room_notice
    return {
        "type": "link_mic_fan_ticket",
        "fan_tickets": [
            {"user_id": id_str(t.user_id), "fan_ticket": t.fan_ticket}
            for t in notice.user_fan_ticket_list
        ],
        "total_linkmic_fan_ticket": notice.total_linkmic_fan_ticket,
    }


def link_layer(m: pb.LinkLayerMessage) -> Row:
    return {
        "type": "link_layer",
        "message_type": m.message_type,
        "channel_id": id_str(m.channel_id),
        "scene": m.scene,
    }


def link(m: pb.LinkMessage) -> Row:
    return {
        "type": "link",
        "message_type": m.message_type,
        "linker_id": id_str(m.linker_id),
        "scene": m.scene,
    }


CONVERTERS: dict[str, tuple[Any, Callable[[Any], Row]]] = {
    "WebcastLinkMicBattle": (pb.LinkMicBattle, battle),
    "WebcastLinkMicArmies": (pb.LinkMicArmies, battle_score),
    "WebcastLinkMicBattlePunishFinish": (pb.LinkMicBattlePunishFinish, battle_punish_finish),
    "WebcastLinkMicMethod": (pb.LinkMicMethod, link_mic),
    "WebcastLinkMicFanTicketMethod": (pb.LinkMicFanTicketMethod, link_mic_fan_ticket),
    "WebcastLinkLayerMessage": (pb.LinkLayerMessage, link_layer),
    "WebcastLinkMessage": (pb.LinkMessage, link),
}
