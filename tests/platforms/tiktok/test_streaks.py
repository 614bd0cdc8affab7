"""Gift streaks: one row per streak with the full count, at its end; others at once; a streak
that never closes comes out (marked) on flush or when too many are open."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st

from dylived.platforms.tiktok._pb import tiktok_pb2 as pb
from dylived.platforms.tiktok.decode import decode_message
from dylived.platforms.tiktok.streaks import GiftStreaks


def _gift(
    user_id: int, gift_id: int, group_id: int, count: int, end: int, gift_type: int = 1
) -> dict[str, Any]:
    m = pb.GiftMessage(gift_id=gift_id, group_id=group_id, repeat_count=count, repeat_end=end)
    m.common.msg_id = user_id * 1000 + count + end
    m.user.id = user_id
    m.gift.type, m.gift.diamond_count, m.gift.name = gift_type, 5, f"g{gift_id}"
    return decode_message("WebcastGiftMessage", m.SerializeToString())


def _feed(streaks: GiftStreaks, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [kept for row in rows for kept in streaks.feed(row)]


def test_a_streak_is_one_row_at_its_end_with_the_full_count() -> None:
    streaks = GiftStreaks()
    taps = [_gift(1, 5655, 77, n, 0) for n in range(1, 6)]
    assert _feed(streaks, taps) == []
    assert streaks.open_streaks == 1
    (row,) = streaks.feed(_gift(1, 5655, 77, 5, 1))
    assert (row["repeat_count"], row["repeat_end"], row["streak_final"]) == (5, 1, True)
    assert (row["diamond_total"], row["streak_interrupted"]) == (25, False)
    assert streaks.open_streaks == 0
    assert streaks.flush() == []


def test_a_closer_with_a_smaller_count_keeps_the_largest_seen() -> None:
    streaks = GiftStreaks()
    _feed(streaks, [_gift(1, 5655, 77, 9, 0)])
    (row,) = streaks.feed(_gift(1, 5655, 77, 1, 1))
    assert (row["repeat_count"], row["diamond_total"]) == (9, 45)


def test_non_streakable_gifts_and_other_rows_pass_at_once() -> None:
    streaks = GiftStreaks()
    expensive = _gift(2, 7934, 0, 1, 0, gift_type=2)
    (row,) = streaks.feed(expensive)
    assert (row["streak_final"], row["streak_interrupted"], row["diamond_total"]) == (
        True,
        False,
        5,
    )
    like = decode_message("WebcastLikeMessage", pb.LikeMessage(count=3).SerializeToString())
    assert streaks.feed(like) == [like]


def test_interleaved_streaks_of_two_senders_stay_apart() -> None:
    streaks = GiftStreaks()
    rows = [
        _gift(1, 5655, 10, 1, 0),
        _gift(2, 5655, 20, 1, 0),
        _gift(1, 5655, 10, 2, 0),
        _gift(2, 5655, 20, 1, 1),
        _gift(1, 5655, 10, 3, 1),
    ]
    kept = _feed(streaks, rows)
    assert [(r["user"]["user_id"], r["repeat_count"]) for r in kept] == [("2", 1), ("1", 3)]


def test_an_unclosed_streak_comes_out_marked_on_flush() -> None:
    streaks = GiftStreaks()
    _feed(streaks, [_gift(1, 5655, 77, 1, 0), _gift(1, 5655, 77, 4, 0)])
    (row,) = streaks.flush()
    assert (row["repeat_count"], row["streak_final"], row["streak_interrupted"]) == (4, True, True)
    assert row["diamond_total"] == 20
    assert streaks.open_streaks == 0


def test_too_many_open_streaks_evict_the_oldest_marked() -> None:
    streaks = GiftStreaks(max_open=2)
    kept = _feed(streaks, [_gift(u, 1, u, 1, 0) for u in (1, 2, 3)])
    assert [(r["user"]["user_id"], r["streak_interrupted"]) for r in kept] == [("1", True)]
    assert streaks.open_streaks == 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 20), st.booleans()), min_size=1, max_size=8
    ),
    st.randoms(use_true_random=False),
)
def test_each_streak_is_counted_once_with_its_final_count(
    plan: list[tuple[int, int, bool]], rnd: Any
) -> None:
    # plan: per streak (sender, taps, closed?); the taps of all streaks interleave at random
    queues = []
    for group, (user, taps, closed) in enumerate(plan):
        rows = [_gift(user, 5655, group + 1, n, 0) for n in range(1, taps + 1)]
        if closed:
            rows.append(_gift(user, 5655, group + 1, taps, 1))
        queues.append(rows)
    arrival = []
    while any(queues):
        queue = rnd.choice([q for q in queues if q])
        arrival.append(queue.pop(0))
    streaks = GiftStreaks()
    kept = _feed(streaks, arrival) + streaks.flush()
    assert sorted((r["group_id"], r["repeat_count"]) for r in kept) == sorted(
        (str(group + 1), taps) for group, (_, taps, _) in enumerate(plan)
    )
    assert all(r["streak_interrupted"] is not closed for r, (_, _, closed) in zip(
        sorted(kept, key=lambda r: int(r["group_id"])), plan, strict=True
    ))  # fmt: skip
