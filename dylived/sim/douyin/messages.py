"""Scripted events → Douyin's webcast messages, and its push framing schema (pure).

The Douyin personality's own encoder: it imports ``dylived.platforms.douyin._pb.douyin_pb2`` and
nothing of the decoding side (``dylived.wire``, the platform's messages), so an encoder bug here
and a decoder bug there cannot cancel out. ``encode_event`` builds one ``Message.payload``
(ChatMessage, GiftMessage, …); ``SCHEMA`` gives the shared PushFrame envelope
(``sim/framing.py``) Douyin's classes and service 8888, method 8."""

from __future__ import annotations

from typing import Any

from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.sim.framing import FrameSchema, Framing
from dylived.sim.script import ScriptedEvent, SimUser


def _user(user: SimUser) -> pb.User:
    out = pb.User(
        id=user.id,
        short_id=user.short_id,
        nickname=user.nickname,
        gender=user.gender,
        display_id=user.display_id,
        sec_uid=user.sec_uid,
        id_str=str(user.id),
        avatar_thumb=pb.Image(
            url_list=[f"https://p3.douyinpic.com/aweme/100x100/avatar_{user.id}.jpeg"],
            uri=f"avatar_{user.id}",
        ),
        follow_info=pb.FollowInfo(follow_status=0),
    )
    if user.pay_grade_level:
        out.pay_grade.level = user.pay_grade_level
        out.pay_grade.name = f"荣誉等级{user.pay_grade_level}"
    if user.fans_club_name:
        out.fans_club.data.club_name = user.fans_club_name
        out.fans_club.data.level = user.fans_club_level
        out.fans_club.data.user_fans_club_status = 1
    return out


def _common(event: ScriptedEvent) -> pb.Common:
    return pb.Common(
        method=event.method,
        msg_id=event.msg_id,
        room_id=event.room_id,
        create_time=event.create_time_ms,
        is_show_msg=True,
        app_id=1128,
    )


def _text(pattern: str, *pieces: pb.TextPiece) -> pb.Text:
    return pb.Text(key="", default_pattern=pattern, pieces=list(pieces))


def encode_event(event: ScriptedEvent) -> bytes:
    """The protobuf payload of one event (``Message.payload``)."""
    f: Any = event.fields
    common = _common(event)
    user = _user(event.user) if event.user is not None else None
    kind = event.type
    message: Any
    if kind == "chat":
        message = pb.ChatMessage(
            common=common, user=user, content=f["content"], event_time=event.create_time_ms // 1000
        )
    elif kind == "gift":
        message = pb.GiftMessage(
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
                type=f["gift_type"],
                combo=bool(f["gift_type"]),
            ),
            send_type=f["send_type"],
            total_count=f["total_count"],
            send_time=event.create_time_ms,
            trace_id=f"{f['group_id']:x}",
        )
    elif kind == "like":
        message = pb.LikeMessage(common=common, count=f["count"], total=f["total"], user=user)
    elif kind == "member":
        message = pb.MemberMessage(
            common=common,
            user=user,
            member_count=f["member_count"],
            enter_type=f["enter_type"],
            action=f["action"],
            user_id=event.user.id if event.user else 0,
        )
    elif kind == "social":
        message = pb.SocialMessage(
            common=common,
            user=user,
            share_type=f["share_type"],
            action=f["action"],
            follow_count=f["follow_count"],
        )
    elif kind == "viewer_count":
        message = pb.RoomUserSeqMessage(
            common=common,
            ranks=[
                pb.Contributor(score=r["score"], user=_user(r["user"]), rank=r["rank"])
                for r in f["ranks"]
            ],
            total=f["current_viewers"],
            popularity=f["popularity"],
            total_user=f["total_users"],
            total_user_str=f["total_users_text"],
            total_str=f["current_viewers_text"],
            online_user_for_anchor=f["current_viewers_text"],
            total_pv_for_anchor=f["total_users_text"],
        )
    elif kind == "fansclub":
        message = pb.FansclubMessage(
            common=common, type=f["fansclub_type"], content=f["content"], user=user
        )
    elif kind == "emoji_chat":
        message = pb.EmojiChatMessage(
            common=common,
            user=user,
            emoji_id=f["emoji_id"],
            default_content=f["default_content"],
            emoji_content=_text(
                "{0}",
                pb.TextPiece(
                    type=1,
                    image_value=pb.TextPieceImage(
                        image=pb.Image(
                            url_list=[f"https://emoji.douyinpic.com/{f['emoji_id']}.png"]
                        )
                    ),
                ),
            ),
        )
    elif kind == "room_stats":
        message = pb.RoomStatsMessage(
            common=common,
            display_short=f["display_short"],
            display_middle=f["display_middle"],
            display_long=f["display_long"],
            display_value=f["display_value"],
            total=f["display_value"],
            display_type=1,
        )
    elif kind == "room_rank":
        message = pb.RoomRankMessage(
            common=common,
            ranks=[
                pb.RoomRank(user=_user(r["user"]), score_str=r["score_text"]) for r in f["ranks"]
            ],
        )
    elif kind == "room_message":
        message = pb.RoomMessage(
            common=common,
            content=f["content"],
            room_message_type=f["room_message_type"],
            biz_scene=f["biz_scene"],
        )
    elif kind == "stream_adaptation":
        message = pb.RoomStreamAdaptationMessage(
            common=common,
            adaptation_type=f["adaptation_type"],
            adaptation_height_ratio=f["height_ratio"],
        )
    elif kind == "control":
        message = pb.ControlMessage(common=common, action=f["status"], tips=f.get("tips", ""))
    else:  # pragma: no cover - EventScript only makes the 13 types
        raise ValueError(kind)
    return bytes(message.SerializeToString())


SCHEMA = FrameSchema(
    push_frame=pb.PushFrame,
    headers=pb.HeadersList,
    response=pb.Response,
    message=pb.Message,
    service=8888,
    method=8,
)
FRAMING = Framing(SCHEMA, encode_event)
