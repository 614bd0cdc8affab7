"""``[hooks]`` without the daemon: the config and ``check-config``, placeholder expansion, the
``hook_runs`` rows the store's triggers make, and ``run_hook`` on real child processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dylived.alerts.hooks import placeholder_values, run_hook
from dylived.config.hooks import expand, placeholder_problem
from dylived.config.load import loads_config, render_config
from dylived.store import ops
from dylived.store.db import Database, DueHookRun
from tests.conftest import REPO_ROOT
from tests.daemon_rig import query, wait_for
from tests.store.support import running_writer


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def script(path: Path, body: str, mode: int = 0o755) -> Path:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(mode)
    return path


# ----------------------------------------------------------------------------- config


def test_check_config_lists_every_hook_problem_with_its_place_and_exits_78(tmp_path: Path) -> None:
    script(tmp_path / "not-executable.sh", "true\n", mode=0o644)
    config = tmp_path / "dylived.toml"
    config.write_text(
        """
[hooks]
on_segment_closed = ["/bin/echo", "{path}", "{nope}", "{start:%Y}", "{oops"]
on_session_closed = "upload.sh {path}"
on_remuxed = ["./missing.sh"]
timeout = 0
max_running = 0
bogus = 1
[[broadcaster]]
target = "200000000001"
name = "a"
hooks.on_segment_closed = ["not-executable.sh"]
hooks.on_what = []
[[broadcaster]]
target = "200000000002"
name = "b"
hooks.on_remuxed = ["./not-executable.sh", 3]
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "dylived", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 78
    problems = [line.strip() for line in result.stderr.splitlines()[1:]]
    known = "known: {path}, {session_id}, {broadcaster}, {platform}, {start}, {end}, {duration_s}"
    assert problems == [
        f"hooks.on_segment_closed[3]: '{{nope}}': unknown placeholder {{nope}}; {known}",
        "hooks.on_segment_closed[4]: '{start:%Y}': write {start} without a format or conversion",
        "hooks.on_segment_closed[5]: '{oops': expected '}' before end of string "
        "(write {{ or }} for a literal brace)",
        "hooks.on_session_closed: expected an array (the program, then its arguments), "
        "got 'upload.sh {path}'",
        f"hooks.on_remuxed[1]: '{tmp_path}/missing.sh' does not exist",
        "hooks.bogus: unknown key; expected one of on_segment_closed, on_session_closed, "
        "on_remuxed, timeout, max_running",
        "hooks.timeout: must be > 0, got 0",
        "hooks.max_running: expected a whole number from 1 to 64, got 0",
        "broadcaster[1].hooks.on_segment_closed[1]: 'not-executable.sh': no such program on PATH",
        "broadcaster[1].hooks.on_what: unknown key; expected one of on_segment_closed, "
        "on_session_closed, on_remuxed",
        f"broadcaster[2].hooks.on_remuxed[1]: '{tmp_path}/not-executable.sh' is not executable "
        "(chmod +x it)",
        "broadcaster[2].hooks.on_remuxed[2]: expected a non-empty string, got 3",
    ]


def test_hooks_resolve_their_program_and_a_broadcaster_may_replace_or_drop_them(
    tmp_path: Path,
) -> None:
    script(tmp_path / "upload.sh", "true\n")
    config = loads_config(
        """
[hooks]
on_segment_closed = ["./upload.sh", "{path}", "--who={broadcaster}"]
on_session_closed = ["true"]
timeout = "90s"
[[broadcaster]]
target = "200000000001"
name = "a"
hooks.on_segment_closed = []
[[broadcaster]]
target = "200000000002"
name = "b"
hooks.on_session_closed = ["echo", "{session_id}"]
""",
        base_dir=tmp_path,
    )
    hooks = config.hooks
    assert (hooks.timeout, hooks.max_running) == (90.0, 2)
    everyone = (str(tmp_path / "upload.sh"), "{path}", "--who={broadcaster}")
    assert hooks.argv("on_segment_closed", "a") == ()
    assert hooks.argv("on_segment_closed", "b") == everyone
    assert hooks.argv("on_segment_closed", "added-at-runtime") == everyone
    assert hooks.argv("on_session_closed", "a")[0].endswith("/true")
    assert hooks.argv("on_session_closed", "b")[1:] == ("{session_id}",)
    assert hooks.argv("on_remuxed", "b") == ()
    assert loads_config("").hooks.argv("on_segment_closed", "x") == ()
    # print-config writes them back, each broadcaster's in its table
    assert loads_config(render_config(config), base_dir=tmp_path).hooks == hooks


