"""Scripted live events: realistic viewers, gifts with streaks, counters that move (pure).

``EventScript`` turns per-type rates into a deterministic stream of ``ScriptedEvent`` values
(seeded), one per row type of dataset.md. It owns the room's counters (viewers, likes,
followers) so consecutive events agree with each other, and gift streaks: a streakable gift
arrives as several messages with the same ``group_id``, growing ``repeat_count`` and
``repeat_end`` 1 on the last. ``make_event`` builds one event of a type on request (the runtime
``push``). Nothing here knows protobuf: each personality (e.g. the Douyin personality's
``messages.py``) turns these values into its messages. A personality may add kinds of its own
(``kinds``: kind → a :data:`KindMaker` giving the method name, the fields and the user).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dylived.model import EVENT_TYPES


METHODS: Mapping[str, str] = {
    "chat": "WebcastChatMessage",
    "gift": "WebcastGiftMessage",
    "like": "WebcastLikeMessage",
    "member": "WebcastMemberMessage",
    "social": "WebcastSocialMessage",
    "viewer_count": "WebcastRoomUserSeqMessage",
    "fansclub": "WebcastFansclubMessage",
    "emoji_chat": "WebcastEmojiChatMessage",
    "room_stats": "WebcastRoomStatsMessage",
    "room_rank": "WebcastRoomRankMessage",
    "room_message": "WebcastRoomMessage",
    "stream_adaptation": "WebcastRoomStreamAdaptationMessage",
    "control": "WebcastControlMessage",
}
assert tuple(METHODS) == EVENT_TYPES


@dataclass(frozen=True, slots=True)
class SimUser:
    """A viewer (or the anchor) as the push messages describe one."""

    id: int
    short_id: int
    nickname: str
    sec_uid: str
    display_id: str
    gender: int = 0
    pay_grade_level: int = 0
    fans_club_name: str = ""
    fans_club_level: int = 0


@dataclass(frozen=True, slots=True)
class Gift:
    id: int
    name: str
    diamond_count: int
    streakable: bool
    describe: str = ""


GIFTS: tuple[Gift, ...] = (
    Gift(5655, "玫瑰", 1, True, "送出玫瑰"),
    Gift(463, "小心心", 1, True, "送出小心心"),
    Gift(3389, "人气票", 1, True, "送出人气票"),
    Gift(4219, "加油鸭", 15, True, "送出加油鸭"),
    Gift(6161, "墨镜", 9, False, "送出墨镜"),
    Gift(685, "嘉年华", 3000, False, "送出嘉年华"),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_NAME_PARTS = ("小", "阿", "大", "老", "")
_NAME_TAILS = (
    "鱼",
    "猫",
    "星星",
    "月亮",
    "同学",
    "不吃香菜",
    "爱摸鱼",
    "睡不醒",
    "呀",
    "ovo",
    "Jr",
)
_CHATS = (
    "主播好！",
    "来了来了",
    "666",
    "这波操作太秀了",
    "百分之10可以直播半小时",
    "主播几点下播？",
    "哈哈哈哈哈",
    "关注了，加油",
    "第一次来，支持一下",
    "声音有点小",
    "Hello from 上海",
    "求BGM🎵",
)
_EMOJIS = ((1, "[微笑]"), (7, "[捂脸]"), (23, "[比心]"), (45, "[赞]"))
_CLUBS = ("颗美玉", "小星星", "鱼塘")
_ROOM_NOTICES = (
    ("欢迎来到直播间！抖音严禁未成年人直播或打赏。", "common_text"),
    ("主播正在连线中，请文明发言。", "system_notice"),
)


@dataclass(frozen=True, slots=True)
class ScriptedEvent:
    """One event the simulator sends: its row type, ids, time, user and type-specific fields."""

    type: str
    msg_id: int
    room_id: int
    create_time_ms: int
    user: SimUser | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    method_name: str = ""  # a personality's own kind (METHODS names the shared ones)

    @property
    def method(self) -> str:
        return self.method_name or METHODS[self.type]


KindMaker = Callable[["EventScript"], tuple[str, dict[str, Any], SimUser | None]]


class EventScript:
    """Deterministic event source for one live session of one room."""

    def __init__(
        self,
        *,
        room_id: int,
        anchor: SimUser,
        rates: Mapping[str, float],
        seed: int,
        msg_ids: itertools.count[int],
        viewers: int = 120,
        kinds: Mapping[str, KindMaker] | None = None,
    ) -> None:
        self.room_id = room_id
        self.kinds = dict(kinds or {})
        self.anchor = anchor
        self.rates = {kind: rate for kind, rate in rates.items() if rate > 0}
        self._rng = random.Random(seed)
        self._msg_ids = msg_ids
        self._credit: dict[str, float] = dict.fromkeys(self.rates, 0.0)
        self.viewers = viewers
        self.total_users = viewers * 3
        self.total_likes = 0
        self.followers = 10_000 + self._rng.randrange(5000)
        self._users = [self._make_user(index) for index in range(64)]
        self._streak: tuple[Gift, SimUser, int, int, int] | None = None  # gift, user, group, n, of

    # ------------------------------------------------------------ users

    def _make_user(self, index: int) -> SimUser:
        rng = self._rng
        uid = 60_000_000_000_000 + rng.randrange(10**13)
        nickname = rng.choice(_SURNAMES) + rng.choice(_NAME_PARTS) + rng.choice(_NAME_TAILS)
        if index % 5 == 0:
            nickname += str(rng.randrange(10, 99))
        in_club = rng.random() < 0.3
        return SimUser(
            id=uid,
            short_id=rng.randrange(10**8, 10**10),
            nickname=nickname,
            sec_uid="MS4wLjABAAAA"
            + "".join(rng.choices("abcdefghijkLMNOPQRSTuvwxyz0123456789_-", k=43)),
            display_id=f"dy{rng.randrange(10**6, 10**9)}",
            gender=rng.choice((0, 1, 2)),
            pay_grade_level=rng.choice((0, 0, 1, 3, 8, 14, 22)),
            fans_club_name=rng.choice(_CLUBS) if in_club else "",
            fans_club_level=rng.randrange(1, 20) if in_club else 0,
        )

    def _user(self) -> SimUser:
        return self._rng.choice(self._users)

    @property
    def rng(self) -> random.Random:
        """The script's seeded randomness (for a personality's own kinds)."""
        return self._rng

    def random_user(self) -> SimUser:
        return self._user()

    # ------------------------------------------------------------ scheduling

    def due(self, elapsed: float, limit: int = 10_000) -> list[ScriptedEvent]:
        """The events due after ``elapsed`` more wall seconds at the configured rates."""
        out: list[ScriptedEvent] = []
        for kind, rate in self.rates.items():
            credit = self._credit[kind] + rate * elapsed
            count = min(int(credit), limit)
            self._credit[kind] = credit - int(credit)
            out.extend(self.make_event(kind, now_ms=None) for _ in range(count))
        self._rng.shuffle(out)
        return out

    def burst(self, kinds: tuple[str, ...], count: int, now_ms: int) -> list[ScriptedEvent]:
        """``count`` events cycling through ``kinds`` (for load tests)."""
        return [self.make_event(kinds[i % len(kinds)], now_ms=now_ms) for i in range(count)]

    # ------------------------------------------------------------ events

    def make_event(self, kind: str, now_ms: int | None = None, **overrides: Any) -> ScriptedEvent:
        """One event of row type ``kind``; ``overrides`` replace generated fields (and ``user``)."""
        if kind not in METHODS and kind not in self.kinds:
            raise ValueError(f"unknown event type {kind!r}")
        created = now_ms if now_ms is not None else int(time.time() * 1000)
        user: SimUser | None = overrides.pop("user", None)
        method = ""
        if kind in self.kinds:
            method, fields, generated_user = self.kinds[kind](self)
        else:
            fields, generated_user = getattr(self, f"_{kind}")()
        fields.update(overrides)
        return ScriptedEvent(
            type=kind,
            msg_id=next(self._msg_ids),
            room_id=self.room_id,
            create_time_ms=created,
            user=user or generated_user,
            fields=fields,
            method_name=method,
        )

    def _chat(self) -> tuple[dict[str, Any], SimUser | None]:
        return {"content": self._rng.choice(_CHATS)}, self._user()

    def _gift(self) -> tuple[dict[str, Any], SimUser | None]:
        rng = self._rng
        if self._streak is None:
            gift = rng.choice(GIFTS)
            length = rng.randrange(2, 8) if gift.streakable else 1
            group_id = rng.randrange(10**15, 10**16)
            self._streak = (gift, self._user(), group_id, 0, length)
        gift, user, group_id, sent, length = self._streak
        sent += 1
        final = sent >= length
        self._streak = None if final else (gift, user, group_id, sent, length)
        return {
            "gift_id": gift.id,
            "gift_name": gift.name,
            "gift_diamond_count": gift.diamond_count,
            "gift_describe": gift.describe,
            "gift_type": 1 if gift.streakable else 0,
            "group_id": group_id,
            "repeat_count": sent,
            "combo_count": sent,
            "group_count": 1,
            "total_count": sent,
            "repeat_end": 1 if final else 0,
            "send_type": 1,
            "to_user_nickname": self.anchor.nickname,
        }, user

    def _like(self) -> tuple[dict[str, Any], SimUser | None]:
        count = self._rng.randrange(1, 16)
        self.total_likes += count
        return {"count": count, "total": self.total_likes}, self._user()

    def _member(self) -> tuple[dict[str, Any], SimUser | None]:
        self.viewers += 1
        self.total_users += 1
        return {"member_count": self.viewers, "enter_type": 0, "action": 1}, self._user()

    def _social(self) -> tuple[dict[str, Any], SimUser | None]:
        follow = self._rng.random() < 0.7
        if follow:
            self.followers += 1
        return {
            "action": 1 if follow else 3,
            "share_type": 0 if follow else 1,
            "follow_count": self.followers,
        }, self._user()

    def _viewer_count(self) -> tuple[dict[str, Any], SimUser | None]:
        self.viewers = max(1, self.viewers + self._rng.randrange(-5, 6))
        ranks = [
            {"rank": rank, "user": self._users[rank], "score": 1000 // rank} for rank in (1, 2, 3)
        ]
        return {
            "current_viewers": self.viewers,
            "total_users": self.total_users,
            "popularity": self.viewers * 7,
            "current_viewers_text": str(self.viewers),
            "total_users_text": _short_count(self.total_users),
            "ranks": ranks,
        }, None

    def _fansclub(self) -> tuple[dict[str, Any], SimUser | None]:
        user = self._user()
        joined = self._rng.random() < 0.5
        name = user.fans_club_name or _CLUBS[0]
        content = (
            f"恭喜 {user.nickname} 成为第{self._rng.randrange(100, 9999)}名粉丝团成员"
            if joined
            else f"恭喜 {user.nickname} 粉丝团等级升级到{user.fans_club_level + 1}级"
        )
        return {"fansclub_type": 2 if joined else 1, "content": content, "club": name}, user

    def _emoji_chat(self) -> tuple[dict[str, Any], SimUser | None]:
        emoji_id, text = self._rng.choice(_EMOJIS)
        return {"emoji_id": emoji_id, "default_content": text}, self._user()

    def _room_stats(self) -> tuple[dict[str, Any], SimUser | None]:
        value = self.viewers
        return {
            "display_short": str(value),
            "display_middle": str(value),
            "display_long": f"{value}在线观众",
            "display_value": value,
        }, None

    def _room_rank(self) -> tuple[dict[str, Any], SimUser | None]:
        ranks = [
            {"rank": rank, "user": self._users[rank + 3], "score_text": str(5000 // rank)}
            for rank in (1, 2, 3)
        ]
        return {"ranks": ranks}, None

    def _room_message(self) -> tuple[dict[str, Any], SimUser | None]:
        content, scene = self._rng.choice(_ROOM_NOTICES)
        return {"content": content, "biz_scene": scene, "room_message_type": 0}, None

    def _stream_adaptation(self) -> tuple[dict[str, Any], SimUser | None]:
        return {"adaptation_type": 1, "height_ratio": 0.5625}, None

    def _control(self) -> tuple[dict[str, Any], SimUser | None]:
        return {"status": 3, "tips": "直播已结束"}, None


def _short_count(value: int) -> str:
    if value >= 10_000:
        return f"{value / 10_000:.1f}万"
    return str(value)
