"""What viewers do: TikTok chat, gifts, likes, joins, subscriptions, follows, shares, emotes,
questions, treasure chests, anonymous joins, and the moderator's deletions → row bodies.

Each converter takes one parsed message of proto/tiktok.proto and returns the row's own fields
with its ``type``; ``decode.py`` adds the common head. Field numbers and their meaning:
shared/research/tiktok.md §4.2-4.3 (TikTokLiveProto 0.2.2, checked against the real payloads of
tiktok-events-2023.jsonl).

Gift streaks: a gift of ``type`` 1 is streakable; TikTok sends one GiftMessage per tap with a
growing ``repeat_count`` and ``repeat_end`` 0, then one with ``repeat_end`` 1 and the full count.
Every message becomes a row here, with ``streak_final`` true exactly on the row that counts (a
non-streakable gift, or ``repeat_end`` 1); ``streaks.GiftStreaks`` keeps only those.

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.common import Row, id_str, ids, text_or_none, user_of


STREAKABLE_GIFT_TYPE = 1
MEMBER_ACTION_SUBSCRIBED = 3
SOCIAL_ACTION_FOLLOW = 1
SOCIAL_ACTION_SHARE = 3


def chat(m: pb.ChatMessage) -> Row:
    return {
        "type": "chat",
        "user": user_of(m),
        "content": m.content,
        "content_language": text_or_none(m.content_language),
    }


def gift(m: pb.GiftMessage) -> Row:
    streakable = m.gift.type == STREAKABLE_GIFT_TYPE
    final = not streakable or m.repeat_end == 1
    recipient = m.to_user.nickname if m.HasField("to_user") else m.to_member_nickname
    return {
        "type": "gift",
        "user": user_of(m),
        "gift_id": id_str(m.gift_id or m.gift.id),
        "gift_name": m.gift.name,
        "gift_diamond_count": m.gift.diamond_count,
        "gift_describe": m.gift.describe,
        "gift_type": m.gift.type,
        "streakable": streakable,
        "combo_count": m.combo_count,
        "repeat_count": m.repeat_count,
        "group_count": m.group_count,
        "group_id": id_str(m.group_id),
        "recipient_nickname": recipient or None,
        "repeat_end": m.repeat_end,
        "streak_final": final,
        # TikTokLive's GiftEvent.value rule: only a finished streak has a value.
        "diamond_total": m.repeat_count * m.gift.diamond_count if final else None,
    }


def like(m: pb.LikeMessage) -> Row:
    return {"type": "like", "user": user_of(m), "count": m.count, "total": m.total}


def member(m: pb.MemberMessage) -> Row:
    """A join; member action 3 is a subscription, its own row type (TikTokLiveJava's rule)."""
    subscribed = m.action == MEMBER_ACTION_SUBSCRIBED
    return {
        "type": "subscribe" if subscribed else "member",
        "user": user_of(m),
        "member_count": m.member_count,
        "enter_type": m.enter_type,
        "action": m.action,
        **({"source": "member", "sub_month": None} if subscribed else {}),
    }


def sub_notify(m: pb.SubNotifyMessage) -> Row:
    return {
        "type": "subscribe",
        "user": user_of(m),
        "source": "sub_notify",
        "sub_month": m.sub_month,
        "subscribe_type": m.subscribe_type,
        "message_type": m.message_type,
    }


def social_action(action: int, display_key: str) -> str:
    """``follow`` / ``share`` / ``other``: the display key decides as in TikTokLive and
    TikTok-Live-Connector; the action code (1 follow, 3 share) when the key says neither."""
    if "follow" in display_key:
        return "follow"
    if "share" in display_key:
        return "share"
    return {SOCIAL_ACTION_FOLLOW: "follow", SOCIAL_ACTION_SHARE: "share"}.get(action, "other")


def social(m: pb.SocialMessage) -> Row:
    return {
        "type": "social",
        "user": user_of(m),
        "action": social_action(m.action, m.common.display_text.key),
        "action_code": m.action,
        "share_type": m.share_type,
        "share_target": text_or_none(m.share_target),
        "follow_count": m.follow_count,
        "share_count": m.share_count,
    }


def emote_chat(m: pb.EmoteChatMessage) -> Row:
    return {
        "type": "emote_chat",
        "user": user_of(m),
        "emote_ids": [e.emote_id for e in m.emote_list if e.emote_id],
    }


def question(m: pb.QuestionNewMessage) -> Row:
    q = m.details
    return {
        "type": "question",
        "user": user_of(q),
        "question_id": id_str(q.question_id),
        "content": q.content,
        "answer_status": q.answer_status,
    }


def envelope(m: pb.EnvelopeMessage) -> Row:
    info = m.envelope_info
    return {
        "type": "envelope",
        "envelope_id": info.envelope_id or None,
        "business_type": info.business_type,
        "sender_nickname": text_or_none(info.send_user_name),
        "diamond_count": info.diamond_count,
        "people_count": info.people_count,
        "unpack_at_s": info.unpack_at or None,
        "display": m.display,  # 1 shown, 2 hidden
    }


def unauthorized_member(m: pb.UnauthorizedMemberMessage) -> Row:
    return {
        "type": "unauthorized_member",
        "action": m.action,
        "nickname": m.nick_name,
        "nickname_prefix_key": text_or_none(m.nick_name_prefix.key),
        "enter_text_key": text_or_none(m.enter_text.key),
    }


def im_delete(m: pb.ImDeleteMessage) -> Row:
    """Which chat rows a moderator deleted; the store marks them, it deletes nothing."""
    return {
        "type": "im_delete",
        "delete_msg_ids": ids(m.delete_msg_ids),
        "delete_user_ids": ids(m.delete_user_ids),
    }


CONVERTERS: dict[str, tuple[Any, Callable[[Any], Row]]] = {
    "WebcastChatMessage": (pb.ChatMessage, chat),
    "WebcastGiftMessage": (pb.GiftMessage, gift),
    "WebcastLikeMessage": (pb.LikeMessage, like),
    "WebcastMemberMessage": (pb.MemberMessage, member),
    "WebcastSubNotifyMessage": (pb.SubNotifyMessage, sub_notify),
    "WebcastSocialMessage": (pb.SocialMessage, social),
    "WebcastEmoteChatMessage": (pb.EmoteChatMessage, emote_chat),
    "WebcastQuestionNewMessage": (pb.QuestionNewMessage, question),
    "WebcastEnvelopeMessage": (pb.EnvelopeMessage, envelope),
    "WebcastUnauthorizedMemberMessage": (pb.UnauthorizedMemberMessage, unauthorized_member),
    "WebcastImDeleteMessage": (pb.ImDeleteMessage, im_delete),
}
