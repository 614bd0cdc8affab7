"""The real daemon as a subprocess: exit 78, notify protocol, reloads, SIGTERM within 10 s.

The platform endpoints point at a closed loopback port: these tests are about the lifecycle,
not about detection (test_detection.py covers that against the simulator).
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.daemon.helpers import (
    FakeNotifySocket,
    children_of,
    control,
    running_daemon,
    wait_until,
    write_config,
)


def test_config_with_several_mistakes_exits_78_listing_each(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        """
[poll]
intervall = 5
max_concurrent = 0

[[broadcaster]]
target = "200000000001"
video_quality = "8k"
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "dylived", "run", "--config", str(config)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 78, result.stderr
    assert "3 problem(s)" in result.stderr, result.stderr
    assert "poll.intervall" in result.stderr
    assert "poll.max_concurrent" in result.stderr
    assert "broadcaster[1].video_quality" in result.stderr


@pytest.mark.slow
@pytest.mark.e2e
def test_notify_reload_and_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path / "dylived.toml", state)
    notify = FakeNotifySocket(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "600000"}
    try:
        with running_daemon(config, env) as proc:
            notify.wait_for("READY=1", timeout=20)
            # READY comes after start-up completed: the control socket answers now.
            with control(state) as api:
                status = api.get("/v1/status").json()
            assert [b["id"] for b in status["broadcasters"]] == ["alice"]
            assert any(
                t.startswith("STATUS=watching 1, live 0, recording 0") for t in notify.texts()
            )

            # Watchdog cadence: WATCHDOG_USEC/2 = 0.3 s.
            notify.collect(2.0)
            pings = [at for at, t in notify.messages if t == "WATCHDOG=1"]
            assert len(pings) >= 4, notify.texts()
            gaps = [b - a for a, b in itertools.pairwise(pings)]
            assert max(gaps) < 1.0, gaps

            # An invalid reload leaves the daemon and its config untouched.
            good = config.read_text()
            config.write_text(good + '\n[[broadcaster]]\ntarget = ""\nnmae = "x"\n')
            before = len(notify.messages)
            proc.send_signal(signal.SIGHUP)
            reloading = notify.wait_for("RELOADING=1", timeout=10, since=before)
            notify.wait_for("READY=1", timeout=10, since=reloading + 1)
            assert proc.poll() is None
            with control(state) as api:
                assert [b["id"] for b in api.get("/v1/broadcasters").json()["broadcasters"]] == [
                    "alice"
                ]
                rejected = api.post("/v1/reload")
                assert rejected.status_code == 422
                assert rejected.json()["error"]["code"] == "config_invalid"

            # A valid reload adds and removes broadcasters live.
            config.write_text(
                good.replace(
                    'target = "200000000001"\nname = "alice"',
                    'target = "200000000002"\nname = "bob"',
                )
            )
            proc.send_signal(signal.SIGHUP)
            with control(state) as api:
                wait_until(
                    lambda: (
                        [b["id"] for b in api.get("/v1/broadcasters").json()["broadcasters"]]
                        == ["bob"]
                    ),
                    10,
                    "bob to replace alice",
                )
            assert proc.poll() is None

            # SIGTERM: STOPPING, exit 0 within 10 s, no child left.
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert time.monotonic() - started < 10
            notify.collect(0.2)
            assert "STOPPING=1" in notify.texts()
            assert children_of(proc.pid) == []
            assert not (state / "control.sock").exists()
    finally:
        notify.close()


def run_recording_daemon_with(tmp_path: Path, ffmpeg: str) -> subprocess.CompletedProcess[str]:
    """`dylived run` with video recording on and ``daemon.ffmpeg`` set; it should not start."""
    config = write_config(tmp_path / "dylived.toml", tmp_path / "state")
    text = config.read_text().replace("record_video = false", "record_video = true")
    config.write_text(text.replace("[daemon]\n", f'[daemon]\nffmpeg = "{ffmpeg}"\n'))
    return subprocess.run(
        [sys.executable, "-m", "dylived", "run", "--config", str(config)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_missing_ffmpeg_is_a_clear_error_when_video_is_recorded(tmp_path: Path) -> None:
    result = run_recording_daemon_with(tmp_path, "/nonexistent/ffmpeg")
    assert result.returncode == 1, result.stderr
    assert "dylived cannot run" in result.stderr
    assert "/nonexistent/ffmpeg" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_ffmpeg_older_than_5_1_is_refused_at_start(tmp_path: Path) -> None:
    # An executable that answers like Debian 11's ffmpeg 4.3: found, but checked and refused.
    old = tmp_path / "ffmpeg"
    old.write_text("#!/bin/sh\necho 'ffmpeg version 4.3.6-0+deb11u1 Copyright (c) 2000-2023'\n")
    old.chmod(0o755)
    result = run_recording_daemon_with(tmp_path, str(old))
    assert result.returncode == 1, result.stderr
    assert "4.3.6" in result.stderr
    assert "5.1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.e2e
def test_add_pause_resume_remove_are_persisted(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path / "dylived.toml", state)
    notify = FakeNotifySocket(tmp_path / "notify.sock")
    try:
        with running_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}) as proc:
            notify.wait_for("READY=1", timeout=20)
            with control(state) as api:
                added = api.post(
                    "/v1/broadcasters", json={"target": "200000000009", "name": "carol"}
                )
                assert added.status_code in (200, 201), added.text
                assert (
                    api.post("/v1/broadcasters", json={"target": "200000000009"}).status_code == 409
                )
                paused = api.patch("/v1/broadcasters/carol", json={"paused": True})
                assert paused.json()["state"] == "paused", paused.text
                assert api.get("/v1/broadcasters/nobody").status_code == 404
                assert (
                    api.post("/v1/broadcasters/alice/record", json={"action": "start"}).status_code
                    == 409
                )
            overlay = (state / "watchlist-overrides.json").read_text()
            assert '"carol"' in overlay
            assert '"paused"' in overlay
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        # Restart: the runtime changes survive.
        with running_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}) as proc:
            since = len(notify.messages)
            notify.wait_for("READY=1", timeout=20, since=since)
            with control(state) as api:
                carol = api.get("/v1/broadcasters/carol").json()
                assert carol["state"] == "paused"
                assert carol["paused"] is True
                resumed = api.patch("/v1/broadcasters/carol", json={"paused": False}).json()
                assert resumed["state"] == "offline"
                assert api.delete("/v1/broadcasters/alice").json() == {
                    "id": "alice",
                    "removed": True,
                }
                ids = [b["id"] for b in api.get("/v1/broadcasters").json()["broadcasters"]]
                assert ids == ["carol"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    finally:
        notify.close()
