"""The pure parts of the control interface: dylivectl's human formatting and /metrics text."""

from __future__ import annotations

import json

import pytest

from dylived.control import metrics, render
from dylived.control.api import BroadcasterMetrics, MetricsSnapshot, PlatformMetrics


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "-"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (12 * 1024**2, "12 MiB"),
        (int(3.4 * 1024**3), "3.4 GiB"),
        (5 * 1024**5, "5120 TiB"),
    ],
)
def test_human_bytes(n: int | None, text: str) -> None:
    assert render.human_bytes(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "-"),
        (7, "7"),
        (2.5, "2.5"),
        (321.5, "322"),
        (1234, "1.2k"),
        (56_789, "57k"),
        (1_500_000, "1.5M"),
    ],
)
def test_human_count(n: float | None, text: str) -> None:
    assert render.human_count(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (-3, "0s"), (45, "45s"), (192, "3m12s"), (7500, "2h05m"), (273_600, "3d04h")],
)
def test_human_duration(seconds: float | None, text: str) -> None:
    assert render.human_duration(seconds) == text


def test_relative_times() -> None:
    now = 1_800_000_000.0
    assert render.ago(None, now) == "-"
    assert render.ago(int(now * 1000), now) == "just now"
    assert render.ago(int((now - 42) * 1000), now) == "42s ago"
    assert render.ago(int((now - 180) * 1000), now) == "3m ago"
    assert render.ago(int((now - 7500) * 1000), now) == "2h05m ago"
    assert render.since(int((now - 7500) * 1000), now) == "for 2h05m"


def test_table_aligns_wide_characters_and_truncates_by_columns() -> None:
    text = render.table(["A", "B"], [["深夜", "x"], ["ab", "y"]])
    lines = text.splitlines()
    columns = [
        render.display_width(line[: line.index(c)]) for line, c in zip(lines, "Bxy", strict=True)
    ]
    assert columns == [6, 6, 6]
    assert render.truncate("深夜聊天直播", 7) == "深夜聊…"
    assert render.display_width(render.truncate("深夜聊天直播", 7)) <= 7


@pytest.mark.parametrize(
    ("row", "text"),
    [
        ({"type": "chat", "user": {"nickname": "小明"}, "content": "你好"}, "小明: 你好"),
        (
            {
                "type": "gift",
                "user": {"nickname": "a"},
                "gift_name": "嘉年华",
                "gift_diamond_count": 3000,
                "combo_count": 2,
            },
            "a sent 嘉年华 ×2 (6000 diamonds)",
        ),
        (
            {"type": "gift", "user": {"nickname": "a"}, "gift_id": 5},
            "a sent gift 5 ×1 (0 diamonds)",
        ),
        ({"type": "member", "user": {"user_id": "9"}}, "9 joined"),
        ({"type": "like", "user": {"nickname": "b"}, "count": 15}, "b liked ×15"),
        ({"type": "social", "user": {"nickname": "c"}, "action": "follow"}, "c followed"),
        (
            {"type": "viewer_count", "current_viewers_text": "1.2万", "total_users": 99},
            "viewers: 1.2万 (total 99)",
        ),
        ({"type": "control", "status": 3}, "the broadcaster ended the stream"),
        ({"type": "room_rank", "seq": 4, "room_id": "1", "ranks": []}, 'room_rank: {"ranks":[]}'),
    ],
)
def test_event_text(row: dict[str, object], text: str) -> None:
    assert render.event_text(row) == text


