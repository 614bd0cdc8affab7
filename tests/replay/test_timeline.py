"""The replay page's pure shapes: a window of events, the per-minute chart.

Through the real daemon (the routes, the page, a browser) they are shown by
``tests/web/test_replay_page.py``.
"""

from __future__ import annotations

from typing import Any

from dylived.replay import timeline


def row(kind: str, offset: Any, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "stream_offset_s": offset, "user": {"nickname": "小明"}, **extra}


def test_a_window_keeps_chat_gifts_and_joins_with_their_offsets_and_readable_text() -> None:
    rows = [
        (1, row("chat", 59.5, content="<b>hi</b>")),
        (2, row("gift", 60.25, gift_name="玫瑰", repeat_count=3)),
        (3, row("member", 61)),
        (4, row("like", 62, count=5)),  # not a kind the page shows
        (5, row("chat", None, content="no offset")),
        (6, row("emoji_chat", 63.0, default_content="[smile]")),
    ]
    lines = timeline.window(rows)
    assert [(e["seq"], e["t"], e["kind"]) for e in lines] == [
        (1, 59.5, "chat"),
        (2, 60.25, "gift"),
        (3, 61.0, "join"),
        (6, 63.0, "chat"),
    ]
    assert lines[0]["text"] == "小明: <b>hi</b>"  # as text: the page never parses it as HTML
    assert lines[1]["text"].startswith("小明 sent 玫瑰 ×3")
    assert timeline.types_of({"chat", "join"}) == ("chat", "emoji_chat", "member")


def test_the_chart_has_a_bucket_per_minute_with_counts_and_the_most_viewers() -> None:
    histogram = [
        (0, "chat", 4, None),
        (0, "viewer_count", 2, 120),
        (2, "gift", 1, None),
        (2, "like", 7, None),
        (2, "viewer_count", 1, 90),
    ]
    buckets = timeline.chart(histogram, duration_s=150.0)
    assert [b["from_s"] for b in buckets] == [0.0, 60.0, 120.0]
    assert [(b["chat"], b["gift"], b["join"], b["events"]) for b in buckets] == [
        (4, 0, 0, 6),
        (0, 0, 0, 0),
        (0, 1, 0, 9),
    ]
    assert [b["viewers"] for b in buckets] == [120, None, 90]
    # a live session: events past the recorded duration still get their minute
    assert len(timeline.chart([(4, "chat", 1, None)], duration_s=30.0)) == 5
    assert timeline.chart([], duration_s=0.0) == []
