"""The pure parts of capture: reconnect policy, counters, the factory."""

from __future__ import annotations

import random

import pytest

from dylived.capture.component import (
    CaptureSettings,
    EventCapture,
    EventRate,
    ReconnectPolicy,
    UndecodableMonitor,
    UnknownSampler,
    capture_factory,
)
from dylived.config.load import loads_config
from dylived.model import ExitReason, LiveStatus
from dylived.platforms.douyin.client import DouyinPlatform
from dylived.watch.session import SessionContext


SETTINGS = CaptureSettings()


def test_reconnect_delays_grow_2_4_8_16_30_and_reset_only_after_a_healthy_connection() -> None:
    policy = ReconnectPolicy(SETTINGS, random.Random(1))
    assert policy.delay() == 0.0  # the first connection goes at once
    nominal = []
    for _ in range(6):
        policy.connection_ended(lasted_s=5.0, got_frames=True)
        nominal.append(policy.delay())
    for got, want in zip(nominal, (2, 4, 8, 16, 30, 30), strict=True):
        assert want * 0.9 <= got <= want * 1.1
    policy.connection_ended(lasted_s=60.0, got_frames=True)
    assert 1.8 <= policy.delay() <= 2.2
    assert policy.delay(at_least=12.0) == 12.0
    assert not policy.should_give_up()


def test_give_up_after_attempts_without_events_and_events_reset_the_count() -> None:
    policy = ReconnectPolicy(SETTINGS, random.Random(1))
    for _ in range(SETTINGS.max_failed_attempts - 1):
        policy.refused()
    policy.events_arrived()
    for _ in range(SETTINGS.max_failed_attempts - 1):
        policy.refused()
    assert not policy.should_give_up()
    policy.connection_ended(lasted_s=0.1, got_frames=False)
    assert policy.should_give_up()
    network = ReconnectPolicy(SETTINGS, random.Random(1))
    for _ in range(50):
        network.failed()  # network failures are retried for the whole session
    assert not network.should_give_up()
    assert 27 <= network.delay() <= 33


def test_unknown_sampler_caps_per_method_and_in_total() -> None:
    sampler = UnknownSampler(per_method=2, total=3)
    taken = [sampler.take(m) for m in ("A", "A", "A", "B", "B", "C")]
    assert taken == [True, True, False, True, False, False]
    assert sampler.seen == 6


def test_undecodable_monitor_warns_above_the_share_at_most_once_a_minute() -> None:
    monitor = UndecodableMonitor(window=1000, share=0.05)
    for _ in range(950):
        monitor.add(False)
    for _ in range(50):
        monitor.add(True)
    assert monitor.current_share == 0.05
    assert not monitor.should_warn(0.0)
    for _ in range(20):
        monitor.add(True)  # the oldest good ones leave the window
    assert monitor.current_share == pytest.approx(0.07)
    assert monitor.should_warn(1.0)
    assert not monitor.should_warn(30.0)
    assert monitor.should_warn(62.0)


def test_event_rate_counts_the_last_minute() -> None:
    rate = EventRate()
    rate.add(100.2, 5)
    rate.add(100.7, 5)
    rate.add(130.0, 3)
    assert rate.per_minute(131.0) == 13
    assert rate.per_minute(161.0) == 3
    assert rate.per_minute(200.0) == 0


class _Owner:
    def hint_stream_may_have_ended(self) -> None: ...

    def request_session_end(self, reason: ExitReason) -> None: ...


def test_factory_skips_recording_only_broadcasters_and_passes_exclude_events() -> None:
    config = loads_config(
        """
[[broadcaster]]
target = "200000000001"
name = "a"
exclude_events = ["like"]

[[broadcaster]]
target = "200000000002"
name = "b"
capture_events = false
"""
    )
    platform = DouyinPlatform(None, config.section("douyin"))  # type: ignore[arg-type]  # no request made
    source = platform.event_source(config.section("douyin"))
    factory = capture_factory(SETTINGS, None, source)  # type: ignore[arg-type]
    status = LiveStatus(live=True, room_id="1")
    a, b = config.broadcasters
    made = factory(SessionContext("a", a, status, None, 0, _Owner()))  # type: ignore[arg-type]
    assert isinstance(made, EventCapture)
    assert made.name == "capture"
    assert made.exclude_events == {"like"}
    assert made.source is source
    assert source.hosts == config.section("douyin").ws_hosts
    assert source.origin == "https://live.douyin.com"
    assert factory(SessionContext("b", b, status, None, 0, _Owner())) is None  # type: ignore[arg-type]
