"""The real daemon as a subprocess: exit 78, notify protocol, reloads, SIGTERM within 10 s;
concurrent watchlist commands (none lost), SIGHUP at any moment of start-up and under traffic.

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
            # sent right after READY: collected here, not only what READY's wait happened to read
            notify.wait_for("STATUS=watching 1, live 0, recording 0", timeout=10)

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


def ctl_process(state: Path, *argv: str) -> subprocess.Popen[str]:
    """``dylivectl`` against the daemon of ``state``, as its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(state / "control.sock"), *argv],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.e2e
def test_twenty_concurrent_adds_from_separate_processes_all_survive_a_restart(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path / "dylived.toml", state)
    notify = FakeNotifySocket(tmp_path / "notify.sock")
    names = [f"c{i:02d}" for i in range(20)]
    try:
        with running_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}) as proc:
            notify.wait_for("READY=1", timeout=30)
            adds = [
                ctl_process(state, "add", f"3000000000{i:02d}", "--name", n)
                for i, n in enumerate(names)
            ]
            outcomes = [(p.wait(timeout=120), *p.communicate()) for p in adds]
            assert [code for code, _, _ in outcomes] == [0] * 20, outcomes
            assert sorted(out.split()[1] for _, out, _ in outcomes) == names
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        assert not list(state.glob(".watchlist-overrides.json.*"))  # no temporary file left
        with running_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}) as proc:
            notify.wait_for("READY=1", timeout=30, since=len(notify.messages))
            with control(state) as api:
                ids = [b["id"] for b in api.get("/v1/broadcasters").json()["broadcasters"]]
            assert sorted(ids) == ["alice", *names]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    finally:
        notify.close()


def slow_ffmpeg(directory: Path, delay_s: float) -> Path:
    """An ffmpeg that answers ``delay_s`` late: the start-up's probe (four calls) takes longer."""
    wrapper = directory / "slow-ffmpeg"
    wrapper.write_text(f'#!/bin/sh\nsleep {delay_s}\nexec /usr/bin/ffmpeg "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("phase_s", [0.0, 0.05])
def test_sighup_at_any_moment_of_start_up_is_applied_once_ready(
    tmp_path: Path, phase_s: float
) -> None:
    # A SIGHUP every 0.1 s from 1 s after the start until after READY: during the imports,
    # the ffmpeg probe, the recovery, the watchlist start. Each is kept and applied once ready.
    state = tmp_path / "state"
    config = write_config(tmp_path / "dylived.toml", state)
    ffmpeg = slow_ffmpeg(tmp_path, 0.4)
    first = config.read_text().replace("[daemon]\n", f'[daemon]\nffmpeg = "{ffmpeg}"\n')
    config.write_text(first)
    notify = FakeNotifySocket(tmp_path / "notify.sock")
    log = tmp_path / "daemon.log"
    sent_before_ready = 0
    try:
        with running_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}, log) as proc:
            started = time.monotonic()
            time.sleep(1.0 + phase_s)
            # bob: read at start if the daemon has not read its config yet, else by a reload
            config.write_text(first + '\n[[broadcaster]]\ntarget = "200000000002"\nname = "bob"\n')
            ready_at: float | None = None
            while ready_at is None or time.monotonic() < ready_at + 0.5:
                assert proc.poll() is None, log.read_text()
                proc.send_signal(signal.SIGHUP)
                if ready_at is None:
                    sent_before_ready += 1
                notify.collect(0.1)
                if ready_at is None and "READY=1" in notify.texts():
                    ready_at = time.monotonic()
                assert time.monotonic() - started < 60, "no READY=1"
            texts = notify.texts()
            ready = texts.index("READY=1")
            assert "RELOADING=1" not in texts[:ready]  # none applied before the daemon ran
            notify.wait_for("RELOADING=1", timeout=10, since=ready + 1)
            with control(state) as api:
                wait_until(
                    lambda: (
                        [b["id"] for b in api.get("/v1/broadcasters").json()["broadcasters"]]
                        == ["alice", "bob"]
                    ),
                    10,
                    "bob from the reload",
                )
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    finally:
        notify.close()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "reloaded:" in text, text
    assert sent_before_ready >= 10, sent_before_ready  # start-up lasted 1 s more at least


def replace_text(path: Path, text: str) -> None:
    """Write ``path`` as an editor does (a new file renamed over it): never read half-written."""
    new = path.with_name(path.name + ".new")
    new.write_text(text, encoding="utf-8")
    new.replace(path)


@pytest.mark.slow
@pytest.mark.e2e
def test_sighup_during_reloads_under_control_traffic_and_sigterm_right_after(
    tmp_path: Path,
) -> None:
    import threading

    state = tmp_path / "state"
    config = write_config(tmp_path / "dylived.toml", state)
    without_bob = config.read_text()
    with_bob = without_bob + '\n[[broadcaster]]\ntarget = "200000000002"\nname = "bob"\n'
    notify = FakeNotifySocket(tmp_path / "notify.sock")
    log = tmp_path / "daemon.log"
    statuses: list[tuple[str, int]] = []
    done = threading.Event()

    def churn(prefix: int) -> None:  # add and remove: each a read-modify-write of the overlay
        with control(state) as api:
            n = 0
            while not done.is_set():
                n += 1
                name, target = f"t{prefix}x{n}", f"{prefix}{n:011d}"
                added = api.post("/v1/broadcasters", json={"target": target, "name": name})
                statuses.append(("add", added.status_code))
                statuses.append(("remove", api.delete(f"/v1/broadcasters/{name}").status_code))

    def read_and_reload() -> None:
        with control(state) as api:
            while not done.is_set():
                statuses.append(("status", api.get("/v1/status").status_code))
                statuses.append(("reload", api.post("/v1/reload").status_code))

    try:
        with running_daemon(config, {"NOTIFY_SOCKET": str(notify.path)}, log) as proc:
            notify.wait_for("READY=1", timeout=30)
            threads = [
                threading.Thread(target=churn, args=(4,)),
                threading.Thread(target=churn, args=(5,)),
                threading.Thread(target=read_and_reload),
            ]
            for thread in threads:
                thread.start()
            try:
                for i in range(30):
                    replace_text(config, with_bob if i % 2 == 0 else without_bob)
                    proc.send_signal(signal.SIGHUP)
                    time.sleep(0.15)
                    assert proc.poll() is None, log.read_text()
            finally:
                done.set()
                for thread in threads:
                    thread.join(timeout=60)
            assert all(code in (200, 201) for _, code in statuses), sorted(set(statuses))
            replace_text(config, with_bob)
            with control(state) as api:
                assert api.post("/v1/reload").status_code == 200
                ids = [b["id"] for b in api.get("/v1/broadcasters").json()["broadcasters"]]
            assert ids == ["alice", "bob"]  # every t<n> added was removed again
            proc.send_signal(signal.SIGHUP)
            proc.send_signal(signal.SIGTERM)  # not held up behind that reload
            stop_started = time.monotonic()
            assert proc.wait(timeout=10) == 0
            assert time.monotonic() - stop_started < 10
    finally:
        notify.close()
    kinds = {kind for kind, _ in statuses}
    assert kinds == {"add", "remove", "status", "reload"}, statuses
    assert all(code in (200, 201) for _, code in statuses), sorted(set(statuses))
    text = log.read_text()
    assert "Traceback" not in text, text
    assert text.count("received SIGHUP") >= 30
