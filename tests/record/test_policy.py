"""The pure decisions of the supervisor: transitions, exit classification, restarts, source."""

from __future__ import annotations

import pytest

from dylived.errors import UpstreamError
from dylived.model import LiveStatus, StreamVariant
from dylived.record.policy import (
    TRANSITIONS,
    ExitKind,
    RecorderEvent as E,
    RecorderState as S,
    RestartPolicy,
    choose_source,
    classify_exit,
    next_state,
)


@pytest.mark.parametrize(
    ("path", "end"),
    [
        ([E.START, E.PROGRESS, E.PROGRESS, E.STOP, E.PROCESS_EXIT, E.FINISH], S.EXITED),
        ([E.START, E.PROCESS_EXIT, E.RETRY, E.PROGRESS], S.RUNNING),  # failed start, retried
        ([E.START, E.PROGRESS, E.PROCESS_EXIT, E.GIVE_UP], S.FATAL),
        ([E.START, E.STOP, E.STOP, E.PROGRESS, E.PROCESS_EXIT], S.BACKOFF),
    ],
)
def test_transition_paths(path: list[E], end: S) -> None:
    state = S.EXITED
    for event in path:
        state = next_state(state, event)
    assert state is end


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.EXITED, E.PROGRESS),
        (S.RUNNING, E.START),
        (S.BACKOFF, E.PROGRESS),
        (S.FATAL, E.RETRY),
        (S.FATAL, E.START),
        (S.STOPPING, E.RETRY),
    ],
)
def test_illegal_transitions_raise(state: S, event: E) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        next_state(state, event)


def test_fatal_is_terminal_and_every_state_is_reachable() -> None:
    assert not [key for key in TRANSITIONS if key[0] is S.FATAL]
    assert {S.EXITED} | set(TRANSITIONS.values()) == set(S)


@pytest.mark.parametrize(
    ("returncode", "ours", "refused", "kind"),
    [
        (0, None, False, ExitKind.ENDED),
        (255, None, False, ExitKind.CRASHED),
        (-9, None, False, ExitKind.CRASHED),
        (1, None, True, ExitKind.REFUSED),
        (255, ExitKind.STALL, True, ExitKind.STALL),  # our reason wins
        (0, ExitKind.STOPPED, False, ExitKind.STOPPED),
        (0, ExitKind.DISK, False, ExitKind.DISK),
    ],
)
def test_classify_exit(
    returncode: int, ours: ExitKind | None, refused: bool, kind: ExitKind
) -> None:
    assert classify_exit(returncode, ours, refused) is kind


def test_restart_policy_backs_off_then_gives_up() -> None:
    policy = RestartPolicy(start_secs=5, start_retries=3, delays=(0.0, 1.0, 2.0))
    assert [policy.delay(n) for n in range(5)] == [0.0, 1.0, 2.0, 2.0, None]
    assert policy.is_failed_start(4.9)
    assert not policy.is_failed_start(5.0)


def _status(**variants: StreamVariant) -> LiveStatus:
    return LiveStatus(live=True, streams=variants)


def test_source_prefers_flv_and_falls_back_to_nearest_quality() -> None:
    hd = StreamVariant("hd", flv_url="http://h/hd.flv", hls_url="http://h/hd.m3u8", codec="h264")
    ld = StreamVariant("ld", flv_url="http://h/ld.flv")
    source = choose_source(_status(hd=hd, ld=ld), "origin", flv_failures=0, max_flv=3)
    assert (source.url, source.kind, source.quality, source.fell_back) == (
        "http://h/hd.flv",
        "flv",
        "hd",
        True,
    )
    exact = choose_source(_status(hd=hd, ld=ld), "SD1", flv_failures=0, max_flv=3)  # legacy → ld
    assert (exact.quality, exact.fell_back) == ("ld", False)


def test_source_uses_hls_for_h265_or_after_flv_failures() -> None:
    h265 = StreamVariant(
        "origin", flv_url="http://h/o.flv", hls_url="http://h/o.m3u8", codec="h265"
    )
    assert choose_source(_status(origin=h265), "origin", 0, 3).kind == "hls"
    h264 = StreamVariant(
        "origin", flv_url="http://h/o.flv", hls_url="http://h/o.m3u8", codec="h264"
    )
    assert choose_source(_status(origin=h264), "origin", 2, 3).kind == "flv"
    assert choose_source(_status(origin=h264), "origin", 3, 3).kind == "hls"
    flv_only = StreamVariant("origin", flv_url="http://h/o.flv")
    assert choose_source(_status(origin=flv_only), "origin", 9, 3).kind == "flv"


def test_source_prefers_hls_for_an_ffmpeg_that_loses_size_changes_in_flv() -> None:
    both = StreamVariant("origin", flv_url="http://h/o.flv", hls_url="http://h/o.m3u8")
    assert choose_source(_status(origin=both), "origin", 0, 3).kind == "flv"
    assert choose_source(_status(origin=both), "origin", 0, 3, prefer_hls=True).kind == "hls"
    flv_only = StreamVariant("origin", flv_url="http://h/o.flv")
    assert choose_source(_status(origin=flv_only), "origin", 0, 3, prefer_hls=True).kind == "flv"


def test_source_without_urls() -> None:
    with pytest.raises(UpstreamError):
        choose_source(_status(), "origin", 0, 3)
    with pytest.raises(ValueError, match="no URL"):
        choose_source(_status(origin=StreamVariant("origin")), "origin", 0, 3)
