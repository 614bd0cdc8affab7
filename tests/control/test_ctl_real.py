"""``dylivectl`` rendering what the real daemon says: the contract of every shape it shows.

One real daemon (``python -m dylived run``, a subprocess) for the module, against the simulator
on 127.0.0.1: ``alice`` live, recorded (real ffmpeg, 6 s ``md`` segments) and captured, her
title holding an ESC sequence; ``bob`` offline. Each test runs the real ``dylivectl`` as its
own process and reads what it printed, human and ``--json``: what ``status``, ``show``,
``sessions``, ``segments``, ``tail`` and ``export`` render comes from the real facade, never
from a test double.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import anyio.abc
import pytest

from dylived.control.render import display_width
from dylived.sim import RoomSpec, Scenario, Simulator
from dylived.sim.room import SimRoom
from dylived.sim.script import SimUser
from tests.conftest import REPO_ROOT
from tests.daemon_rig import QUICK_POLL, broadcaster_table, query, simulator_config, wait_for
from tests.ffmpegs import FFMPEGS


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

ALICE, BOB = "200000000001", "200000000002"
TITLE = "深夜\x1b[2J聊天"  # a title that would clear the terminal if printed raw
ESC = "\x1b"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Rig:
    sock: Path
    state: Path
    config: Path
    room: SimRoom
    process: anyio.abc.Process


async def ctl(rig: Rig, *argv: str) -> tuple[int, str, str]:
    result = await anyio.run_process(
        [sys.executable, "-m", "dylived.app.ctl", "--socket", str(rig.sock), *argv],
        check=False,
        cwd=REPO_ROOT,
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def ctl_json(rig: Rig, *argv: str) -> Any:
    code, out, err = await ctl(rig, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


async def wait_for_json(rig: Rig, argv: list[str], check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(AssertionError, ValueError, KeyError, TypeError):
            value = await ctl_json(rig, *argv)
            if check(value):
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.5)


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    base = tmp_path_factory.mktemp("ctlreal")
    state, config = base / "state", base / "dylived.toml"
    scenario = Scenario(
        rooms=(
            RoomSpec(ALICE, nickname="主播", title=TITLE, rates={"chat": 2, "like": 1}),
            RoomSpec(BOB),
        )
    )
    async with Simulator.running(scenario) as sim:
        broadcasters = broadcaster_table(ALICE, "alice", "record_video = true\n")
        broadcasters += broadcaster_table(BOB, "bob")
        text = simulator_config(
            sim,
            state,
            broadcasters=broadcasters,
            recording='record_video = false\nvideo_quality = "md"\nsegment_minutes = 0.1\n'
            "remux_mp4 = true\n",  # and remux_subtitles by default: the .ass beside the MP4
            poll=QUICK_POLL.replace("grace = 30", "grace = 2"),  # the playlist test ends a session
        )
        config.write_text(text, encoding="utf-8")
        room = sim.room(ALICE)
        room.go_live()
        log = (base / "daemon.log").open("ab")
        process = await anyio.open_process(
            [sys.executable, "-m", "dylived", "run", "--config", str(config)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=log,
        )
        rig = Rig(state / "control.sock", state, config, room, process)
        try:
            await wait_for_json(
                rig,
                ["show", "alice"],
                lambda b: (
                    b["recording"]["current_segment"] is not None
                    and b["recording"]["bytes_per_second"]
                    and b["capture"]["connected"]
                ),
                60,
                "alice recorded and captured",
            )
            yield rig
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with anyio.move_on_after(20, shield=True):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            log.close()
    assert "Traceback" not in (base / "daemon.log").read_text()


def row_of(table: str, first: str) -> list[str]:
    """The cells of the table line starting with ``first`` (split on runs of 2+ spaces)."""
    for line in table.splitlines():
        if line.strip().startswith(first + " "):
            return re.split(r" {2,}", line.strip())
    raise AssertionError(f"no row {first!r} in:\n{table}")


async def test_status_shows_the_real_recording_rate_and_counts(rig: Rig) -> None:
    status = await ctl_json(rig, "status")
    alice = next(b for b in status["broadcasters"] if b["id"] == "alice")
    assert alice["state"] == "live"
    assert alice["recording"]["state"] == "running"
    assert alice["recording"]["bytes_per_second"] > 1000  # a real stream, bytes from disk
    assert alice["capture"]["events_per_minute"] >= 0
    code, out, err = await ctl(rig, "status")
    assert code == 0, err
    print(out)  # shown with -rP: what a person sees
    assert "2 broadcasters: 1 live, 1 recording, 0 paused" in out
    await wait_for_json(  # the same counts in the STATUS= line the daemon sends systemd
        rig,
        ["status"],
        lambda j: j["daemon"]["status_line"] == "watching 2, live 1, recording 1",
        10,
        "the status line",
    )
    cells = row_of(out, "alice")
    assert cells[1] == "live"
    assert cells[2].startswith("for ")
    assert "running" in cells
    [rate] = [c for c in cells if c.endswith("bit/s")]
    assert re.fullmatch(r"\d+ kbit/s|\d+\.\d Mbit/s", rate), rate
    bob = row_of(out, "bob")
    assert bob[1] == "offline"
    assert "bit/s" not in out.split("\nbob", 1)[1]  # bob records nothing
    # the platform's gate: its broadcasters, requests in flight of the limit, requests made
    gate = status["daemon"]["platforms"]["douyin"]
    assert (gate["broadcasters"], gate["max_in_flight"], gate["risk_signals"]) == (2, 4, 0)
    assert gate["breaker"] == {
        "state": "closed",
        "open_until_ms": None,
        "times_opened": 0,
        "last_reason": "",
    }
    cells = row_of(out, "douyin")
    assert cells[:2] == ["douyin", "2"]
    assert re.fullmatch(r"[0-4]/4", cells[2]), cells
    assert int(cells[3]) >= gate["requests"] >= 2  # status requests made (more by now)
    assert cells[4:] == ["0", "closed"]


async def test_show_has_the_current_segment_path_since_and_size(rig: Rig) -> None:
    b = await ctl_json(rig, "show", "alice")
    segment = b["recording"]["current_segment"]
    assert set(segment) >= {"path", "seq", "since_ms", "bytes"}
    code, out, err = await ctl(rig, "show", "alice")
    assert code == 0, err
    print(out)  # shown with -rP
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines()}
    assert lines["state"].startswith("live for ")
    assert re.match(
        r"running, (\d+ kbit/s|\d+\.\d Mbit/s), \d+ segments closed", lines["recording"]
    )
    # the segment being written: its .part file under the recordings, since when, its size
    text = lines["segment"]
    match = re.fullmatch(
        r"(\S+\.ts\.part) \(since (\d\d:\d\d:\d\d), for \d+s, ([\d.]+ (B|KiB|MiB))\)", text
    )
    assert match, text
    assert Path(match.group(1)).parent.is_relative_to(rig.state / "recordings")
    assert lines["capture"].startswith("connected, ")
    assert lines["session"] == str(b["session_id"])


async def test_sessions_and_segments_render_the_stored_rows(rig: Rig) -> None:
    await wait_for_json(
        rig,
        ["segments"],
        lambda j: any(s["state"] == "closed" for s in j["segments"]),
        30,
        "a closed segment",
    )
    sessions = (await ctl_json(rig, "sessions"))["sessions"]
    [live] = [s for s in sessions if s["broadcaster"] == "alice" and s["ended_at_ms"] is None]
    code, out, err = await ctl(rig, "sessions")
    assert code == 0, err
    cells = row_of(out, str(live["id"]))
    assert cells[1] == "alice"
    assert cells[3].endswith("(live)")
    assert int(cells[5]) >= 1  # SEGS
    header, row = out.splitlines()[0], next(ln for ln in out.splitlines() if "深夜" in ln)
    # TITLE starts in the same terminal column on both lines (CJK counts two columns)
    assert display_width(header[: header.index("TITLE")]) == display_width(row[: row.index("深夜")])
    segments = (await ctl_json(rig, "segments", str(live["id"])))["segments"]
    closed = next(s for s in segments if s["state"] == "closed")
    code, out, err = await ctl(rig, "segments", str(live["id"]))
    assert code == 0, err
    cells = row_of(out, str(closed["seq"]))
    assert cells[1] == "closed"
    assert re.fullmatch(r"\d+s", cells[3]), cells  # the stored media duration, not "-"
    assert cells[-1] == closed["path"]


async def test_escape_sequences_from_the_platform_never_reach_the_terminal(rig: Rig) -> None:
    for argv in (["status"], ["show", "alice"], ["sessions"], ["list"]):
        code, out, err = await ctl(rig, *argv)
        assert code == 0, err
        assert ESC not in out, argv
    code, out, _ = await ctl(rig, "show", "alice")
    assert "title:" in out
    assert "深夜\\x1b[2J聊天" in out  # shown, made visible
    json_out = (await ctl(rig, "--json", "show", "alice"))[1]
    assert ESC not in json_out
    assert json.loads(json_out)["title"] == TITLE  # --json keeps the data exact
    # a chat line whose nickname sets the terminal title and whose text turns it red
    evil = SimUser(7, 7, "\x1b]0;owned\x07eve", "MS4wLjABAAAAeve", "eve")
    out = await tail_until(
        rig,
        "turned red",
        push=lambda: rig.room.push("chat", user=evil, content="\x1b[31mturned red\x9b2J"),
    )
    assert ESC not in out
    assert "\x9b" not in out
    assert "\x07" not in out
    assert "\\x1b]0;owned\\x07eve: \\x1b[31mturned red\\x9b2J" in out
    out = await tail_until(rig, "turned red", json_mode=True)
    assert ESC not in out
    assert "\x9b" not in out
    assert any(
        json.loads(line).get("content") == "\x1b[31mturned red\x9b2J" for line in out.splitlines()
    )


async def tail_until(rig: Rig, needle: str, *, push: Any = None, json_mode: bool = False) -> str:
    """Run ``dylivectl tail alice --from-start`` until ``needle`` is printed (``push`` once it
    runs); the output so far."""
    argv = [sys.executable, "-m", "dylived.app.ctl", "--socket", str(rig.sock)]
    argv += [*(["--json"] if json_mode else []), "tail", "alice", "--from-start"]
    process = await anyio.open_process(argv, cwd=REPO_ROOT)
    out = b""
    async with process:
        assert process.stdout is not None
        with anyio.fail_after(30):
            out += await process.stdout.receive()  # it is following the session now
            if push is not None:
                push()
            while needle.encode() not in out:
                out += await process.stdout.receive()
        process.terminate()
    return out.decode()


async def test_tail_prints_one_line_per_live_event(rig: Rig) -> None:
    gifter = SimUser(8, 8, "阿强", "MS4wLjABAAAAqiang", "qiang")

    def push() -> None:
        rig.room.push(
            "gift",
            user=gifter,
            gift_name="小心心",
            gift_diamond_count=1,
            repeat_count=10,
            combo_count=10,
        )
        rig.room.push("member", user=SimUser(9, 9, "bob", "MS4wLjABAAAAbob", "bob"))

    out = await tail_until(rig, "bob joined", push=push)
    lines = out.splitlines()
    gift = next(ln for ln in lines if "阿强" in ln)
    assert re.fullmatch(r"\d\d:\d\d:\d\d 阿强 sent 小心心 ×\d+ \(\d+ diamonds\)", gift)
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d bob joined", ln) for ln in lines)


async def test_tail_into_a_closed_pipe_exits_quietly(rig: Rig) -> None:
    # `dylivectl tail | head -1`: the reader goes away; tail ends with 0 and no traceback.
    ctl_argv = f"{sys.executable} -m dylived.app.ctl --socket {rig.sock} tail alice --from-start"
    script = f"{ctl_argv} 2>&1 | head -1; exit ${{PIPESTATUS[0]}}"
    process = await anyio.open_process(["bash", "-c", script], cwd=REPO_ROOT)
    async with process:
        assert process.stdout is not None
        with anyio.fail_after(20):
            first = await process.stdout.receive()
        for n in range(5):  # the next lines go to a pipe nobody reads any more
            rig.room.push("member", user=SimUser(10 + n, 10 + n, f"u{n}", f"s{n}", f"u{n}"))
            await anyio.sleep(0.3)
        with anyio.fail_after(20):
            code = await process.wait()
        rest = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                rest += await process.stdout.receive()
    assert re.match(rb"\d\d:\d\d:\d\d ", first)
    assert code == 0
    assert rest == b""  # head saw one line: no traceback reached the pipe either


async def test_export_to_a_file_has_room_info_first_and_summary_last(
    rig: Rig, tmp_path: Path
) -> None:
    sessions = (await ctl_json(rig, "sessions", "alice"))["sessions"]
    session = str(sessions[0]["id"])
    out_file = tmp_path / "s.jsonl"
    code, out, err = await ctl(rig, "export", session, "-o", str(out_file))
    assert (code, out) == (0, ""), err
    assert "wrote" in err
    assert not (tmp_path / "s.jsonl.part").exists()
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert rows[0]["type"] == "room_info"
    assert rows[-1]["type"] == "summary"
    code, _, err = await ctl(rig, "export", "999999", "-o", str(tmp_path / "none.jsonl"))
    assert code == 1
    assert "no session 999999" in err
    assert not (tmp_path / "none.jsonl").exists()


async def test_daemon_errors_exit_1_with_its_message(rig: Rig) -> None:
    assert await ctl(rig, "show", "nobody") == (1, "", "dylivectl: no broadcaster 'nobody'\n")
    code, _, err = await ctl(rig, "record", "start", "bob")
    assert (code, err) == (1, "dylivectl: 'bob' is not live\n")
    code, _, err = await ctl(rig, "add", "200000000009", "--name", "alice")
    assert (code, err) == (1, "dylivectl: broadcaster 'alice' is already watched\n")


async def test_rejected_reload_exits_1_listing_every_problem(rig: Rig) -> None:
    good = rig.config.read_text(encoding="utf-8")
    bad = good + '\n[[broadcaster]]\ntarget = ""\nname = "x"\nvideo_quality = "8k"\n'
    try:
        rig.config.write_text(bad, encoding="utf-8")
        code, out, err = await ctl(rig, "reload")
        json_code, json_out, _ = await ctl(rig, "--json", "reload")
        # a watchlist command meanwhile is refused with the file's problems, not a 500
        add_code, _, add_err = await ctl(rig, "add", "200000000077", "--name", "zed")
    finally:
        rig.config.write_text(good, encoding="utf-8")
    assert (code, out) == (1, "")
    lines = err.splitlines()
    problems = json.loads(json_out)["problems"]
    assert json_code == 1
    assert len(problems) >= 2
    assert lines == [f"dylivectl: reload rejected: {len(problems)} problem(s)"] + [
        f"  {p}" for p in problems
    ]
    assert add_code == 1
    assert "broadcaster[3].target: must not be empty" in add_err
    assert "internal" not in add_err
    assert (await ctl(rig, "reload"))[0] == 0  # the good file again
    assert "zed" not in (await ctl(rig, "list"))[1]


def dialogue_starts(ass: str) -> dict[int, float]:
    """``{seq: start seconds}`` of an ASS file's Dialogue lines (the Name field holds the seq)."""
    starts = {}
    for line in ass.splitlines():
        if line.startswith("Dialogue: "):
            _, start, _, _, name, *_ = line.split(",", 9)
            h, m, s = start.split(":")
            starts[int(name)] = int(h) * 3600 + int(m) * 60 + float(s)
    return starts