def test_metrics_text_format() -> None:
    snapshot = MetricsSnapshot(
        version="0.1.0",
        uptime_s=12.5,
        free_disk_bytes=1000,
        database_bytes=2048,
        store_rows_truncated=4,
        broadcasters=[
            BroadcasterMetrics(
                broadcaster='we"ird\\name\n',
                live=True,
                recording=False,
                events_by_type={"gift": 2, "chat": 10},
                segments=3,
                recorded_bytes=4096,
                reconnects=1,
                poll_errors=5,
                breaker="open",
                platform="douyin",
            )
        ],
        notifications={("live", "sent"): 2, ("ended", "failed"): 1},
        hook_runs={("on_segment_closed", "timeout"): 3},
        hooks_running=1,
        tasks=42,
        threads=3,
        platforms=[
            PlatformMetrics("tiktok", requests=7),
            PlatformMetrics(
                "douyin", "open", breaker_opened=2, in_flight=1, requests=40, risk_signals=3
            ),
        ],
    )
    text = metrics.render(snapshot)
    assert text.endswith("\n")
    label = 'broadcaster="we\\"ird\\\\name\\n"'
    for line in [
        "# TYPE dylived_events_total counter",
        'dylived_build_info{version="0.1.0"} 1',
        "dylived_uptime_seconds 12.5",
        "dylived_free_disk_bytes 1000",
        "dylived_database_bytes 2048",
        "dylived_store_rows_truncated_total 4",
        "dylived_store_rows_rejected_total 0",
        "dylived_store_values_out_of_range_total 0",
        f"dylived_broadcaster_live{{{label}}} 1",
        f"dylived_broadcaster_recording{{{label}}} 0",
        f'dylived_events_total{{{label},type="chat"}} 10',
        f'dylived_events_total{{{label},type="gift"}} 2',
        f"dylived_segments_total{{{label}}} 3",
        f"dylived_recorded_bytes_total{{{label}}} 4096",
        f"dylived_reconnects_total{{{label}}} 1",
        f"dylived_poll_errors_total{{{label}}} 5",
        f'dylived_breaker_state{{{label},platform="douyin",state="open"}} 1',
        f'dylived_breaker_state{{{label},platform="douyin",state="closed"}} 0',
        'dylived_platform_breaker_state{platform="douyin",state="open"} 1',
        'dylived_platform_breaker_state{platform="tiktok",state="open"} 0',
        'dylived_platform_breaker_state{platform="tiktok",state="closed"} 1',
        'dylived_breaker_opened_total{platform="douyin"} 2',
        'dylived_poll_requests_in_flight{platform="douyin"} 1',
        'dylived_poll_requests_total{platform="douyin"} 40',
        'dylived_poll_requests_total{platform="tiktok"} 7',
        'dylived_risk_signals_total{platform="douyin"} 3',
        'dylived_risk_signals_total{platform="tiktok"} 0',
        'dylived_notifications_total{event="live",result="sent"} 2',
        'dylived_notifications_total{event="ended",result="failed"} 1',
        'dylived_hook_runs_total{hook="on_segment_closed",result="timeout"} 3',
        "dylived_hooks_running 1",
        "dylived_tasks 42",
        "dylived_threads 3",
    ]:
        assert line in text.splitlines(), line
    # Every sample line belongs to a family declared by exactly one TYPE line before it.
    declared: list[str] = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            declared.append(line.split()[2])
        elif not line.startswith("#"):
            assert line.split("{")[0].split(" ")[0] == declared[-1]
    assert len(declared) == len(set(declared)) == 25


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "1"),
        (3, "3"),
        (2.0, "2"),
        (0.25, "0.25"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
    ],
)
def test_metric_values(value: float, text: str) -> None:
    assert metrics.format_value(value) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("小明", "小明"),
        ("a\x1b[31mb", "a\\x1b[31mb"),  # ESC (C0)
        ("\x1b]0;title\x07x", "\\x1b]0;title\\x07x"),  # OSC ended by BEL
        ("x\x9b2Jy", "x\\x9b2Jy"),  # CSI as one C1 character
        ("line\nnext\ttab\x7f", "line\\x0anext\\x09tab\\x7f"),
    ],
)
def test_clean_shows_every_control_character(text: str, shown: str) -> None:
    assert render.clean(text) == shown
    assert render.clean_tree({"k\x1b": [text, 3, None]}) == {"k\\x1b": [shown, 3, None]}


def test_json_text_escapes_what_json_dumps_leaves_raw() -> None:
    value = {"nickname": "a\x1b\x9b\x7fb", "title": "深夜"}
    text = render.json_text(value)
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\x7f" not in text
    assert "深夜" in text
    assert json.loads(text) == value


@pytest.mark.parametrize(
    ("rate", "text"), [(None, "-"), (0, "0 kbit/s"), (52_000, "416 kbit/s"), (3e5, "2.4 Mbit/s")]
)
def test_bit_rate(rate: float | None, text: str) -> None:
    assert render.bit_rate(rate) == text
