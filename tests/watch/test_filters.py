"""The pure recording filters (dylived/watch/filters.py): windows, midnight, DST, titles; and
the config keys that feed them (``[recording]`` defaults, per broadcaster overrides)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from dylived.config.load import loads_config, render_config
from dylived.errors import ConfigError
from dylived.watch.filters import (
    DAY_S,
    FilterOptions,
    decide,
    parse_window,
    parse_windows,
)


SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def at(tz: ZoneInfo, y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=tz)


def windows(*texts: str, **kw: object) -> FilterOptions:
    return FilterOptions(tuple(parse_window(t) for t in texts), **kw)  # type: ignore[arg-type]


def test_a_window_across_midnight_holds_late_evening_and_early_morning() -> None:
    options = windows("20:00-02:00")
    assert decide(at(SHANGHAI, 2026, 12, 2, 23, 30), SHANGHAI, options, "").record
    assert decide(at(SHANGHAI, 2026, 12, 3, 1, 59, 59), SHANGHAI, options, "").record
    noon = decide(at(SHANGHAI, 2026, 12, 3, 2, 0), SHANGHAI, options, "")
    assert (noon.record, noon.capture) == (False, False)
    assert noon.reason == "outside record_windows (next 20:00)"


def test_windows_are_compared_in_the_daemon_time_zone_not_utc() -> None:
    options = windows("20:00-22:00")
    utc_noon_plus = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
    assert decide(utc_noon_plus, SHANGHAI, options, "").record
    assert not decide(utc_noon_plus, BERLIN, options, "").record  # 13:30 in Berlin


def test_the_next_opening_is_the_nearest_start_wrapping_at_midnight() -> None:
    options = windows("08:00-09:00", "20:00-21:00:30")
    assert "next 20:00" in decide(at(SHANGHAI, 2026, 1, 1, 12), SHANGHAI, options, "").reason
    assert "next 08:00" in decide(at(SHANGHAI, 2026, 1, 1, 22), SHANGHAI, options, "").reason


def test_capture_outside_windows_keeps_events_but_not_video() -> None:
    options = windows("20:00-21:00", capture_outside_windows=True)
    d = decide(at(SHANGHAI, 2026, 1, 1, 12), SHANGHAI, options, "")
    assert (d.record, d.capture) == (False, True)


def test_dst_days_follow_the_wall_clock() -> None:
    # Berlin 2026-03-29: 02:00 → 03:00; 2026-10-25: 03:00 → 02:00 (02:30 happens twice)
    options = windows("02:15-03:30")
    spring = datetime(2026, 3, 29, 1, 10, tzinfo=UTC)  # 03:10 CEST, inside
    assert decide(spring, BERLIN, options, "").record
    first, second = (datetime(2026, 10, 25, h, 30, tzinfo=UTC) for h in (0, 1))  # 02:30 twice
    assert decide(first, BERLIN, options, "").record
    assert decide(second, BERLIN, options, "").record
    assert not decide(datetime(2026, 10, 25, 2, 40, tzinfo=UTC), BERLIN, options, "").record


def test_titles_exclude_first_then_include_case_insensitive() -> None:
    options = FilterOptions(title_include=("Live", "唱歌"), title_exclude=("rerun",))
    now = at(SHANGHAI, 2026, 1, 1, 12)
    assert decide(now, SHANGHAI, options, "LIVE tonight").record
    assert decide(now, SHANGHAI, options, "今晚唱歌").record
    assert decide(now, SHANGHAI, options, "Live RERUN").reason == 'title excludes "rerun"'
    d = decide(now, SHANGHAI, options, "chatting")
    assert (d.record, d.capture) == (False, True)
    assert d.reason == 'title has none of "Live", "唱歌"'
    assert decide(now, SHANGHAI, FilterOptions(title_include=("x",)), "").reason == (
        'title lacks "x"'
    )


@pytest.mark.parametrize(
    "text", ["24:00-02:00", "20:00-24:00", "8:00-9:00", "20:00", "10:00-10:00", "20:60-21:00", 3]
)
def test_bad_windows_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match=r"not a window|empty"):
        parse_window(text)


hms = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))


@given(start=hms, end=hms, moment=st.integers(0, 400 * DAY_S))
def test_a_window_holds_exactly_the_seconds_between_its_ends(
    start: tuple[int, int, int], end: tuple[int, int, int], moment: int
) -> None:
    s = start[0] * 3600 + start[1] * 60 + start[2]
    e = end[0] * 3600 + end[1] * 60 + end[2]
    if s == e:
        return
    text = "{:02d}:{:02d}:{:02d}-{:02d}:{:02d}:{:02d}".format(*start, *end)
    options = windows(text)
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=moment)
    local = now.astimezone(BERLIN)
    second = local.hour * 3600 + local.minute * 60 + local.second
    # the seconds since the window opened, counted on the wall clock, are fewer than its length
    expected = (second - s) % DAY_S < (e - s) % DAY_S
    d = decide(now, BERLIN, options, "")
    assert d.record is expected
    assert d.capture is expected
    assert d.reason == ("" if expected else f"outside record_windows (next {text[:8]})")


@given(st.text(max_size=20), st.text(min_size=1, max_size=5).filter(str.strip))
def test_an_excluded_keyword_anywhere_in_any_case_keeps_it_out(title: str, word: str) -> None:
    now = at(SHANGHAI, 2026, 1, 1, 12)
    options = FilterOptions(title_exclude=(word,))
    for variant in (title + word.upper() + title, word.lower() + title):
        if word.casefold() in variant.casefold():
            assert not decide(now, SHANGHAI, options, variant).record


def test_config_defaults_and_overrides_reach_each_broadcaster() -> None:
    config = loads_config(
        """
[recording]
record_windows = ["20:00-02:00"]
title_exclude = ["rerun"]
[[broadcaster]]
target = "https://live.douyin.com/1111"
[[broadcaster]]
target = "https://live.douyin.com/2222"
record_windows = []
capture_outside_windows = true
title_include = ["sing"]
"""
    )
    a, b = config.broadcasters
    assert a.recording.record_windows == ("20:00-02:00",)
    assert a.recording.title_exclude == ("rerun",) == b.recording.title_exclude
    assert b.recording.record_windows == ()
    assert (b.recording.capture_outside_windows, b.recording.title_include) == (True, ("sing",))
    assert loads_config(render_config(config)).broadcasters == config.broadcasters  # print-config


def test_check_config_lists_every_bad_window_and_keyword_with_its_place() -> None:
    with pytest.raises(ConfigError) as raised:
        loads_config(
            """
[recording]
record_windows = ["20:00-24:00", "10:00-10:00"]
[[broadcaster]]
target = "https://live.douyin.com/1111"
record_windows = "20:00-22:00"
title_include = "x"
title_exclude = ["ok", 3, ""]
"""
        )
    problems = raised.value.problems
    assert [p.partition(":")[0] for p in problems] == [
        "recording.record_windows[1]",
        "recording.record_windows[2]",
        "broadcaster[1].record_windows",
        "broadcaster[1].title_include",
        "broadcaster[1].title_exclude[2]",
        "broadcaster[1].title_exclude[3]",
    ]
    assert "24:00" in problems[0]
    assert "empty" in problems[1]


def test_parse_windows_keeps_good_windows_trimmed() -> None:
    assert parse_windows([" 20:00-02:00 ", "08:00:30-09:00"]) == ("20:00-02:00", "08:00:30-09:00")