SHOWN = (
    "SELECT seq, stream_offset_s FROM events WHERE session_id = ? AND type IN "
    "('chat', 'emoji_chat', 'gift') AND stream_offset_s IS NOT NULL"
)


async def export_with_offsets(
    rig: Rig, session: int, *argv: str
) -> tuple[str, str, dict[int, float]]:
    """An export (stdout, stderr) and the stored offsets it was made from: read before and after
    and retried while they differ (a closing segment rebases the offsets of recent events)."""
    db = rig.state / "dylived.db"
    for _ in range(5):
        before = dict(query(db, SHOWN, session))
        code, out, err = await ctl(rig, "export", str(session), *argv)
        assert code == 0, err
        after = dict(query(db, SHOWN, session))
        if all(after.get(seq) == off for seq, off in before.items()):
            return out, err, after
    raise AssertionError("the stored offsets kept changing")


async def test_export_ass_plays_in_ffmpeg_with_the_stored_offsets(rig: Rig, tmp_path: Path) -> None:
    gifter = SimUser(11, 11, "送礼{\\pos(0,0)}", "MS4wLjABAAAAgift", "gift")
    rig.room.push("gift", user=gifter, gift_name="玫瑰", gift_diamond_count=1, repeat_count=3)
    rig.room.push("chat", user=gifter, content="{\\fs200}big\\Nline\nnext 😀")
    rig.room.push("member", user=SimUser(12, 12, "carol", "MS4wLjABAAAAcarol", "carol"))
    db = rig.state / "dylived.db"
    hostile = "SELECT 1 FROM events WHERE type = 'chat' AND payload LIKE '%fs200%'"
    await wait_for(lambda: query(db, hostile), 20, "the hostile chat line stored")
    sessions = (await ctl_json(rig, "sessions", "alice"))["sessions"]
    session = sessions[0]["id"]
    segments = (
        await wait_for_json(
            rig,
            ["segments", str(session)],
            lambda j: any(s["state"] == "closed" for s in j["segments"]),
            30,
            "a closed segment",
        )
    )["segments"]
    first = min((s for s in segments if s["state"] == "closed"), key=lambda s: s["seq"])
    # the first segment alone, timed from its start, over its own video in real ffmpeg
    start, end = first["start_offset_s"], first["start_offset_s"] + first["media_duration_s"]
    out = tmp_path / "first.ass"
    argv = ["--format", "ass", "--segment", str(first["seq"]), "-o", str(out)]
    _, err, offsets = await export_with_offsets(rig, session, *argv)
    lines, dropped = (int(n) for n in re.findall(r"(\d+) lines, (\d+) dropped", err)[0])
    starts = dialogue_starts(out.read_text(encoding="utf-8"))
    expected = {seq for seq, off in offsets.items() if start <= off < end}
    assert len(starts) == lines > 0
    assert set(starts) <= expected
    assert len(expected) - len(starts) == dropped
    for seq, at in starts.items():
        assert abs(at - (offsets[seq] - start)) <= 0.01, (seq, at, offsets[seq], start)
    argv = ["/usr/bin/ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
    argv += ["-i", first["path"], "-vf", f"subtitles={out}", "-f", "null", "-"]
    done = await anyio.run_process(argv, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert b"rror" not in done.stderr, done.stderr.decode()
    # the whole session, timed from its start (as its segments play in order)
    ass, _, offsets = await export_with_offsets(rig, session, "--format", "ass")
    whole = dialogue_starts(ass)
    assert set(whole) <= set(offsets)
    assert len(whole) >= len(starts)
    assert all(abs(at - offsets[seq]) <= 0.01 for seq, at in whole.items())
    assert "｛＼fs200｝big＼Nline next 😀" in ass  # the hostile chat line, plain and on one line
    assert "送礼｛＼pos(0,0)｝ sent 玫瑰 ×3" in ass  # a gift: name × count
    code, srt, err = await ctl(rig, "export", str(session), "--format", "srt", "--include", "join")
    assert code == 0, err
    assert re.search(r"\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\ncarol joined\n", srt)
    code, _, err = await ctl(rig, "export", str(session), "--format", "ass", "--segment", "999")
    assert code == 1
    assert "999" in err


async def metrics_text(rig: Rig) -> str:
    result = await anyio.run_process(
        ["/usr/bin/curl", "-sS", "--unix-socket", str(rig.sock), "http://localhost/metrics"]
    )
    return result.stdout.decode()


async def curl(rig: Rig, path: str, *options: str) -> tuple[int, bytes, str]:
    """(HTTP status, body, response head) of a GET on the control socket."""
    argv = ["/usr/bin/curl", "-sS", "-g", "--path-as-is", "--unix-socket", str(rig.sock)]
    argv += ["-D", "-", "-o", "-", *options, f"http://localhost{path}"]
    done = await anyio.run_process(argv)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    return int(head.split()[1]), body, head.decode("latin-1").lower()


async def _forward(client: anyio.abc.SocketStream, sock: Path) -> None:
    """One TCP client's bytes to the control socket and back (ffprobe cannot speak to a UDS)."""
    async with client, await anyio.connect_unix(sock) as upstream:

        async def pipe(a: anyio.abc.ByteStream, b: anyio.abc.ByteStream) -> None:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                while True:
                    await b.send(await a.receive())
            with contextlib.suppress(anyio.BrokenResourceError, OSError):
                await b.send_eof()

        async with anyio.create_task_group() as tg:
            tg.start_soon(pipe, client, upstream)
            await pipe(upstream, client)
            tg.cancel_scope.cancel()


def runs(packets: list[list[float]]) -> list[list[list[float]]]:
    """Packets (pts, duration) split where the timestamps jump back (a segment's start)."""
    out: list[list[list[float]]] = []
    for packet in packets:
        if not out or packet[0] < out[-1][-1][0] - 1.0:
            out.append([])
        out[-1].append(packet)
    return out


def program_dates(text: str, db: Path, session: int) -> list[tuple[int, int]]:
    """(each EXT-X-PROGRAM-DATE-TIME in ms, the stored wall start of the segment it precedes)."""
    starts = dict(
        query(db, "SELECT seq, started_at_ms FROM segments WHERE session_id = ?", session)
    )
    found = re.findall(r"#EXT-X-PROGRAM-DATE-TIME:(\S+Z)\n#EXTINF:[\d.]+,\n\S+/\d+-(\d+)\.", text)
    return [
        (round(datetime.fromisoformat(date).timestamp() * 1000), starts[int(seq)])
        for date, seq in found
    ]


async def test_session_playlist_plays_in_ffprobe_and_serves_only_recordings(
    rig: Rig, tmp_path: Path
) -> None:
    db = rig.state / "dylived.db"
    session = (await ctl_json(rig, "sessions", "alice"))["sessions"][0]["id"]
    closed = "SELECT count(*) FROM segments WHERE session_id = ? AND state = 'closed'"
    await wait_for(lambda: query(db, closed, session)[0][0] >= 2, 30, "two closed segments")
    status, body, head = await curl(rig, f"/v1/sessions/{session}/playlist.m3u8")
    assert status == 200
    assert "application/vnd.apple.mpegurl" in head
    live = body.decode()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in live
    assert "#EXT-X-ENDLIST" not in live
    dates = program_dates(live, db, session)  # each segment's wall-clock start, live too
    assert len(dates) == live.count("#EXTINF:") >= 2
    assert all(shown == stored for shown, stored in dates), dates
    rig.room.go_offline()  # the session ends (grace 2 s): its playlist becomes VOD
    ended = "SELECT 1 FROM sessions WHERE id = ? AND ended_at_ms IS NOT NULL"
    await wait_for(lambda: query(db, ended, session), 30, "the session ended")
    remuxed = "SELECT 1 FROM remuxes WHERE session_id = ? AND state = 'done'"
    await wait_for(lambda: query(db, remuxed, session), 60, "its remux (before rows are added)")
    code, text, err = await ctl(rig, "playlist", str(session))
    assert code == 0, err
    rows = query(
        db,
        "SELECT seq, path, media_duration_s FROM segments WHERE session_id = ? "
        "AND state = 'closed' ORDER BY seq",
        session,
    )
    lines = text.splitlines()
    target = math.ceil(max(d for _, _, d in rows))
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}"]
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" not in text
    dates = program_dates(text, db, session)
    assert len(dates) == len(rows)
    assert all(shown == stored for shown, stored in dates), dates
    assert [d for d, _ in dates] == sorted(d for d, _ in dates)  # in time order
    assert all(abs(d - time.time() * 1000) < 3_600_000 for d, _ in dates)  # UTC, not local
    # each segment's timestamps start again (-reset_timestamps 1): a discontinuity each
    assert text.count("#EXT-X-DISCONTINUITY\n") == len(rows) - 1
    uris = [line for line in lines if line and not line.startswith("#")]
    assert uris == [f"../../segments/{session}-{seq}.ts" for seq, _, _ in rows]
    extinf = [float(x) for x in re.findall(r"#EXTINF:([\d.]+),", text)]
    assert extinf == pytest.approx([d for _, _, d in rows], abs=0.001)
    # play it end to end: ffprobe reads the playlist and every segment over HTTP, through a
    # 127.0.0.1 TCP forwarder to the control socket (the bytes are the daemon's own answers)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    url = f"http://127.0.0.1:{port}/v1/sessions/{session}/playlist.m3u8"
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, lambda c: _forward(c, rig.sock))
        argv = ["/usr/bin/ffprobe", "-v", "error", "-select_streams", "v:0"]
        argv += ["-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", url]
        probe = await anyio.run_process(argv, check=False)
        for ffmpeg in FFMPEGS:  # and every ffmpeg here decodes it (9.x checks the extensions)
            argv = [ffmpeg.path, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", url]
            decoded = await anyio.run_process([*argv, "-f", "null", "-"], check=False)
            assert decoded.returncode == 0, (ffmpeg.version, decoded.stderr.decode())
            assert not decoded.stderr, (ffmpeg.version, decoded.stderr.decode())
        tg.cancel_scope.cancel()
    assert probe.returncode == 0, probe.stderr.decode()
    assert not probe.stderr, probe.stderr.decode()
    packets = [[float(v) for v in line.split(",")[:2]] for line in probe.stdout.decode().split()]
    played = sum(max(p + d for p, d in run) - min(p for p, _ in run) for run in runs(packets))
    assert played == pytest.approx(sum(extinf), abs=0.5), (played, extinf)
    # byte ranges give the exact bytes of the file
    seq, path, _ = rows[0]
    data = await anyio.Path(path).read_bytes()
    status, body, head = await curl(rig, f"/v1/segments/{session}-{seq}.ts")
    assert status == 200
    assert body == data
    assert "content-type: video/mp2t" in head
    assert "accept-ranges: bytes" in head
    size = len(data)
    for spec, first, last in (
        ("100-1099", 100, 1099),
        (f"-{500}", size - 500, size - 1),
        ("1000-", 1000, size - 1),
    ):
        status, body, head = await curl(rig, f"/v1/segments/{session}-{seq}", "-r", spec)
        assert status == 206, spec
        assert body == data[first : last + 1], spec
        assert f"content-range: bytes {first}-{last}/{size}" in head, (spec, head)
    assert (await curl(rig, f"/v1/segments/{session}-{seq}", "-r", f"{len(data)}-"))[0] == 416
    # nothing outside recordings_dir: a stored "../x", a symlink out, encoded slashes and ".."
    outside = tmp_path / "secret.ts"
    outside.write_bytes(b"secret")
    link = Path(path).parent / "link.ts"
    link.symlink_to(outside)
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        for n, stored in ((9001, "../x.ts"), (9002, str(link)), (9003, str(outside))):
            conn.execute(
                "INSERT INTO segments (session_id, seq, path, state, started_at_ms, "
                "media_duration_s) VALUES (?, ?, ?, 'closed', 0, 1.0)",
                (session, n, stored),
            )
    for target, want in (
        (f"/v1/segments/{session}-9001", 403),  # "../x.ts"
        (f"/v1/segments/{session}-9002", 403),  # a symlink inside pointing outside
        (f"/v1/segments/{session}-9003", 403),  # an absolute path outside
        ("/v1/segments/..%2F..%2Fetc%2Fpasswd", 404),
        ("/v1/segments/1%2F..", 404),
        (f"/v1/segments/{session}-{seq}%2F..%2F..%2Fdylived.db", 404),
        ("/v1/segments/../../etc/passwd", 404),
        ("/v1/segments/%2E%2E", 404),
    ):
        status, body, _ = await curl(rig, target)
        assert status == want, (target, status, body)
        assert b"secret" not in body
        assert b"root:" not in body
    log = (rig.state.parent / "daemon.log").read_text()
    assert log.count("control: refused segment") >= 7, log[-3000:]  # every refusal is logged
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DELETE FROM segments WHERE session_id = ? AND seq > 9000", (session,))
    link.unlink()
    rig.room.go_live()  # as the later tests expect: alice live and recorded again
    await wait_for_json(
        rig,
        ["show", "alice"],
        lambda b: b["recording"]["current_segment"] is not None,
        60,
        "alice recorded again",
    )


async def test_the_remux_writes_the_sessions_ass_beside_its_mp4(rig: Rig) -> None:
    db = rig.state / "dylived.db"
    ended = "SELECT id FROM sessions WHERE ended_at_ms IS NOT NULL ORDER BY id LIMIT 1"
    [(session,)] = query(db, ended)  # the playlist test ended it (remux_mp4 = true)
    [(mp4,)] = query(db, "SELECT path FROM remuxes WHERE session_id = ?", session)
    ass = Path(mp4).with_suffix(".ass")
    assert Path(mp4).name.removesuffix(".mp4") == ass.stem  # same basename: players load it
    text = ass.read_text(encoding="utf-8")
    starts = dialogue_starts(text)
    offsets = dict(query(db, SHOWN, session))
    assert len(starts) >= 5, text[:2000]
    assert set(starts) <= set(offsets)
    dropped = int(re.findall(r"(\d+) dropped", text)[0])
    assert len(starts) + dropped == len(offsets)  # every shown event, or counted as dropped
    for seq, at in starts.items():  # timed for the whole session, as the MP4 plays
        assert abs(at - offsets[seq]) <= 0.01, (seq, at, offsets[seq])
    argv = ["/usr/bin/ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", mp4]
    argv += ["-t", "8", "-vf", f"subtitles={ass}", "-f", "null", "-"]  # libass reads it all
    done = await anyio.run_process(argv)
    assert done.stderr == b"", done.stderr.decode()
    probe = [
        "/usr/bin/ffprobe",
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
    ]
    duration = float((await anyio.run_process([*probe, mp4])).stdout)
    assert max(starts.values()) <= duration + 1.0  # no line after the video's end


ALICE_STORED = {  # what the database holds for alice, from the rows themselves
    "events": "SELECT e.type, count(*) FROM events e JOIN sessions s ON s.id = e.session_id "
    "WHERE s.broadcaster_key = 'alice' GROUP BY e.type",
    "segments": "SELECT count(*), coalesce(sum(bytes), 0) FROM segments g JOIN sessions s "
    "ON s.id = g.session_id WHERE s.broadcaster_key = 'alice' AND g.state IN ('closed', 'deleted')",
    "reconnects": "SELECT sum(reconnect_count) FROM sessions WHERE broadcaster_key = 'alice'",
}


class Totals(NamedTuple):
    events: dict[str, int]
    segments: int
    recorded: int
    reconnects: int


def alice_metrics(text: str) -> Totals:
    """alice's events by type, segments, recorded bytes and reconnects in ``/metrics``."""
    events: dict[str, int] = {}
    values: dict[str, int] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"(dylived_\w+)\{(.*)\} (\d+)", line)
        if match is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
        if labels.get("broadcaster") != "alice":
            continue
        if match.group(1) == "dylived_events_total":
            events[labels["type"]] = int(match.group(3))
        else:
            values[match.group(1)] = int(match.group(3))
    return Totals(
        events,
        values["dylived_segments_total"],
        values["dylived_recorded_bytes_total"],
        values["dylived_reconnects_total"],
    )


