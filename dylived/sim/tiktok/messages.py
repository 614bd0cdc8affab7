"""Scripted events → TikTok's webcast messages, with TikTok's field numbers (pure).

The TikTok personality's own encoder: it imports ``dylived.platforms.tiktok._pb.tiktok_pb2``
(proto/tiktok.proto's numbers) and nothing of the decoding side, so an encoder bug here and a
decoder bug there cannot cancel out. ``encode_event`` builds one ``Message.payload`` for the
shared kinds TikTok has (chat, gift — streaks as ``sim/script.py`` plays them, with TikTok's
``gift.type`` 1 = streakable —, like, member, social, viewer_count, control: action 1 pause,
2 resume, 3 end, 4 suspended) and for TikTok's own kinds (:data:`KINDS`: subscribe, question,
envelope, room_pin, live_intro, emote_chat, goal, poll, caption, barrage, rank_update,
im_delete, unauthorized_member), whose generators :data:`KINDS` gives the event script.
"""

from __future__ import annotations

from typing import Any

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.sim.script import EventScript, KindMaker, ScriptedEvent, SimUser


def handle_of(user: SimUser) -> str:
    """The @handle (User 38) a simulated viewer has on TikTok."""
    return "user" + user.display_id.removeprefix("dy")


def _user(user: SimUser) -> pb.User:
    return pb.User(
        id=user.id,
        nickname=user.nickname,
        display_id=handle_of(user),
        sec_uid=user.sec_uid,
        id_str=str(user.id),
    )


def _common(event: ScriptedEvent, key: str = "") -> pb.Common:
    return pb.Common(
        method=event.method,
        msg_id=event.msg_id,
        room_id=event.room_id,
        create_time=event.create_time_ms,
        display_text=pb.Text(key=key, default_pattern=""),
    )


# ---------------------------------------------------------------- TikTok's own kinds