def test_placeholders_expand_to_the_runs_values() -> None:
    assert placeholder_problem("--name={broadcaster}_{{x}}") is None
    assert placeholder_problem("{path.name}") is not None
    tz = ZoneInfo("Asia/Shanghai")
    segment = DueHookRun(
        "on_segment_closed", 7, 3, "alice", "douyin", "/r/a/s_0003.ts", 0, 6_500, 6.4999
    )
    values = placeholder_values(segment, tz)
    assert values == {
        "path": "/r/a/s_0003.ts",
        "session_id": "7",
        "broadcaster": "alice",
        "platform": "douyin",
        "start": "1970-01-01T08:00:00+08:00",
        "end": "1970-01-01T08:00:06+08:00",
        "duration_s": "6.500",
    }
    assert expand("--name={broadcaster}_{{x}} {duration_s}s", values) == "--name=alice_{x} 6.500s"
    session = DueHookRun(
        "on_session_closed", 7, 0, "alice", "douyin", "/r/a/s_0001.ts", 0, None, None
    )
    assert placeholder_values(session, tz)["path"] == "/r/a"  # the session's folder
    assert placeholder_values(session, tz)["end"] == ""


# ----------------------------------------------------------------------------- the store


@pytest.mark.anyio
async def test_the_store_makes_a_run_due_when_a_segment_session_or_remux_is_finished(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dylived.db"
    async with running_writer(path) as writer:
        one = await writer.request(ops.OpenSession("alice", 1_000, "douyin"))
        two = await writer.request(ops.OpenSession("bob", 1_000, "douyin"))
        seg = {"path": "/r/x.ts", "started_at_ms": 1_000}
        await writer.submit(ops.UpsertSegment(one, 1, state="writing", **seg))  # type: ignore[arg-type]
        await writer.submit(ops.UpsertSegment(one, 2, state="closed", **seg))  # type: ignore[arg-type]
        await writer.drain()
        assert await due(path) == [("on_segment_closed", one, 2)]
        await writer.submit(ops.UpsertSegment(one, 1, state="closed", **seg))  # type: ignore[arg-type]
        await writer.submit(ops.UpsertSegment(one, 1, state="closed", **seg))  # type: ignore[arg-type]
        await writer.close_session(ops.CloseSession(one, 9_000, "stream_ended"))
        await writer.close_session(ops.CloseSession(two, 9_000, "daemon_stopped"))  # may resume
        await writer.submit(ops.RecordRemux(one, 1, "/r/x.mp4", "failed", 2, 9_500))
        await writer.submit(ops.RecordRemux(one, 2, "/r/y.mp4", "done", 2, 9_500))
        await writer.submit(ops.SetHookRun("on_segment_closed", one, 2, "done", 9_600, 0))
        await writer.drain()
        assert sorted(await due(path)) == [
            ("on_remuxed", one, 2),
            ("on_segment_closed", one, 1),
            ("on_session_closed", one, 0),
        ]
        # bob's stopped session was not continued: a new one opened, the old one is final
        three = await writer.request(ops.OpenSession("bob", 20_000, "douyin"))
        await writer.drain()
        assert ("on_session_closed", two, 0) in await due(path)
        assert ("on_session_closed", three, 0) not in await due(path)
    rows = query(
        path,
        "SELECT state, finished_at_ms, exit_code FROM hook_runs WHERE item = 2 "
        "AND hook = 'on_segment_closed'",
    )
    assert rows == [("done", 9_600, 0)]


async def due(path: Path) -> list[tuple[str, int, int]]:
    async with Database.open(path) as db:
        return [run.key for run in await db.due_hook_runs()]


# ----------------------------------------------------------------------------- running


@pytest.mark.anyio
async def test_a_hook_runs_without_a_shell_its_output_bounded_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chatty = script(
        tmp_path / "chatty.sh",
        'for i in $(seq 100); do echo "line $i $1"; done\necho oops >&2\nexit 3\n',
    )
    caplog.set_level(logging.INFO, "dylived.alerts.hooks")
    outcome = await run_hook(
        [str(chatty), "a b; rm -rf /"], dict(os.environ), 10, "t", cwd=tmp_path
    )
    assert outcome == ("failed", 3, "exit 3")
    out = [r.getMessage() for r in caplog.records if "stdout" in r.getMessage()]
    assert out[0] == "hook t stdout: line 1 a b; rm -rf /"  # one argument, never a shell's
    assert len(out) == 21
    assert out[-1] == "hook t stdout: 80 more line(s) not logged"
    assert "hook t stderr: oops" in caplog.messages


@pytest.mark.anyio
async def test_a_hanging_hook_and_its_children_are_killed_at_the_timeout(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    hang = script(tmp_path / "hang.sh", f"trap '' TERM\nsleep 600 &\necho $! > {pids}\nwait\n")
    outcome = await run_hook([str(hang)], dict(os.environ), 0.5, "t", cwd=tmp_path)
    assert outcome[0] == "timeout"
    assert outcome[1] == -9  # it ignored SIGTERM: SIGKILL after the grace
    sleep_pid = int(pids.read_text())
    await wait_for(lambda: not alive(sleep_pid), 5, "its sleep killed with its group")


@pytest.mark.anyio
async def test_a_hook_that_cannot_start_is_a_failure(tmp_path: Path) -> None:
    state, code, detail = await run_hook([str(tmp_path / "gone")], {}, 5, "t", cwd=tmp_path)
    assert (state, code) == ("failed", None)
    assert detail.startswith("could not start")