def alice_stored(db: Path) -> Totals:
    events = {kind: int(n) for kind, n in query(db, ALICE_STORED["events"])}
    [(segments, recorded)] = query(db, ALICE_STORED["segments"])
    [(reconnects,)] = query(db, ALICE_STORED["reconnects"])
    return Totals(events, int(segments), int(recorded), int(reconnects))


async def test_metrics_count_what_the_database_holds_for_the_broadcaster(rig: Rig) -> None:
    db = rig.state / "dylived.db"
    before = alice_metrics(await metrics_text(rig)).reconnects
    rig.room.inject("ws_drop")  # the simulator cuts the push connection: one reconnect
    deadline = time.monotonic() + 60
    while alice_metrics(await metrics_text(rig)).reconnects <= before:
        assert time.monotonic() < deadline, "no reconnect counted after the push drop"
        await anyio.sleep(0.5)
    # Events keep arriving: the stored rows read between two scrapes lie between them, and
    # equal them when no commit fell between the two scrapes.
    for _ in range(40):
        first = alice_metrics(await metrics_text(rig))
        stored = alice_stored(db)
        second = alice_metrics(await metrics_text(rig))
        for kind, count in stored.events.items():
            assert first.events.get(kind, 0) <= count <= second.events.get(kind, 0), (kind, stored)
        assert set(second.events) >= set(stored.events) >= set(first.events)
        for name in ("segments", "recorded", "reconnects"):
            low, mid, high = (getattr(t, name) for t in (first, stored, second))
            assert low <= mid <= high, (name, first, stored, second)
        if first == second:
            break
        await anyio.sleep(0.2)
    else:
        raise AssertionError("never two equal scrapes in a row")
    assert stored == first
    events, segments, recorded, reconnects = stored
    assert events["chat"] > 0
    assert events["like"] > 0
    assert segments >= 2
    assert recorded > segments * 1000  # closed 6 s segments of real video
    assert reconnects >= before + 1  # the drop, in the session's reconnect_count


