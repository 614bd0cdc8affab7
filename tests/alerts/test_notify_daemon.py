"""Notifications through the real daemon (a subprocess) against the simulator on 127.0.0.1.

A JSON webhook run by the test (``tests/alerts/webhook.py``) gets ``live`` and ``ended`` (with
the summary the store computed) for one recorded broadcast; a webhook that answers 500 and one
that never answers are retried while the recording's 6 s segments close on time; ``/metrics``
counts it all; ``dylivectl notify test`` prints the result per target; a risk-control answer
of the simulator is ``blocked``, the probe that passes after the pause ``unblocked``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest

from dylived.sim import RoomSpec, Scenario, Simulator
from tests.alerts.webhook import WebhookServer
from tests.conftest import REPO_ROOT
from tests.daemon.helpers import control, running_daemon
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

ALICE = "200000000001"
POLL = "interval = 1\njitter = 0.1\nlive_interval = 1\ngrace = 2\n"
SEGMENT_S = 6.0  # segment_minutes = 0.1


def notify_tables(*tables: tuple[str, str]) -> str:
    return "".join(f'[[notify]]\nurl = "{url}"\n{more}\n' for url, more in tables)


def metric(text: str, event: str, result: str) -> int:
    prefix = f'dylived_notifications_total{{event="{event}",result="{result}"}} '
    return next(
        (int(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), 0
    )


async def test_a_broadcast_is_notified_live_and_ended_and_bad_webhooks_delay_no_segment(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    scenario = Scenario(rooms=(RoomSpec(ALICE, title="深夜聊天", rates={"chat": 4}),))
    async with Simulator.running(scenario) as sim:
        extra = notify_tables(
            (webhook.url("/ok"), ""),
            (webhook.url("/ok?ended-only"), 'events = ["ended"]\nbroadcasters = ["alice"]\n'),
            (webhook.url("/fail"), "timeout = 2\nretries = 2\n"),
            (webhook.url("/hang"), "timeout = 1\nretries = 1\n"),
        )
        config.write_text(
            simulator_config(
                sim,
                state,
                broadcasters=broadcaster_table(ALICE, "alice", "record_video = true\n"),
                poll=POLL,
                recording='video_quality = "md"\nsegment_minutes = 0.1\n',
                extra=extra,
            ),
            encoding="utf-8",
        )
        room = sim.room(ALICE)
        room.go_live()
        with running_daemon(config, log=tmp_path / "daemon.log") as proc:
            await wait_for(lambda: webhook.bodies("/ok", "live"), 20, "live at the webhook")
            # the failing and the hanging webhook are retried meanwhile (3 and 2 attempts)
            await wait_for(
                lambda: (
                    len(webhook.bodies("/fail", "live")) == 3
                    and len(webhook.bodies("/hang", "live")) == 2
                ),
                15,
                "the retries",
            )
            closed = "SELECT seq, started_at_ms, ended_at_ms FROM segments WHERE state = 'closed'"
            seen_ms: list[int] = []  # when the first closed segment's row was there

            def segment_closed() -> bool:
                if not seen_ms and query(db, closed):
                    seen_ms.append(time.time_ns() // 1_000_000)
                return bool(seen_ms)

            await wait_for(segment_closed, 20, "a closed segment")
            room.go_offline()
            await wait_for(lambda: webhook.bodies("/ok", "ended"), 20, "ended at the webhook")
            with control(state) as client:  # (the daemon answers /metrics without the sim)
                await wait_for(
                    lambda: metric(client.get("/metrics").text, "live", "failed") == 2,
                    10,
                    "the given-up live notifications counted",
                    interval=0.5,
                )
                metrics = client.get("/metrics").text
            assert proc.poll() is None
        session_id, title, session_ms = query(
            db, "SELECT id, title, ended_at_ms - started_at_ms FROM sessions"
        )[0]
        segments = query(db, closed + " ORDER BY seq")
        total_events = query(db, "SELECT count(*) FROM events")[0][0]

    [live] = webhook.bodies("/ok", "live")
    assert (live["broadcaster"], live["platform"], live["session_id"]) == (
        "alice",
        "douyin",
        session_id,
    )
    assert live["title"] == title == "深夜聊天"
    [ended] = webhook.bodies("/ok", "ended")  # once, though the session's close is one event
    assert ended["session_id"] == session_id
    details = ended["details"]
    assert details["reason"] == "stream_ended"
    assert details["segments"] == len(segments) >= 1
    assert details["events"] == total_events > 0
    assert details["duration_s"] == pytest.approx(session_ms / 1000, abs=0.01)
    assert isinstance(details["gaps"], int)
    assert [b["event"] for b in webhook.bodies("/ok?ended-only")] == ["ended"]
    # the first segment closed on time (its 6 s, stored at once) while the bad webhooks were
    # being retried (the log shows both at once; the retries take ~3 s from `live`)
    _, started_ms, ended_ms = segments[0]
    assert (ended_ms - started_ms) / 1000 == pytest.approx(SEGMENT_S, abs=0.5)
    assert seen_ms[0] - ended_ms < 3000
    assert metric(metrics, "live", "sent") == 1
    assert metric(metrics, "ended", "sent") == 2


async def ctl(sock: Path, *argv: str) -> tuple[int, str]:
    """The real ``dylivectl``: (exit code, stdout); async, so the simulator goes on serving."""
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(sock), *argv],
        check=False,
        cwd=REPO_ROOT,
    )
    return result.returncode, result.stdout.decode()


async def test_dylivectl_notify_test_prints_the_result_per_target_and_risk_control_is_told(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    async with Simulator.running(Scenario(rooms=(RoomSpec(ALICE),))) as sim:
        extra = notify_tables((webhook.url("/ok"), ""), (webhook.url("/fail"), "timeout = 2\n"))
        poll = POLL + "breaker_pause = 1\nbreaker_pause_max = 2\n"
        config.write_text(
            simulator_config(
                sim, state, broadcasters=broadcaster_table(ALICE, "alice"), poll=poll, extra=extra
            ),
            encoding="utf-8",
        )
        with running_daemon(config, log=tmp_path / "daemon.log"):
            sock = state / "control.sock"
            await wait_for(sock.exists, 20, "the control socket", interval=0.2)
            started = time.monotonic()
            every = await ctl(sock, "notify", "test")
            one = await ctl(sock, "notify", "test", webhook.url("/ok"))
            bad = await ctl(sock, "notify", "test", "ntfy-nonsense")
            took = time.monotonic() - started
            sim.room(ALICE).inject("risk_control", count=1)  # one empty 200: the breaker opens
            await wait_for(lambda: webhook.bodies("/ok", "unblocked"), 20, "unblocked")
    [blocked] = webhook.bodies("/ok", "blocked")
    assert (blocked["platform"], blocked["broadcaster"], blocked["key"]) == (
        "douyin",
        None,
        "blocked:douyin:1",
    )
    assert "empty body" in blocked["details"]["detail"]
    assert [b["event"] for b in webhook.bodies("/ok") if b["event"] != "test"] == [
        "blocked",
        "unblocked",
    ]
    host = webhook.url("")
    assert every[0] == 1  # one target failed
    assert every[1].splitlines() == [
        f"ok   notify[1] {host}",
        f"FAIL notify[2] {host}: POST {host}: HTTP 500",  # the path may hold a token: not shown
    ]
    assert one == (0, f"ok   {host}\n")
    assert bad[0] == 1
    assert "is not a URL" in bad[1]
    tests = webhook.bodies("/ok", "test")
    assert len(tests) == 2
    assert tests[0]["message"] == "a test notification from dylived"
    assert took < 15
