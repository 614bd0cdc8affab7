"""The dispatcher against a real webhook on 127.0.0.1 (real HTTP client, real sockets): the
body's shape, once per key, drop-oldest when full, retries and their cap, a hanging target not
holding the others; the event sources that need no daemon (disk, breaker)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace

import anyio
import anyio.to_thread
import pytest

from dylived.alerts.delivery import Dispatcher
from dylived.alerts.events import Alert, AlertBus
from dylived.alerts.service import Alerts
from dylived.alerts.sources import BreakerAlerts, DiskWatch, ErrorLogAlerts
from dylived.config.load import PollConfig
from dylived.config.notify import NotifyTarget
from dylived.errors import CookieRejected, RiskControl
from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.watch.watchlist import PlatformGate
from tests.alerts.webhook import WebhookServer
from tests.daemon_rig import wait_for


pytestmark = pytest.mark.anyio


def alert(event: str = "live", session_id: int = 7) -> Alert:
    return Alert(
        event, f"alice: {event}", f"{event}:{session_id}", "alice", "douyin", session_id, "晚安"
    )


async def test_the_webhook_gets_the_documented_body_once_per_key(webhook: WebhookServer) -> None:
    targets = [NotifyTarget(webhook.url("/ok"))]
    async with HttpClient(user_agent="t") as http, anyio.create_task_group() as tg:
        dispatcher = Dispatcher(lambda: targets, http)
        await tg.start(dispatcher.run)
        dispatcher.offer(alert())
        dispatcher.offer(alert())  # the same session's live again: not sent twice
        dispatcher.offer(alert("ended"))
        await wait_for(lambda: len(webhook.bodies("/ok")) >= 2, 10, "two POSTs")
        await anyio.sleep(0.3)
        tg.cancel_scope.cancel()
    # up to 4 sends run at once, so the two may arrive in either order
    live, ended = sorted(webhook.bodies("/ok"), key=lambda b: b["event"] != "live")
    assert [r[3] for r in webhook.requests] == ["application/json; charset=utf-8"] * 2
    assert set(live) == {
        "event", "time", "broadcaster", "platform", "session_id", "title", "message", "key",
        "details",
    }  # fmt: skip
    assert (live["event"], live["broadcaster"], live["platform"]) == ("live", "alice", "douyin")
    assert (live["session_id"], live["title"], live["key"]) == (7, "晚安", "live:7")
    assert live["time"].endswith("Z")
    assert ended["event"] == "ended"
    assert dispatcher.counts == {("live", "sent"): 1, ("ended", "sent"): 1}


async def test_a_full_queue_drops_the_oldest_and_counts_it(webhook: WebhookServer) -> None:
    targets = [NotifyTarget(webhook.url("/ok"))]
    async with HttpClient(user_agent="t") as http:
        dispatcher = Dispatcher(lambda: targets, http, queue_size=2)
        for session_id in (1, 2, 3):  # the sender is not running yet: the queue fills
            dispatcher.offer(alert(session_id=session_id))
        assert dispatcher.queued == 2
        async with anyio.create_task_group() as tg:
            await tg.start(dispatcher.run)
            await wait_for(lambda: len(webhook.bodies("/ok")) == 2, 10, "two POSTs")
            tg.cancel_scope.cancel()
    assert sorted(b["session_id"] for b in webhook.bodies("/ok")) == [2, 3]
    assert dispatcher.counts == {("live", "dropped"): 1, ("live", "sent"): 2}


async def test_failures_are_retried_up_to_the_cap_and_a_hang_holds_up_nothing(
    webhook: WebhookServer,
) -> None:
    failing = NotifyTarget(webhook.url("/fail"), retries=2, timeout=2)
    hanging = NotifyTarget(webhook.url("/hang"), retries=1, timeout=0.5)
    good = NotifyTarget(webhook.url("/ok"))
    async with HttpClient(user_agent="t") as http, anyio.create_task_group() as tg:
        dispatcher = Dispatcher(lambda: [hanging, failing, good], http, backoff_first=0.1)
        await tg.start(dispatcher.run)
        offered = time.monotonic()
        dispatcher.offer(alert())
        await wait_for(lambda: webhook.bodies("/ok"), 5, "the good target's POST")
        good_after = webhook.requests[-1][0] - offered if webhook.bodies("/ok") else 99.0
        await wait_for(lambda: dispatcher.counts[("live", "failed")] == 2, 10, "both given up")
        tg.cancel_scope.cancel()
    assert good_after < 0.5  # not behind the hanging target's 0.5 s attempts
    assert len(webhook.bodies("/fail")) == 3  # the first attempt and 2 retries
    assert len(webhook.bodies("/hang")) == 2
    assert dispatcher.counts == {("live", "sent"): 1, ("live", "failed"): 2}


async def test_disk_low_is_told_once_per_episode(tmp_path: Path) -> None:
    bus, seen = AlertBus(), list[Alert]()
    bus.subscribe(seen.append)
    free = [10_000]
    watch = DiskWatch(bus, lambda: (tmp_path, 5_000), free=lambda _: free[0], interval=0.02)
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch.run)
        await anyio.sleep(0.1)
        free[0] = 4_000  # low
        await wait_for(lambda: seen, 5, "disk_low")
        await anyio.sleep(0.1)  # still low: nothing new
        free[0] = 10_000  # recovered (above min_free + 25 %)
        await anyio.sleep(0.1)
        free[0] = 1_000  # low again: a second episode
        await wait_for(lambda: len(seen) == 2, 5, "the second disk_low")
        tg.cancel_scope.cancel()
    assert [(a.event, a.key, a.details["free_bytes"]) for a in seen] == [
        ("disk_low", "disk_low:1", 4_000),
        ("disk_low", "disk_low:2", 1_000),
    ]


async def test_the_breaker_opening_and_closing_is_blocked_then_unblocked() -> None:
    bus, seen = AlertBus(), list[Alert]()
    bus.subscribe(seen.append)
    gate = PlatformGate("douyin", PollConfig(breaker_pause=0.2, breaker_pause_max=1))
    gate.on_breaker = BreakerAlerts(bus).changed

    async def refused() -> LiveStatus:
        raise RiskControl("HTTP 403")

    async def fine() -> LiveStatus:
        return LiveStatus(live=False)

    with pytest.raises(RiskControl):
        await gate.check(refused)
    await anyio.sleep(0.3)  # the pause is over: the next check is the probe
    await gate.check(fine)
    assert [(a.event, a.key) for a in seen] == [
        ("blocked", "blocked:douyin:1"),
        ("unblocked", "unblocked:douyin:1"),
    ]
    assert "HTTP 403" in seen[0].message


async def test_an_error_logged_anywhere_in_the_daemon_is_a_daemon_error_once_an_hour() -> None:
    bus, seen = AlertBus(), list[Alert]()
    bus.subscribe(seen.append)
    handler = ErrorLogAlerts(bus)
    log = logging.getLogger("dylived.store.writer")
    log.addHandler(handler)
    try:
        log.error("store writer made no progress; withholding the watchdog ping")
        await anyio.to_thread.run_sync(lambda: log.error("from a worker thread: %d", 3))
        log.warning("not an error")
        logging.getLogger("dylived.alerts.delivery").error("gave up")  # its own: no loop
        await wait_for(lambda: len(seen) == 2, 5, "two daemon_error alerts")
    finally:
        log.removeHandler(handler)
    first, second = seen
    assert first.event == second.event == "daemon_error"
    assert first.message == (
        "dylived error (dylived.store.writer): store writer made no progress; "
        "withholding the watchdog ping"
    )
    assert second.details["message"] == "from a worker thread: 3"
    assert first.key != second.key


async def test_a_refused_login_cookie_is_one_cookie_invalid_per_platform_and_episode() -> None:
    verdicts: list[LiveStatus | Exception] = [
        LiveStatus(live=False),  # no login cookie configured: nothing to say
        LiveStatus(live=False, cookie_accepted=True),
        LiveStatus(live=True, cookie_accepted=False, cookie_problem="logged-out answer"),
        CookieRejected("the configured login cookie was refused: 用户未登录"),
        LiveStatus(live=False, cookie_accepted=False, cookie_problem="logged-out answer"),
        LiveStatus(live=False, cookie_accepted=True),  # works again
        CookieRejected("the configured login cookie was refused: 请先登录"),
    ]

    async def fetch(broadcaster: object) -> LiveStatus:
        verdict = verdicts.pop(0)
        if isinstance(verdict, Exception):
            raise verdict
        return verdict

    def who(key: str, platform: str = "douyin") -> SimpleNamespace:
        return SimpleNamespace(key=key, platform=platform)

    async with Alerts.open(lambda: SimpleNamespace(notify=())) as alerts:
        seen = list[Alert]()
        alerts.bus.subscribe(seen.append)
        checked = alerts.cookie_checked(fetch)
        statuses: list[LiveStatus | None] = []
        for key in ("alice", "alice", "alice", "bob", "alice", "alice", "bob"):
            try:
                statuses.append(await checked(who(key)))
            except CookieRejected:
                statuses.append(None)
            if len(statuses) == 5:
                refused_then = alerts.cookies.status()
        alerts.cookies.seen("carol", "tiktok", False, "sessionid refused")  # its own episode
    assert [s.live if s else None for s in statuses] == [
        False,
        False,
        True,
        None,
        False,
        False,
        None,
    ]
    assert [(a.event, a.key, a.broadcaster, a.platform) for a in seen] == [
        ("cookie_invalid", "cookie_invalid:douyin:1", "alice", "douyin"),
        ("cookie_invalid", "cookie_invalid:douyin:2", "bob", "douyin"),
        ("cookie_invalid", "cookie_invalid:tiktok:1", "carol", "tiktok"),
    ]
    assert seen[0].details == {"detail": "logged-out answer"}
    assert "请先登录" in seen[1].details["detail"]
    assert refused_then["douyin"]["broadcaster"] == "alice"
    assert set(alerts.cookies.status()) == {"douyin", "tiktok"}
    assert alerts.cookies.status()["douyin"]["broadcaster"] == "bob"