# Keep this test last in the module: it leaves the platform paused (breaker_pause is 60 s).
async def test_risk_control_shows_the_platform_paused_in_status_and_metrics(rig: Rig) -> None:
    rig.room.inject("risk_control", duration=600)
    status = await wait_for_json(
        rig,
        ["status"],
        lambda j: j["daemon"]["platforms"]["douyin"]["breaker"]["state"] == "open",
        30,
        "the breaker open",
    )
    gate = status["daemon"]["platforms"]["douyin"]
    opened_at = time.time()
    assert gate["risk_signals"] >= 1
    assert gate["breaker"]["times_opened"] == 1
    assert "empty body" in gate["breaker"]["last_reason"]
    until_s = gate["breaker"]["open_until_ms"] / 1000
    assert opened_at + 50 < until_s <= opened_at + 60.5  # the 60 s default pause
    assert {b["breaker"] for b in status["broadcasters"]} == {"open"}  # alice and bob alike
    code, out, err = await ctl(rig, "status")
    assert code == 0, err
    print(out)  # shown with -rP
    cells = row_of(out, "douyin")
    match = re.fullmatch(r"open until (\d\d:\d\d:\d\d) \(for (\d+)s\)", cells[5])
    assert match, cells
    assert 45 <= int(match.group(2)) <= 60
    assert int(cells[4]) >= gate["risk_signals"]  # risk signals (the probe is a minute away)
    assert "empty body" in cells[6]
    assert "breaker open" in row_of(out, "bob")[-1]
    await wait_for_json(  # the STATUS= line names the paused platform
        rig,
        ["status"],
        lambda j: j["daemon"]["status_line"].endswith(", douyin paused (risk control, open)"),
        30,
        "the status line",
    )
    metrics = (await metrics_text(rig)).splitlines()
    for line in (
        'dylived_breaker_state{broadcaster="alice",platform="douyin",state="open"} 1',
        'dylived_breaker_state{broadcaster="bob",platform="douyin",state="closed"} 0',
        'dylived_platform_breaker_state{platform="douyin",state="open"} 1',
        'dylived_breaker_opened_total{platform="douyin"} 1',
    ):
        assert line in metrics, line
    [risk] = [m for m in metrics if m.startswith('dylived_risk_signals_total{platform="douyin"}')]
    assert int(risk.split()[-1]) >= 1
    [made] = [m for m in metrics if m.startswith('dylived_poll_requests_total{platform="douyin"}')]
    assert int(made.split()[-1]) >= gate["requests"]
    # The loop's own load (bench.soak samples these): two watches, the server, the writer...
    [tasks] = [int(m.split()[-1]) for m in metrics if m.startswith("dylived_tasks ")]
    [threads] = [int(m.split()[-1]) for m in metrics if m.startswith("dylived_threads ")]
    assert 5 <= tasks < 500, tasks
    assert threads >= 1
