"""The real daemon (a subprocess) recording the simulator: what ffmpeg is given, and is not.

A configured login cookie appears neither in ffmpeg's argv (``/proc/PID/cmdline``, readable by
every local user) nor in any request the simulator's media server receives; a status whose
stream URL is ``file:///etc/passwd`` starts no ffmpeg and is logged and counted; a ``{nickname}``
folder named ``100%`` records playable segments. Quality ``md``, 6 s segments.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import anyio
import pytest

from dylived.record.sizechange import follows_size_change
from dylived.sim import RoomSpec, Scenario, Simulator
from tests.daemon_rig import broadcaster_table, query, simulator_config, wait_for
from tests.record.livesource import measure
from tests.record.test_daemon_recording import daemon, dylivectl, ffmpeg_pids


pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

RID = "200000000001"
NO_CAPTURE = "[capture]\ncapture_events = false\n"
CLOSED = "SELECT COUNT(*) FROM segments WHERE state = 'closed'"


def write_config(
    path: Path,
    sim: Simulator,
    state: Path,
    *,
    extra: str = "",
    recording: str = "",
    ffmpeg: str | None = None,
) -> None:
    text = simulator_config(
        sim,
        state,
        broadcasters=broadcaster_table(RID, "b0"),
        recording='record_video = true\nvideo_quality = "md"\nsegment_minutes = 0.1\n' + recording,
        extra=extra + NO_CAPTURE,
        ffmpeg=ffmpeg,
    )
    path.write_text(text, encoding="utf-8")


def closed(db: Path) -> int:
    rows = query(db, CLOSED)
    return int(rows[0][0]) if rows else 0


def cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


async def stop(process: object) -> None:
    process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    with anyio.fail_after(20):
        assert await process.wait() == 0  # type: ignore[attr-defined]


async def test_the_login_cookie_reaches_neither_ffmpeg_argv_nor_the_media_server(
    tmp_path: Path,
) -> None:
    secret = "sessionid=SECRET-c00k1e-4242; ttwid=SECRET-ttwid-4242"
    # a configured cookie is sent as it is: the simulator takes a ttwid it did not issue
    scenario = Scenario(rooms=(RoomSpec(RID, nickname="主播"),), strict_ttwid=False)
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    before = ffmpeg_pids(tmp_path)
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, extra=f'cookies = "{secret}"\n')
        sim.room(RID).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            await wait_for(lambda: closed(db) >= 1, 40, "a closed segment")
            ours = ffmpeg_pids(tmp_path) - before
            assert ours
            argvs = [cmdline(pid) for pid in ours]
            await stop(process)
        requests = list(sim.observed.requests)
    for argv in argvs:
        assert "ffmpeg" in argv[0]
        assert not [a for a in argv if "SECRET" in a or "sessionid" in a]
        assert "-headers" not in argv
        assert argv[argv.index("-protocol_whitelist") + 1] == "http,https,tcp,tls,crypto"
    media = [r for r in requests if r.endpoint in ("flv", "hls_playlist", "hls_segment")]
    assert media
    for request in media:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert "cookie" not in headers
        assert request.cookies == {}
        assert not [v for v in headers.values() if "SECRET" in v]
        assert headers["referer"] == sim.web_base + "/"  # what the CDN may want, no more
        assert headers["user-agent"].startswith("Mozilla/5.0")
    # the cookie was configured and is used where it belongs: the status requests carry it
    enter = [r for r in requests if r.endpoint == "web_enter"]
    assert enter
    assert all(r.cookies.get("sessionid") == "SECRET-c00k1e-4242" for r in enter)


async def test_a_file_stream_url_starts_no_ffmpeg_and_is_logged_and_counted(
    tmp_path: Path, ffmpeg_bin: str
) -> None:
    # Which URL the recorder tries first depends on the ffmpeg (record.sizechange): FLV with
    # one that carries a frame-size change inside FLV (9.0), else HLS (5.1). Both are file:.
    flv_first = await follows_size_change(ffmpeg_bin)
    scenario = Scenario(rooms=(RoomSpec(RID, nickname="主播"),))
    state, config, log = tmp_path / "state", tmp_path / "dylived.toml", tmp_path / "daemon.log"
    db = state / "dylived.db"

    def refusals(kind: str) -> int:
        line = f"refusing the {kind} stream URL 'file:///etc/passwd' from the status"
        return log.read_text(errors="replace").count(line)

    before = ffmpeg_pids(tmp_path)
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, ffmpeg=ffmpeg_bin)
        room = sim.room(RID)
        room.stream_url_override = "file:///etc/passwd"  # every quality, FLV and HLS
        room.go_live()
        async with daemon(config, log) as process:
            first = "flv" if flv_first else "hls"
            await wait_for(lambda: refusals(first) >= 1, 30, f"the {first} refusal")
            spawned = ffmpeg_pids(tmp_path) - before
            code, out = await dylivectl(state, "--json", "show", "b0")
            assert code == 0, out
            recording = json.loads(out)["recording"]
            # refused again after each backoff (1, 2 s): FLV three times (hls_after_flv_failures),
            # then the HLS URL is tried; an ffmpeg that prefers HLS gets the HLS URL refused again
            then = (lambda: refusals("hls") >= 1) if flv_first else (lambda: refusals("hls") >= 2)
            await wait_for(then, 30, "the HLS refusal after the backoff")
            spawned |= ffmpeg_pids(tmp_path) - before
            code, out = await dylivectl(state, "--json", "show", "b0")
            later = json.loads(out)["recording"]
            flv_refused = refusals("flv")
            room.stream_url_override = None  # the status is sane again: recording starts
            await wait_for(lambda: closed(db) >= 1, 40, "a segment once the URL is http")
            await stop(process)
    assert spawned == set()  # no ffmpeg was ever given the file: URL
    assert recording["runs"] == 0
    assert recording["rejected_urls"] >= 1
    assert later["runs"] == 0
    if flv_first:
        assert flv_refused == 3
        assert later["rejected_urls"] >= 4  # three FLV, then HLS
    else:
        assert flv_refused == 0  # the FLV URL is never chosen while HLS is offered
        assert later["rejected_urls"] >= 2
    assert "only http:// and https:// URLs are recorded" in log.read_text(errors="replace")
    [(reason,)] = query(db, "SELECT reason_for_exit FROM sessions")
    assert reason == "daemon_stopped"  # survived: the session went on and recorded
    rows = query(db, "SELECT path FROM segments WHERE state = 'closed'")
    assert rows
    for (path,) in rows:
        assert measure(Path(path), ffmpeg_bin)[1] == ""


async def test_a_nickname_folder_named_100_percent_records_playable_segments(
    tmp_path: Path,
) -> None:
    scenario = Scenario(rooms=(RoomSpec(RID, nickname="100%"),))
    state, config = tmp_path / "state", tmp_path / "dylived.toml"
    db = state / "dylived.db"
    template = 'filename_template = "{nickname}/{broadcaster}_{start:%H%M%S}_{seq:04d}.ts"\n'
    async with Simulator.running(scenario) as sim:
        write_config(config, sim, state, recording=template)
        sim.room(RID).go_live()
        async with daemon(config, tmp_path / "daemon.log") as process:
            await wait_for(lambda: closed(db) >= 2, 40, "two closed segments")
            await stop(process)
    folder = state / "recordings" / "100%"
    rows = query(db, "SELECT path, state, bytes FROM segments ORDER BY seq")
    assert len(rows) >= 2
    assert {s for _, s, _ in rows} == {"closed"}
    files = sorted(p for p in folder.iterdir() if p.is_file())
    assert [Path(p) for p, _, _ in rows] == files  # every segment in the 100% folder
    assert not [f for f in files if f.name.endswith(".part")]
    for path, _, size in rows:
        assert (await anyio.Path(path).stat()).st_size == size
        seconds, errors = measure(Path(path))
        assert errors == ""
        assert seconds > 0
    [(reason,)] = query(db, "SELECT reason_for_exit FROM sessions")
    assert reason == "daemon_stopped"  # not recorder_failed