def _subscribe(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastSubNotifyMessage", {"sub_month": s.rng.randrange(1, 13)}, s.random_user()


def _question(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    text = s.rng.choice(("What game is this?", "Where are you from?", "How old is the cat?"))
    return (
        "WebcastQuestionNewMessage",
        {"question_id": s.rng.randrange(10**17, 10**18), "content": text},
        s.random_user(),
    )


def _envelope(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    user = s.random_user()
    fields = {
        "envelope_id": str(s.rng.randrange(10**17, 10**18)),
        "diamond_count": s.rng.choice((100, 500, 1000)),
        "people_count": s.rng.randrange(5, 50),
        "send_user_name": user.nickname,
    }
    return "WebcastEnvelopeMessage", fields, user


def _room_pin(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastRoomPinMessage", {"content": "Welcome! Rules in the bio"}, s.random_user()


def _live_intro(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastLiveIntroMessage", {"content": "Chill stream, say hi"}, None


def _emote_chat(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return (
        "WebcastEmoteChatMessage",
        {"emote_id": str(s.rng.randrange(10**17, 10**18))},
        s.random_user(),
    )


def _goal(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    fields = {"goal_id": s.rng.randrange(10**17, 10**18), "progress": 40, "target": 100}
    return "WebcastGoalUpdateMessage", fields, s.random_user()


def _poll(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    fields = {"poll_id": s.rng.randrange(10**17, 10**18), "title": "Next game?"}
    return "WebcastPollMessage", fields, None


def _caption(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastCaptionMessage", {"lang": "en", "content": "hello everyone"}, None


def _barrage(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastBarrageMessage", {"msg_type": 8, "level": 12}, s.random_user()


def _rank_update(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastRankUpdateMessage", {"rank_type": 8, "owner_rank": 3}, None


def _im_delete(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastImDeleteMessage", {"delete_msg_ids": [], "delete_user_ids": []}, None


def _unauthorized_member(s: EventScript) -> tuple[str, dict[str, Any], SimUser | None]:
    return "WebcastUnauthorizedMemberMessage", {"nick_name": "user***"}, None


KINDS: dict[str, KindMaker] = {
    "subscribe": _subscribe,
    "question": _question,
    "envelope": _envelope,
    "room_pin": _room_pin,
    "live_intro": _live_intro,
    "emote_chat": _emote_chat,
    "goal": _goal,
    "poll": _poll,
    "caption": _caption,
    "barrage": _barrage,
    "rank_update": _rank_update,
    "im_delete": _im_delete,
    "unauthorized_member": _unauthorized_member,
}


# ---------------------------------------------------------------- encoding


def _shared(event: ScriptedEvent, common: pb.Common, user: pb.User | None) -> Any:
    f: Any = event.fields
    kind = event.type
    if kind == "chat":
        return pb.ChatMessage(common=common, user=user, content=f["content"])
    if kind == "gift":
        return pb.GiftMessage(
            common=common,
            gift_id=f["gift_id"],
            group_count=f["group_count"],
            repeat_count=f["repeat_count"],
            combo_count=f["combo_count"],
            user=user,
            to_user=pb.User(nickname=f["to_user_nickname"]),
            repeat_end=f["repeat_end"],
            group_id=f["group_id"],
            gift=pb.GiftStruct(
                id=f["gift_id"],
                name=f["gift_name"],
                diamond_count=f["gift_diamond_count"],
                describe=f["gift_describe"],
                type=1 if f["gift_type"] else 2,  # TikTok: 1 streakable, others once
                combo=bool(f["gift_type"]),
            ),
        )
    if kind == "like":
        return pb.LikeMessage(common=common, count=f["count"], total=f["total"], user=user)
    if kind == "member":
        return pb.MemberMessage(
            common=common, user=user, member_count=f["member_count"], action=f["action"]
        )
    if kind == "social":
        return pb.SocialMessage(
            common=common,
            user=user,
            share_type=f["share_type"],
            action=f["action"],
            follow_count=f["follow_count"],
        )
    if kind == "viewer_count":
        return pb.RoomUserSeqMessage(
            common=common,
            ranks=[
                pb.Contributor(score=r["score"], user=_user(r["user"]), rank=r["rank"])
                for r in f["ranks"]
            ],
            total=f["current_viewers"],
            popularity=f["popularity"],
            total_user=f["total_users"],
        )
    if kind == "control":
        return pb.ControlMessage(common=common, action=f["status"])
    raise ValueError(f"TikTok has no {kind!r} events")


def _own(event: ScriptedEvent, common: pb.Common, user: pb.User | None) -> Any:
    f: Any = event.fields
    kind = event.type
    if kind == "subscribe":
        return pb.SubNotifyMessage(common=common, user=user, sub_month=f["sub_month"])
    if kind == "question":
        details = pb.Question(question_id=f["question_id"], content=f["content"], user=user)
        return pb.QuestionNewMessage(common=common, details=details)
    if kind == "envelope":
        info = pb.EnvelopeInfo(
            envelope_id=f["envelope_id"],
            business_type=1,
            send_user_name=f["send_user_name"],
            diamond_count=f["diamond_count"],
            people_count=f["people_count"],
        )
        return pb.EnvelopeMessage(common=common, envelope_info=info, display=1)
    if kind == "room_pin":
        chat = pb.ChatMessage(common=common, user=user, content=f["content"])
        return pb.RoomPinMessage(
            common=common, chat_message=chat, method="WebcastChatMessage", action=1
        )
    if kind == "live_intro":
        return pb.LiveIntroMessage(common=common, id=event.msg_id, content=f["content"])
    if kind == "emote_chat":
        emote = pb.EmoteModel(emote_id=f["emote_id"], emote_type=1)
        return pb.EmoteChatMessage(common=common, user=user, emote_list=[emote])
    if kind == "goal":
        sub = pb.SubGoal(type=1, progress=f["progress"], target=f["target"])
        goal = pb.LiveStreamGoal(id=f["goal_id"], type=1, status=1, sub_goals=[sub])
        return pb.GoalUpdateMessage(common=common, goal=goal, contribute_count=1)
    if kind == "poll":
        options = [pb.PollOptionInfo(display_content=t, option_idx=i) for i, t in enumerate("AB")]
        start = pb.PollStartContent(title=f["title"], option_list=options)
        return pb.PollMessage(
            common=common, message_type=0, poll_id=f["poll_id"], start_content=start
        )
    if kind == "caption":
        content = [pb.CaptionContent(lang=f["lang"], content=f["content"])]
        return pb.CaptionMessage(common=common, content=content, definite=True)
    if kind == "barrage":
        param = pb.BarrageUserParam(level=f["level"], user=user)
        return pb.BarrageMessage(common=common, msg_type=f["msg_type"], user_grade_param=param)
    if kind == "rank_update":
        update = pb.RankUpdate(rank_type=f["rank_type"], owner_rank=f["owner_rank"])
        return pb.RankUpdateMessage(common=common, updates=[update])
    if kind == "im_delete":
        return pb.ImDeleteMessage(
            common=common,
            delete_msg_ids=f["delete_msg_ids"],
            delete_user_ids=f["delete_user_ids"],
        )
    if kind == "unauthorized_member":
        return pb.UnauthorizedMemberMessage(common=common, action=1, nick_name=f["nick_name"])
    return _shared(event, common, user)


_KEYS = {"social": "pm_mt_guidance_viewer_follow", "barrage": "pm_mt_upgrade"}


def encode_event(event: ScriptedEvent) -> bytes:
    """The protobuf payload of one event (``Message.payload``) with TikTok's field numbers."""
    key = _KEYS.get(event.type, "")
    if event.type == "social" and event.fields.get("action") == 3:
        key = "pm_mt_guidance_share"
    user = _user(event.user) if event.user is not None else None
    message = _own(event, _common(event, key), user)
    return bytes(message.SerializeToString())
