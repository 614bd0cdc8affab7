"""Test-side TikTok message building with the generated schema only (never with the decoder).

Each strategy in :data:`CASES` draws one random message of a method, serialises it, and says
which row ``decode_message`` must turn it into, computed here from the drawn values, so a
decoder bug cannot hide behind shared code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb


U64 = st.integers(min_value=0, max_value=2**64 - 1)
I32 = st.integers(min_value=0, max_value=2**31 - 1)
I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(max_size=10)


@dataclass(frozen=True)
class Case:
    method: str
    payload: bytes
    row: dict[str, Any]


def _id(value: int) -> str | None:
    return str(value) if value else None


class _Draw:
    """One message being drawn: its Common block and the row expected so far."""

    def __init__(self, d: st.DataObject, method: str, row_type: str, message: Any) -> None:
        self.d, self.method, self.message = d, method, message
        msg_id, room_id, created = d.draw(U64), d.draw(U64), d.draw(U64)
        key = d.draw(TEXT)
        common = message.common
        common.method, common.msg_id, common.room_id, common.create_time = (
            method,
            msg_id,
            room_id,
            created,
        )
        if key:
            common.display_text.key = key
        self.key = key
        self.row: dict[str, Any] = {
            "type": row_type,
            "platform": "tiktok",
            "msg_id": _id(msg_id),
            "room_id": _id(room_id),
            "handle": None,
            "server_time_ms": created or None,
            "received_at_ms": None,
            "stream_offset_s": None,
            "display_key": key or None,
        }

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.d.draw(strategy)

    def user(self, target: Any, field: str = "user") -> dict[str, Any] | None:
        if not self.d.draw(st.booleans()):
            return None
        uid, nick, handle, sec = self.draw(U64), self.draw(TEXT), self.draw(TEXT), self.draw(TEXT)
        user = getattr(target, field)
        user.id, user.nickname, user.display_id, user.sec_uid = uid, nick, handle, sec
        user.SetInParent()
        return {
            "user_id": _id(uid),
            "unique_id": handle or None,
            "handle": handle or None,
            "nickname": nick,
            "sec_uid": sec or None,
        }

    def case(self, **fields: Any) -> Case:
        return Case(self.method, self.message.SerializeToString(), {**self.row, **fields})


def chat(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastChatMessage", "chat", pb.ChatMessage())
    m = w.message
    m.content, m.content_language = w.draw(TEXT), w.draw(TEXT)
    return w.case(user=w.user(m), content=m.content, content_language=m.content_language or None)


def gift(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastGiftMessage", "gift", pb.GiftMessage())
    m = w.message
    m.gift_id, m.group_id = w.draw(U64), w.draw(U64)
    m.repeat_count, m.combo_count, m.group_count = w.draw(I32), w.draw(I32), w.draw(I32)
    m.repeat_end = w.draw(st.sampled_from([0, 1]))
    m.gift.type = w.draw(st.sampled_from([0, 1, 2, 4]))
    m.gift.id, m.gift.name, m.gift.describe = w.draw(U64), w.draw(TEXT), w.draw(TEXT)
    m.gift.diamond_count = w.draw(I32)
    m.to_member_nickname = w.draw(TEXT)
    user = w.user(m)
    to_user = w.user(m, "to_user")
    final = m.gift.type != 1 or m.repeat_end == 1
    recipient = to_user["nickname"] if to_user is not None else m.to_member_nickname
    return w.case(
        user=user,
        gift_id=_id(m.gift_id or m.gift.id),
        gift_name=m.gift.name,
        gift_diamond_count=m.gift.diamond_count,
        gift_describe=m.gift.describe,
        gift_type=m.gift.type,
        streakable=m.gift.type == 1,
        combo_count=m.combo_count,
        repeat_count=m.repeat_count,
        group_count=m.group_count,
        group_id=_id(m.group_id),
        recipient_nickname=recipient or None,
        repeat_end=m.repeat_end,
        streak_final=final,
        diamond_total=m.repeat_count * m.gift.diamond_count if final else None,
    )


def like(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLikeMessage", "like", pb.LikeMessage())
    m = w.message
    m.count, m.total = w.draw(I32), w.draw(I32)
    return w.case(user=w.user(m), count=m.count, total=m.total)


def member(d: st.DataObject) -> Case:
    action = d.draw(st.sampled_from([0, 1, 3, 7]))
    row_type = "subscribe" if action == 3 else "member"
    w = _Draw(d, "WebcastMemberMessage", row_type, pb.MemberMessage())
    m = w.message
    m.action, m.member_count, m.enter_type = action, w.draw(I32), w.draw(I32)
    extra = {"source": "member", "sub_month": None} if action == 3 else {}
    return w.case(
        user=w.user(m),
        member_count=m.member_count,
        enter_type=m.enter_type,
        action=action,
        **extra,
    )


def sub_notify(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastSubNotifyMessage", "subscribe", pb.SubNotifyMessage())
    m = w.message
    m.sub_month, m.subscribe_type, m.message_type = w.draw(I32), w.draw(I32), w.draw(I32)
    return w.case(
        user=w.user(m),
        source="sub_notify",
        sub_month=m.sub_month,
        subscribe_type=m.subscribe_type,
        message_type=m.message_type,
    )


def social(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastSocialMessage", "social", pb.SocialMessage())
    m = w.message
    m.action = w.draw(st.sampled_from([0, 1, 3, 5]))
    m.share_type, m.share_target = w.draw(U64), w.draw(TEXT)
    m.follow_count, m.share_count = w.draw(I32), w.draw(I32)
    if "follow" in w.key:
        action = "follow"
    elif "share" in w.key:
        action = "share"
    else:
        action = {1: "follow", 3: "share"}.get(m.action, "other")
    return w.case(
        user=w.user(m),
        action=action,
        action_code=m.action,
        share_type=m.share_type,
        share_target=m.share_target or None,
        follow_count=m.follow_count,
        share_count=m.share_count,
    )


def emote_chat(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastEmoteChatMessage", "emote_chat", pb.EmoteChatMessage())
    m = w.message
    emotes = w.draw(st.lists(TEXT, max_size=3))
    for emote in emotes:
        m.emote_list.add(emote_id=emote, emote_type=w.draw(U64))
    return w.case(user=w.user(m), emote_ids=[e for e in emotes if e])


def question(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastQuestionNewMessage", "question", pb.QuestionNewMessage())
    q = w.message.details
    q.question_id, q.content, q.answer_status = w.draw(U64), w.draw(TEXT), w.draw(U64)
    return w.case(
        user=w.user(q),
        question_id=_id(q.question_id),
        content=q.content,
        answer_status=q.answer_status,
    )


def envelope(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastEnvelopeMessage", "envelope", pb.EnvelopeMessage())
    m = w.message
    i = m.envelope_info
    i.envelope_id, i.business_type, i.send_user_name = w.draw(TEXT), w.draw(U64), w.draw(TEXT)
    i.diamond_count, i.people_count, i.unpack_at = w.draw(U64), w.draw(U64), w.draw(U64)
    m.display = w.draw(U64)
    return w.case(
        envelope_id=i.envelope_id or None,
        business_type=i.business_type,
        sender_nickname=i.send_user_name or None,
        diamond_count=i.diamond_count,
        people_count=i.people_count,
        unpack_at_s=i.unpack_at or None,
        display=m.display,
    )


def unauthorized_member(d: st.DataObject) -> Case:
    w = _Draw(
        d, "WebcastUnauthorizedMemberMessage", "unauthorized_member", pb.UnauthorizedMemberMessage()
    )
    m = w.message
    m.action, m.nick_name = w.draw(U64), w.draw(TEXT)
    m.nick_name_prefix.key, m.enter_text.key = w.draw(TEXT), w.draw(TEXT)
    return w.case(
        action=m.action,
        nickname=m.nick_name,
        nickname_prefix_key=m.nick_name_prefix.key or None,
        enter_text_key=m.enter_text.key or None,
    )


def im_delete(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastImDeleteMessage", "im_delete", pb.ImDeleteMessage())
    m = w.message
    msg_ids, user_ids = w.draw(st.lists(U64, max_size=4)), w.draw(st.lists(U64, max_size=4))
    m.delete_msg_ids.extend(msg_ids)
    m.delete_user_ids.extend(user_ids)
    return w.case(
        delete_msg_ids=[str(v) for v in msg_ids if v],
        delete_user_ids=[str(v) for v in user_ids if v],
    )


def viewer_count(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastRoomUserSeqMessage", "viewer_count", pb.RoomUserSeqMessage())
    m = w.message
    m.total, m.total_user, m.popularity, m.anonymous = (w.draw(U64) for _ in range(4))
    ranks = []
    for _ in range(w.draw(st.integers(0, 3))):
        r = m.ranks.add(score=w.draw(U64), rank=w.draw(U64), delta=w.draw(I64))
        ranks.append({"rank": r.rank, "user": w.user(r), "score": r.score, "delta": r.delta})
    return w.case(
        current_viewers=m.total,
        total_users=m.total_user,
        popularity=m.popularity,
        anonymous=m.anonymous,
        ranks=ranks,
    )


def control(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastControlMessage", "control", pb.ControlMessage())
    m = w.message
    m.action = w.draw(st.sampled_from([0, 1, 2, 3, 4, 9]))
    names = {1: "paused", 2: "resumed", 3: "ended", 4: "suspended"}
    return w.case(
        status=m.action,
        action=names.get(m.action, "unknown"),
        stream_ended=m.action in (3, 4),
    )


def room_pin(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastRoomPinMessage", "room_pin", pb.RoomPinMessage())
    m = w.message
    m.method, m.action = w.draw(TEXT), w.draw(U64)
    m.pin_time, m.display_duration = w.draw(U64), w.draw(U64)
    kind = w.draw(st.sampled_from(["none", "chat", "gift", "like"]))
    pinned: dict[str, Any] = {"pinned_msg_id": None, "pinned_user": None}
    content, gift_id = None, None
    if kind != "none":
        embedded = getattr(m, f"{kind}_message")
        embedded.common.msg_id = w.draw(U64)
        embedded.SetInParent()
        pinned = {"pinned_msg_id": _id(embedded.common.msg_id), "pinned_user": w.user(embedded)}
        if kind == "chat":
            embedded.content = content = w.draw(TEXT)
        if kind == "gift":
            embedded.gift_id = w.draw(U64)
            gift_id = _id(embedded.gift_id)
    return w.case(
        action=m.action,
        pinned_method=m.method or None,
        **pinned,
        pinned_content=content,
        pinned_gift_id=gift_id,
        pin_time_ms=m.pin_time or None,
        display_duration_s=m.display_duration,
    )


def live_intro(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLiveIntroMessage", "live_intro", pb.LiveIntroMessage())
    m = w.message
    m.id, m.audit_status, m.content, m.content_language = (
        w.draw(U64),
        w.draw(U64),
        w.draw(TEXT),
        w.draw(TEXT),
    )
    return w.case(
        host=w.user(m, "host"),
        content=m.content,
        audit_status=m.audit_status,
        content_language=m.content_language or None,
    )


def goal(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastGoalUpdateMessage", "goal", pb.GoalUpdateMessage())
    m = w.message
    g = m.goal
    g.id, g.type, g.status, g.description = w.draw(U64), w.draw(U64), w.draw(U64), w.draw(TEXT)
    subs = []
    for _ in range(w.draw(st.integers(0, 3))):
        s = g.sub_goals.add(type=w.draw(U64), progress=w.draw(U64), target=w.draw(U64))
        subs.append({"type": s.type, "progress": s.progress, "target": s.target})
    m.contributor_id, m.contributor_display_id = w.draw(U64), w.draw(TEXT)
    m.contribute_count, m.contribute_score = w.draw(U64), w.draw(U64)
    return w.case(
        goal_id=_id(g.id),
        goal_type=g.type,
        status=g.status,
        description=g.description,
        sub_goals=subs,
        contributor_id=_id(m.contributor_id),
        contributor_handle=m.contributor_display_id or None,
        contribute_count=m.contribute_count,
        contribute_score=m.contribute_score,
    )


def poll(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastPollMessage", "poll", pb.PollMessage())
    m = w.message
    m.poll_id, m.poll_kind = w.draw(U64), w.draw(U64)
    m.message_type = w.draw(st.sampled_from([0, 1, 2]))
    part = {0: m.start_content, 1: m.end_content, 2: m.update_votes_content}[m.message_type]
    part.SetInParent()
    title = None
    if m.message_type == 0:
        m.start_content.title = w.draw(TEXT)
        title = m.start_content.title or None
    options = []
    for _ in range(w.draw(st.integers(0, 3))):
        o = part.option_list.add(
            votes=w.draw(U64), display_content=w.draw(TEXT), option_idx=w.draw(U64)
        )
        options.append({"option_idx": o.option_idx, "content": o.display_content, "votes": o.votes})
    return w.case(
        poll_id=_id(m.poll_id),
        message_type=m.message_type,
        poll_kind=m.poll_kind,
        title=title,
        options=options,
    )


def caption(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastCaptionMessage", "caption", pb.CaptionMessage())
    m = w.message
    m.timestamp_ms, m.duration_ms, m.definite = w.draw(U64), w.draw(U64), w.draw(st.booleans())
    captions = [
        {"lang": w.draw(TEXT), "content": w.draw(TEXT)} for _ in range(w.draw(st.integers(0, 2)))
    ]
    for c in captions:
        m.content.add(**c)
    return w.case(
        timestamp_ms=m.timestamp_ms,
        duration_ms=m.duration_ms,
        definite=m.definite,
        captions=captions,
    )


def barrage(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastBarrageMessage", "barrage", pb.BarrageMessage())
    m = w.message
    m.msg_type, m.duration = w.draw(U64), w.draw(U64)
    key = w.draw(st.sampled_from(["", "pm_mt_fan_live_join", "ttlive_superfan_joined"]))
    m.content.key, m.content.default_pattern = key, w.draw(TEXT)
    which = w.draw(st.sampled_from(["none", "user_grade_param", "fans_level_param"]))
    levels: dict[str, int | None] = {"user_grade": None, "fans_level": None}
    user = None
    if which != "none":
        param = getattr(m, which)
        param.level = w.draw(U64)
        param.SetInParent()
        levels["user_grade" if which == "user_grade_param" else "fans_level"] = param.level
        user = w.user(param)
    return w.case(
        msg_type=m.msg_type,
        content_key=m.content.key or None,
        superfan=key == "ttlive_superfan_joined",
        content_text=m.content.default_pattern or None,
        duration_ms=m.duration,
        **levels,
        user=user,
    )


def rank_update(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastRankUpdateMessage", "rank_update", pb.RankUpdateMessage())
    m = w.message
    m.group_type = w.draw(U64)
    updates = [
        {"rank_type": w.draw(U64), "owner_rank": w.draw(U64)}
        for _ in range(w.draw(st.integers(0, 3)))
    ]
    for u in updates:
        m.updates.add(**u)
    return w.case(group_type=m.group_type, updates=updates)


def _room_text(method: str) -> Callable[[st.DataObject], Case]:
    def build(d: st.DataObject) -> Case:
        w = _Draw(d, method, "room_message", pb.RoomMessage())
        w.message.content = w.draw(TEXT)
        return w.case(content=w.message.content)

    return build


def room_verify(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastRoomVerifyMessage", "room_verify", pb.RoomVerifyMessage())
    m = w.message
    m.action, m.content, m.notice_type = w.draw(U64), w.draw(TEXT), w.draw(U64)
    m.close_room = w.draw(st.booleans())
    return w.case(
        action=m.action, content=m.content, notice_type=m.notice_type, close_room=m.close_room
    )


def battle(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLinkMicBattle", "battle", pb.LinkMicBattle())
    m = w.message
    m.battle_id, m.action = w.draw(U64), w.draw(st.integers(0, 12))
    s = m.battle_settings
    s.battle_id, s.channel_id, s.battle_type = w.draw(U64), w.draw(U64), w.draw(U64)
    s.start_time_ms, s.duration, s.end_time_ms = w.draw(U64), w.draw(U64), w.draw(U64)
    results = {}
    for key in w.draw(st.sets(U64, max_size=3)):
        r = m.battle_result[key]
        r.user_id, r.result, r.score, r.diamond_score = (w.draw(U64) for _ in range(4))
        results[key] = {
            "user_id": _id(r.user_id or key),
            "result": r.result,
            "score": r.score,
            "diamond_score": r.diamond_score,
        }
    names = [
        "unknown", "invite", "reject", "cancel", "open", "finish", "cut_short", "accept",
        "quit_apply", "decline_quit", "decline_off_quit", "leave_linkmic", "unknown",
    ]  # fmt: skip
    return w.case(
        battle_id=_id(m.battle_id or s.battle_id),
        action_code=m.action,
        action=names[m.action],
        channel_id=_id(s.channel_id),
        battle_type=s.battle_type,
        start_time_ms=s.start_time_ms or None,
        duration_s=s.duration,
        end_time_ms=s.end_time_ms or None,
        results=[results[k] for k in sorted(results)],
    )


def battle_punish_finish(d: st.DataObject) -> Case:
    w = _Draw(
        d,
        "WebcastLinkMicBattlePunishFinish",
        "battle_punish_finish",
        pb.LinkMicBattlePunishFinish(),
    )
    m = w.message
    m.battle_id, m.channel_id, m.op_uid, m.reason = (w.draw(U64) for _ in range(4))
    return w.case(
        battle_id=_id(m.battle_id),
        channel_id=_id(m.channel_id),
        operator_user_id=_id(m.op_uid),
        reason=m.reason,
    )


def battle_score(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLinkMicArmies", "battle_score", pb.LinkMicArmies())
    m = w.message
    m.battle_id, m.channel_id, m.trigger_reason = w.draw(U64), w.draw(U64), w.draw(U64)
    m.gift_id, m.gift_count, m.repeat_count = w.draw(U64), w.draw(U64), w.draw(U64)
    m.total_diamond_count = w.draw(U64)
    scores = {}
    for anchor in w.draw(st.sets(U64, max_size=3)):
        m.armies[anchor].host_score = score = w.draw(U64)
        scores[anchor] = {"anchor_id": _id(anchor), "host_score": score}
    return w.case(
        battle_id=_id(m.battle_id),
        channel_id=_id(m.channel_id),
        trigger_reason=m.trigger_reason,
        scores=[scores[k] for k in sorted(scores)],
        gift_id=_id(m.gift_id),
        gift_count=m.gift_count,
        repeat_count=m.repeat_count,
        total_diamond_count=m.total_diamond_count,
    )


def link_mic(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLinkMicMethod", "link_mic", pb.LinkMicMethod())
    m = w.message
    m.message_type, m.user_id, m.fan_ticket = w.draw(U64), w.draw(U64), w.draw(U64)
    m.total_linkmic_fan_ticket, m.channel_id = w.draw(U64), w.draw(U64)
    return w.case(
        message_type=m.message_type,
        user_id=_id(m.user_id),
        fan_ticket=m.fan_ticket,
        total_linkmic_fan_ticket=m.total_linkmic_fan_ticket,
        channel_id=_id(m.channel_id),
    )


def link_mic_fan_ticket(d: st.DataObject) -> Case:
    w = _Draw(
        d, "WebcastLinkMicFanTicketMethod", "link_mic_fan_ticket", pb.LinkMicFanTicketMethod()
    )
    notice = w.message.fan_ticket_room_notice
    notice.total_linkmic_fan_ticket = w.draw(U64)
    tickets = []
    for _ in range(w.draw(st.integers(0, 3))):
        t = notice.user_fan_ticket_list.add(user_id=w.draw(U64), fan_ticket=w.draw(U64))
        tickets.append({"user_id": _id(t.user_id), "fan_ticket": t.fan_ticket})
    return w.case(fan_tickets=tickets, total_linkmic_fan_ticket=notice.total_linkmic_fan_ticket)


def link_layer(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLinkLayerMessage", "link_layer", pb.LinkLayerMessage())
    m = w.message
    m.message_type, m.channel_id, m.scene = w.draw(U64), w.draw(U64), w.draw(U64)
    return w.case(message_type=m.message_type, channel_id=_id(m.channel_id), scene=m.scene)


def link(d: st.DataObject) -> Case:
    w = _Draw(d, "WebcastLinkMessage", "link", pb.LinkMessage())
    m = w.message
    m.message_type, m.linker_id, m.scene = w.draw(U64), w.draw(U64), w.draw(U64)
    return w.case(message_type=m.message_type, linker_id=_id(m.linker_id), scene=m.scene)


def _room_verify_as(method: str) -> Callable[[st.DataObject], Case]:
    def build(d: st.DataObject) -> Case:
        case = room_verify(d)
        message = pb.RoomVerifyMessage.FromString(case.payload)
        message.common.method = method
        return Case(method, message.SerializeToString(), case.row)

    return build


# method → strategy of one Case; every method the decoder knows, nothing else
CASES: dict[str, Callable[[st.DataObject], Case]] = {
    "WebcastChatMessage": chat,
    "WebcastGiftMessage": gift,
    "WebcastLikeMessage": like,
    "WebcastMemberMessage": member,
    "WebcastSubNotifyMessage": sub_notify,
    "WebcastSocialMessage": social,
    "WebcastEmoteChatMessage": emote_chat,
    "WebcastQuestionNewMessage": question,
    "WebcastEnvelopeMessage": envelope,
    "WebcastUnauthorizedMemberMessage": unauthorized_member,
    "WebcastImDeleteMessage": im_delete,
    "WebcastRoomUserSeqMessage": viewer_count,
    "WebcastControlMessage": control,
    "WebcastRoomPinMessage": room_pin,
    "WebcastLiveIntroMessage": live_intro,
    "WebcastGoalUpdateMessage": goal,
    "WebcastPollMessage": poll,
    "WebcastCaptionMessage": caption,
    "WebcastBarrageMessage": barrage,
    "WebcastRankUpdateMessage": rank_update,
    "WebcastRoomMessage": _room_text("WebcastRoomMessage"),
    "WebcastSystemMessage": _room_text("WebcastSystemMessage"),
    "WebcastRoomVerifyMessage": room_verify,
    "RoomVerifyMessage": _room_verify_as("RoomVerifyMessage"),
    "WebcastLinkMicBattle": battle,
    "WebcastLinkMicArmies": battle_score,
    "WebcastLinkMicBattlePunishFinish": battle_punish_finish,
    "WebcastLinkMicMethod": link_mic,
    "WebcastLinkMicFanTicketMethod": link_mic_fan_ticket,
    "WebcastLinkLayerMessage": link_layer,
    "WebcastLinkMessage": link,
}
