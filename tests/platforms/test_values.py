"""platforms/values.py: quick_init and quick_factory keep a frozen slotted dataclass what it was."""

from __future__ import annotations

import dataclasses

import pytest

from dylived.platforms.douyin.messages import ChatEvent, User
from dylived.platforms.values import quick_factory, quick_init


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class _Point:
    x: int
    y: int = 7


def test_quick_init_keeps_fields_defaults_equality_hash_and_frozenness() -> None:
    point = _Point(1)
    assert (point.x, point.y) == (1, 7)
    assert _Point(x=1, y=2) == _Point(1, 2) != point
    assert hash(_Point(1, 2)) == hash(_Point(1, 2))
    assert repr(point) == "_Point(x=1, y=7)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        _Point()  # type: ignore[call-arg]
    user = User(1, 2, "s", "d", "n", 1, "club", 3, 4)
    assert dataclasses.astuple(user) == (1, 2, "s", "d", "n", 1, "club", 3, 4)
    chat = ChatEvent(msg_id=5, room_id=6, server_time_ms=7, user=user, content="hi", event_time_s=8)
    assert (chat.msg_id, chat.user, chat.content) == (5, user, "hi")


def test_quick_init_refuses_what_it_cannot_honour() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        x: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="frozen=True, slots=True"):
        quick_init(NoSlots)
    with pytest.raises(TypeError, match="cannot honour"):
        quick_init(Factory)


def test_quick_factory_makes_what_the_class_makes() -> None:
    user_values = (1, 2, "s", "d", "n", 1, "club", 3, 4)
    made_user = quick_factory(User)(*user_values)
    # ChatEvent's first three slots are its base Event's: the twin shares that base.
    made = quick_factory(ChatEvent)(5, 6, 7, made_user, "hi", 8)
    built = ChatEvent(5, 6, 7, User(*user_values), "hi", 8)
    assert type(made) is ChatEvent
    assert type(made.user) is User
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    assert dataclasses.astuple(made_user) == user_values
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.content = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made_user.nickname = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        quick_factory(User)(1, 2)  # every field


def test_quick_factory_refuses_what_it_cannot_make() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        x: int

    with pytest.raises(TypeError, match="frozen=True, slots=True"):
        quick_factory(Mutable)
    with pytest.raises(TypeError, match="cannot honour"):
        quick_factory(_Point)  # y has a default
