"""Douyin ``Message.method`` → a typed, frozen event value for the 13 event types of dataset.md.

This is where protobuf stops: :func:`decode_message` parses one message payload with the
generated schema and returns a frozen dataclass. Ids are Python ``int`` here (they are
unsigned 64-bit on the wire); ``rows.py`` turns them into strings for JSON.

An unknown method is a value (``wire.frames.UnknownMessage``, with the raw payload kept for
diagnosis) and an undecodable payload is a value (``wire.frames.UndecodableMessage``, with the
error); :func:`decode_message` never raises for any payload, so nothing in one message can stop
the next from being decoded.

Every event carries ``server_time_ms``: the event's own ``Common.create_time`` (ms) when the
server filled it, else the Response's ``now`` the caller passes in (0 when neither is known).

Pure: no sockets, files, clocks, anyio or asyncio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from google.protobuf.message import DecodeError

from dylived.platforms.douyin._pb import douyin_pb2 as pb
from dylived.platforms.values import quick_factory, quick_init
from dylived.wire.frames import UndecodableMessage, UnknownMessage


@quick_init
@dataclass(frozen=True, slots=True)
class User:
    """The user of an event (the dataset.md ``user`` object, ids as ints)."""

    user_id: int
    short_id: int
    sec_uid: str
    display_id: str
    nickname: str
    gender: int  # 0 unknown, 1 male, 2 female
    fans_club_name: str
    fans_club_level: int
    pay_grade_level: int


@dataclass(frozen=True, slots=True)
class Event:
    """Fields every event has; ``row_type`` is its dataset.md ``type``."""

    row_type: ClassVar[str] = ""
    method: ClassVar[str] = ""

    msg_id: int
    room_id: int
    server_time_ms: int


@quick_init
@dataclass(frozen=True, slots=True)
class ChatEvent(Event):
    row_type: ClassVar[str] = "chat"
    method: ClassVar[str] = "WebcastChatMessage"

    user: User | None
    content: str
    event_time_s: int


@quick_init
@dataclass(frozen=True, slots=True)
class GiftEvent(Event):
    row_type: ClassVar[str] = "gift"
    method: ClassVar[str] = "WebcastGiftMessage"

    user: User | None
    to_user: User | None
    gift_id: int
    gift_name: str
    gift_diamond_count: int
    gift_describe: str
    gift_type: int
    streakable: bool
    combo_count: int
    repeat_count: int
    group_count: int
    total_count: int
    send_type: int
    repeat_end: int
    group_id: int


@quick_init
@dataclass(frozen=True, slots=True)
class LikeEvent(Event):
    row_type: ClassVar[str] = "like"
    method: ClassVar[str] = "WebcastLikeMessage"

    user: User | None
    count: int
    total: int


@quick_init
@dataclass(frozen=True, slots=True)
class MemberEvent(Event):
    row_type: ClassVar[str] = "member"
    method: ClassVar[str] = "WebcastMemberMessage"

    user: User | None
    member_count: int
    enter_type: int
    action: int


@quick_init
@dataclass(frozen=True, slots=True)
class SocialEvent(Event):
    row_type: ClassVar[str] = "social"
    method: ClassVar[str] = "WebcastSocialMessage"

    user: User | None
    action: int
    share_type: int
    follow_count: int


@quick_init
@dataclass(frozen=True, slots=True)
class ViewerCountEvent(Event):
    row_type: ClassVar[str] = "viewer_count"
    method: ClassVar[str] = "WebcastRoomUserSeqMessage"

    current_viewers: int
    total_users: int
    popularity: int
    current_viewers_text: str
    total_users_text: str
    online_user_for_anchor: str
    total_pv_for_anchor: str


@quick_init
@dataclass(frozen=True, slots=True)
class FansclubEvent(Event):
    row_type: ClassVar[str] = "fansclub"
    method: ClassVar[str] = "WebcastFansclubMessage"

    user: User | None
    fansclub_type: int  # 1 level up, 2 joined
    content: str


@quick_init
@dataclass(frozen=True, slots=True)
class EmojiChatEvent(Event):
    row_type: ClassVar[str] = "emoji_chat"
    method: ClassVar[str] = "WebcastEmojiChatMessage"

    user: User | None
    emoji_id: int
    default_content: str


@quick_init
@dataclass(frozen=True, slots=True)
class RoomStatsEvent(Event):
    row_type: ClassVar[str] = "room_stats"
    method: ClassVar[str] = "WebcastRoomStatsMessage"

    display_short: str
    display_middle: str
    display_long: str
    display_value: int


@quick_init
@dataclass(frozen=True, slots=True)
class RankEntry:
    """One line of a room ranking: 1-based position, user, score as the platform shows it."""

    rank: int
    user: User | None
    score_text: str


@quick_init
@dataclass(frozen=True, slots=True)
class RoomRankEvent(Event):
    row_type: ClassVar[str] = "room_rank"
    method: ClassVar[str] = "WebcastRoomRankMessage"

    ranks: tuple[RankEntry, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class RoomMessageEvent(Event):
    row_type: ClassVar[str] = "room_message"
    method: ClassVar[str] = "WebcastRoomMessage"

    content: str
    biz_scene: str
    room_message_type: int


@quick_init
@dataclass(frozen=True, slots=True)
class StreamAdaptationEvent(Event):
    row_type: ClassVar[str] = "stream_adaptation"
    method: ClassVar[str] = "WebcastRoomStreamAdaptationMessage"

    adaptation_type: int
    adaptation_height_ratio: float
    adaptation_body_center_ratio: float
    adaptation_content_top_ratio: float
    adaptation_content_bottom_ratio: float


# ControlMessage.action (a.k.a. status) 3: the broadcaster ended the stream (protocol.md §2.5).
CONTROL_STREAM_ENDED = 3


@quick_init
@dataclass(frozen=True, slots=True)
class ControlEvent(Event):
    row_type: ClassVar[str] = "control"
    method: ClassVar[str] = "WebcastControlMessage"

    status: int
    tips: str

    @property
    def stream_ended(self) -> bool:
        return self.status == CONTROL_STREAM_ENDED


TypedEvent = (
    ChatEvent
    | GiftEvent
    | LikeEvent
    | MemberEvent
    | SocialEvent
    | ViewerCountEvent
    | FansclubEvent
    | EmojiChatEvent
    | RoomStatsEvent
    | RoomRankEvent
    | RoomMessageEvent
    | StreamAdaptationEvent
    | ControlEvent
)
WireEvent = TypedEvent | UnknownMessage | UndecodableMessage


# The decode path's constructors (values.quick_factory): the values ``Cls(...)`` makes, built
# at about a third of the cost; one event and usually one user per message.
_new_user = quick_factory(User)
_new_chat_event = quick_factory(ChatEvent)
_new_gift_event = quick_factory(GiftEvent)
_new_like_event = quick_factory(LikeEvent)
_new_member_event = quick_factory(MemberEvent)
_new_social_event = quick_factory(SocialEvent)
_new_viewer_count_event = quick_factory(ViewerCountEvent)
_new_fansclub_event = quick_factory(FansclubEvent)
_new_emoji_chat_event = quick_factory(EmojiChatEvent)
_new_room_stats_event = quick_factory(RoomStatsEvent)
_new_rank_entry = quick_factory(RankEntry)
_new_room_rank_event = quick_factory(RoomRankEvent)
_new_room_message_event = quick_factory(RoomMessageEvent)
_new_stream_adaptation_event = quick_factory(StreamAdaptationEvent)
_new_control_event = quick_factory(ControlEvent)


def _user(user: pb.User) -> User:
    fans_club = user.fans_club.data
    return _new_user(
        user.id,
        user.short_id,
        user.sec_uid,
        user.display_id,
        user.nickname,
        user.gender,
        fans_club.club_name,
        fans_club.level,
        user.pay_grade.level,
    )


def _user_of(message: Any, field: str = "user") -> User | None:
    return _user(getattr(message, field)) if message.HasField(field) else None


# The converters of the frequent types (chat, like, member) test and read ``user`` inline:
# one call less per event than _user_of.
def _chat(m: pb.ChatMessage, msg_id: int, room_id: int, time_ms: int) -> ChatEvent:
    user = _user(m.user) if m.HasField("user") else None
    return _new_chat_event(msg_id, room_id, time_ms, user, m.content, m.event_time)


def _gift(m: pb.GiftMessage, msg_id: int, room_id: int, time_ms: int) -> GiftEvent:
    gift = m.gift
    return _new_gift_event(
        msg_id,
        room_id,
        time_ms,
        user=_user_of(m),
        to_user=_user_of(m, "to_user"),
        gift_id=m.gift_id or gift.id,
        gift_name=gift.name,
        gift_diamond_count=gift.diamond_count,
        gift_describe=gift.describe,
        gift_type=gift.type,
        # Douyin marks combo gifts with GiftStruct.combo; TikTok with type 1 (protocol.md §3.3).
        streakable=gift.combo or gift.type == 1,
        combo_count=m.combo_count,
        repeat_count=m.repeat_count,
        group_count=m.group_count,
        total_count=m.total_count,
        send_type=m.send_type,
        repeat_end=m.repeat_end,
        group_id=m.group_id,
    )


def _like(m: pb.LikeMessage, msg_id: int, room_id: int, time_ms: int) -> LikeEvent:
    user = _user(m.user) if m.HasField("user") else None
    return _new_like_event(msg_id, room_id, time_ms, user, m.count, m.total)


def _member(m: pb.MemberMessage, msg_id: int, room_id: int, time_ms: int) -> MemberEvent:
    user = _user(m.user) if m.HasField("user") else None
    return _new_member_event(msg_id, room_id, time_ms, user, m.member_count, m.enter_type, m.action)


def _social(m: pb.SocialMessage, msg_id: int, room_id: int, time_ms: int) -> SocialEvent:
    return _new_social_event(
        msg_id, room_id, time_ms, _user_of(m), m.action, m.share_type, m.follow_count
    )


def _viewers(m: pb.RoomUserSeqMessage, msg_id: int, room_id: int, t: int) -> ViewerCountEvent:
    return _new_viewer_count_event(
        msg_id,
        room_id,
        t,
        current_viewers=m.total,
        total_users=m.total_user,
        popularity=m.popularity,
        current_viewers_text=m.total_str,
        total_users_text=m.total_user_str,
        online_user_for_anchor=m.online_user_for_anchor,
        total_pv_for_anchor=m.total_pv_for_anchor,
    )


def _fansclub(m: pb.FansclubMessage, msg_id: int, room_id: int, t: int) -> FansclubEvent:
    return _new_fansclub_event(msg_id, room_id, t, _user_of(m), m.type, m.content)


def _emoji(m: pb.EmojiChatMessage, msg_id: int, room_id: int, t: int) -> EmojiChatEvent:
    return _new_emoji_chat_event(msg_id, room_id, t, _user_of(m), m.emoji_id, m.default_content)


def _stats(m: pb.RoomStatsMessage, msg_id: int, room_id: int, t: int) -> RoomStatsEvent:
    return _new_room_stats_event(
        msg_id, room_id, t, m.display_short, m.display_middle, m.display_long, m.display_value
    )


def _rank(m: pb.RoomRankMessage, msg_id: int, room_id: int, t: int) -> RoomRankEvent:
    ranks = tuple(
        _new_rank_entry(position, _user_of(entry), entry.score_str)
        for position, entry in enumerate(m.ranks, start=1)
    )
    return _new_room_rank_event(msg_id, room_id, t, ranks)


def _room(m: pb.RoomMessage, msg_id: int, room_id: int, t: int) -> RoomMessageEvent:
    return _new_room_message_event(msg_id, room_id, t, m.content, m.biz_scene, m.room_message_type)


def _adapt(
    m: pb.RoomStreamAdaptationMessage, msg_id: int, room_id: int, t: int
) -> StreamAdaptationEvent:
    return _new_stream_adaptation_event(
        msg_id,
        room_id,
        t,
        m.adaptation_type,
        m.adaptation_height_ratio,
        m.adaptation_body_center_ratio,
        m.adaptation_content_top_ratio,
        m.adaptation_content_bottom_ratio,
    )


def _control(m: pb.ControlMessage, msg_id: int, room_id: int, t: int) -> ControlEvent:
    return _new_control_event(msg_id, room_id, t, m.action, m.tips)


_Converter = Callable[[Any, int, int, int], TypedEvent]

# method → (generated message class, converter); the 13 types of dataset.md.
_DECODERS: dict[str, tuple[Any, _Converter]] = {
    ChatEvent.method: (pb.ChatMessage, _chat),
    GiftEvent.method: (pb.GiftMessage, _gift),
    LikeEvent.method: (pb.LikeMessage, _like),
    MemberEvent.method: (pb.MemberMessage, _member),
    SocialEvent.method: (pb.SocialMessage, _social),
    ViewerCountEvent.method: (pb.RoomUserSeqMessage, _viewers),
    FansclubEvent.method: (pb.FansclubMessage, _fansclub),
    EmojiChatEvent.method: (pb.EmojiChatMessage, _emoji),
    RoomStatsEvent.method: (pb.RoomStatsMessage, _stats),
    RoomRankEvent.method: (pb.RoomRankMessage, _rank),
    RoomMessageEvent.method: (pb.RoomMessage, _room),
    StreamAdaptationEvent.method: (pb.RoomStreamAdaptationMessage, _adapt),
    ControlEvent.method: (pb.ControlMessage, _control),
}

KNOWN_METHODS: frozenset[str] = frozenset(_DECODERS)


def decode_message(method: str, msg_id: int, payload: bytes, server_now_ms: int = 0) -> WireEvent:
    """Decode one ``Message`` into a typed event, or a value saying why it could not be.

    Args:
        method: ``Message.method``, e.g. ``"WebcastChatMessage"``.
        msg_id: ``Message.msg_id``; the payload's ``Common.msg_id`` is used when it is 0.
        payload: ``Message.payload``.
        server_now_ms: the Response's ``now``; the event's time when it has no create_time.

    Never raises for any payload.
    """
    decoder = _DECODERS.get(method)
    if decoder is None:
        return UnknownMessage(method, msg_id, payload, server_now_ms)
    message_class, convert = decoder
    try:
        message = message_class.FromString(payload)
    except DecodeError as exc:
        return UndecodableMessage(method, msg_id, payload, str(exc), server_now_ms)
    common = message.common
    return convert(
        message,
        msg_id or common.msg_id,
        common.room_id,
        common.create_time or server_now_ms,
    )
