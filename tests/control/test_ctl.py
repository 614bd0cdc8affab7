"""``dylivectl`` as a user runs it: the real command in a subprocess against a real server.

The server side is the real control server over a real Unix socket; behind it is
``tests/control/fake_daemon.FakeDaemon``, a minimal test double of the *daemon* (acceptable
only for these control-protocol and rendering tests). The end-to-end test with the real daemon
and the simulator lives in ``test_ctl_e2e.py``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from dylived.control.render import display_width
from dylived.control.server import ControlSettings, serve
from tests.control.fake_daemon import FakeDaemon


pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running(sock_path: Path, daemon: FakeDaemon) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tg:
        await tg.start(serve, daemon, ControlSettings(socket_path=sock_path))
        yield
        tg.cancel_scope.cancel()


async def ctl(sock_path: Path | str, *argv: str) -> tuple[int, str, str]:
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived.ctl", "--socket", str(sock_path), *argv], check=False
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


Check = Callable[[Any], bool]

# (argv, text the human output contains, predicate on the --json output)
COMMANDS: list[tuple[list[str], str, Check]] = [
    (["status"], "alice  live", lambda j: j["daemon"]["counts"]["live"] == 1),
    (
        ["list"],
        "bob    douyin    offline",
        lambda j: [b["id"] for b in j["broadcasters"]] == ["alice", "bob"],
    ),
    (["show", "alice"], "media/wall 0.998", lambda j: j["id"] == "alice" and j["session_id"] == 1),
    (
        ["add", "https://live.douyin.com/42", "--name", "carol"],
        "added carol",
        lambda j: j["id"] == "carol",
    ),
    (["remove", "bob"], "removed bob", lambda j: j == {"id": "bob", "removed": True}),
    (["pause", "bob"], "paused bob (state paused)", lambda j: j["paused"] is True),
    (["resume", "bob"], "resumed bob", lambda j: j["paused"] is False),
    (["record", "stop", "alice"], "recording stopped for alice", lambda j: j["recording"] is None),
    (
        ["record", "start", "alice"],
        "recording started for alice",
        lambda j: j["recording"]["state"] == "running",
    ),
    (["reload"], "reload applied: changed alice", lambda j: j["applied"] is True),
    (["sessions"], "深夜聊天", lambda j: j["sessions"][0]["id"] == 1),
    (["sessions", "alice"], "1h05m (live)", lambda j: len(j["sessions"]) == 1),
    (["segments"], "alice_0001.ts", lambda j: j["segments"][0]["seq"] == 1),
    (["segments", "1"], "10m00s", lambda j: j["segments"][0]["bytes"] == 5 * 1024 * 1024),
    (["health"], "ok   store", lambda j: j["ok"] is True),
]


@pytest.mark.parametrize(
    ("argv", "human", "check"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
async def test_every_command_with_and_without_json(
    sock_path: Path, argv: list[str], human: str, check: Check
) -> None:
    async with running(sock_path, FakeDaemon()):
        code, out, err = await ctl(sock_path, *argv)
        assert (code, err) == (0, ""), err
        assert human in out
    async with running(sock_path, FakeDaemon()):
        code, out, err = await ctl(sock_path, "--json", *argv)
        assert (code, err) == (0, ""), err
        assert check(json.loads(out))


async def test_status_table_is_aligned_with_wide_characters(sock_path: Path) -> None:
    async with running(sock_path, FakeDaemon()):
        code, out, _ = await ctl(sock_path, "sessions")
    assert code == 0
    header, row = out.splitlines()[:2]
    # TITLE starts in the same terminal column on both lines (CJK counts two columns).
    assert display_width(header[: header.index("TITLE")]) == display_width(
        row[: row.index("深夜聊天")]
    )


async def test_export_to_a_file_has_room_info_first_and_summary_last(
    sock_path: Path, tmp_path: Path
) -> None:
    daemon = FakeDaemon()
    daemon.add_event(1, {"type": "gift", "gift_name": "玫瑰", "repeat_count": 3})
    daemon.end_session(1)
    out_file = tmp_path / "s1.jsonl"
    async with running(sock_path, daemon):
        code, out, err = await ctl(sock_path, "export", "1", "-o", str(out_file))
        assert (code, out) == (0, ""), err
        code_csv, csv_out, _ = await ctl(sock_path, "export", "1", "--format", "csv")
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["type"] for r in rows] == ["room_info", "chat", "gift", "summary"]
    assert rows[-1]["total_events"] == len(rows) - 2
    assert "wrote" in err
    assert not (tmp_path / "s1.jsonl.part").exists()
    assert code_csv == 0
    assert csv_out.splitlines()[0].startswith("room_info,")


async def test_export_of_unknown_session_fails_and_leaves_no_file(
    sock_path: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "none.jsonl"
    async with running(sock_path, FakeDaemon()):
        code, _, err = await ctl(sock_path, "export", "99", "-o", str(out_file))
    assert code == 1
    assert "no session 99" in err
    assert not out_file.exists()
    assert not (tmp_path / "none.jsonl.part").exists()


async def test_daemon_errors_exit_1_with_its_message(sock_path: Path) -> None:
    async with running(sock_path, FakeDaemon()):
        assert await ctl(sock_path, "show", "nobody") == (
            1,
            "",
            "dylivectl: no broadcaster 'nobody'\n",
        )
        code, _, err = await ctl(sock_path, "record", "start", "bob")
        assert (code, err) == (1, "dylivectl: bob is not live\n")
        code, _, err = await ctl(sock_path, "add", "x", "--name", "alice")
        assert (code, err) == (1, "dylivectl: broadcaster 'alice' is already watched\n")


async def test_rejected_reload_exits_1_listing_every_problem(sock_path: Path) -> None:
    problems = ["watch[0].target: empty", "watch[2].segment_minutes: must be 1–60"]
    async with running(sock_path, FakeDaemon(reload_problems=problems)):
        code, out, err = await ctl(sock_path, "reload")
        json_code, json_out, _ = await ctl(sock_path, "--json", "reload")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "dylivectl: reload rejected: 2 problem(s)",
        *(f"  {p}" for p in problems),
    ]
    assert json_code == 1
    assert json.loads(json_out)["problems"] == problems


async def test_not_reachable_exits_3_naming_the_socket(sock_path: Path) -> None:
    code, out, err = await ctl(sock_path, "status")
    assert code == 3
    assert out == ""
    assert f"daemon not reachable at {sock_path}" in err


async def test_socket_defaults_to_the_environment(sock_path: Path) -> None:
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived.ctl", "status"],
        check=False,
        env={"DYLIVED_SOCKET": str(sock_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 3
    assert str(sock_path) in result.stderr.decode()


async def test_usage_errors_exit_2(sock_path: Path) -> None:
    for argv in (["bogus"], ["record", "pause", "alice"], ["export"], []):
        code, _, err = await ctl(sock_path, *argv)
        assert code == 2, argv
        assert "usage: dylivectl" in err


async def test_tail_follows_live_events_one_line_each(sock_path: Path) -> None:
    daemon = FakeDaemon()
    async with running(sock_path, daemon):
        process = await anyio.open_process(
            [
                sys.executable,
                "-m",
                "dylived.ctl",
                "--socket",
                str(sock_path),
                "tail",
                "alice",
                "--from-start",
            ]
        )
        async with process:
            assert process.stdout is not None
            lines: list[str] = []
            buffer = b""

            async def next_line() -> str:
                nonlocal buffer
                assert process.stdout is not None
                with anyio.fail_after(10):
                    while b"\n" not in buffer:
                        buffer += await process.stdout.receive()
                line, buffer = buffer.split(b"\n", 1)
                return line.decode()

            lines.append(await next_line())
            daemon.add_event(
                1,
                {
                    "type": "gift",
                    "user": {"nickname": "阿强"},
                    "gift_name": "小心心",
                    "gift_diamond_count": 1,
                    "repeat_count": 10,
                },
            )
            lines.append(await next_line())
            daemon.add_event(1, {"type": "member", "user": {"nickname": "bob"}})
            daemon.add_event(
                1, {"type": "viewer_count", "current_viewers": 1234, "total_users": 56789}
            )
            lines.append(await next_line())
            lines.append(await next_line())
            process.terminate()
    assert [line[9:] for line in lines] == [  # after "HH:MM:SS "
        "小明: 你好",
        "阿强 sent 小心心 ×10 (10 diamonds)",
        "bob joined",
        "viewers: 1.2k (total 57k)",
    ]


async def test_tail_into_a_closed_pipe_exits_quietly(sock_path: Path) -> None:
    # `dylivectl tail | head -1`: the reader goes away; tail ends with 0 and no traceback.
    daemon = FakeDaemon()
    ctl_argv = f"{sys.executable} -m dylived.ctl --socket {sock_path} tail alice --from-start"
    script = f"{ctl_argv} 2>&1 | head -1; exit ${{PIPESTATUS[0]}}"
    async with running(sock_path, daemon):
        process = await anyio.open_process(["bash", "-c", script])
        async with process:
            assert process.stdout is not None
            with anyio.fail_after(10):
                first = await process.stdout.receive()  # head printed the stored event
            for n in range(3):  # the next lines go to a pipe nobody reads any more
                daemon.add_event(1, {"type": "member", "user": {"nickname": f"u{n}"}})
            with anyio.fail_after(10):
                code = await process.wait()
            rest = b""
            with contextlib.suppress(anyio.EndOfStream):
                while True:
                    rest += await process.stdout.receive()
    assert "小明: 你好" in first.decode()
    assert code == 0
    assert rest == b""  # head saw one line: no traceback reached the pipe either
