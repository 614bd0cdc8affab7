"""The ffmpeg argv: its shape (pure), its options against the real ffmpeg, and a real recording."""

from __future__ import annotations

import csv
import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dylived.record.argv import (
    FLUSH_PER_PACKET,
    FRAGMENTED_MP4,
    Container,
    RecordCommand,
    argv_for_job,
    build_record_argv,
    command_from_job,
    container_of,
    header_block,
    output_pattern,
    part_name,
    stream_url_problem,
)
from dylived.record.policy import FfmpegJob
from dylived.record.probe import find_ffmpeg


UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"


def command(tmp_path: Path, **overrides: object) -> RecordCommand:
    values: dict[str, object] = {
        "url": "https://pull-flv.example/stage/stream-1_or4.flv?expire=1",
        "output_dir": tmp_path,
        "stem": "alice_20240302-073005",
        "segment_list": tmp_path / "segments.csv",
        "segment_seconds": 1800.0,
        "user_agent": UA,
        "referer": "https://live.douyin.com/123456",
    }
    values.update(overrides)
    return RecordCommand(**values)  # type: ignore[arg-type]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_input_options_come_before_the_input(tmp_path: Path) -> None:
    argv = build_record_argv("ffmpeg", command(tmp_path, rw_timeout_s=10))
    i = argv.index("-i")
    for name in ("-protocol_whitelist", "-rw_timeout", "-user_agent", "-referer"):
        assert argv.index(name) < i
    assert option(argv, "-protocol_whitelist") == "http,https,tcp,tls,crypto"
    assert option(argv, "-rw_timeout") == "10000000"  # microseconds
    assert option(argv, "-user_agent") == UA
    assert option(argv, "-referer") == "https://live.douyin.com/123456"
    assert "-headers" not in argv  # nothing but User-Agent and Referer
    assert argv[i + 1].startswith("https://pull-flv.example/")


def test_output_options_for_mpegts_segments(tmp_path: Path) -> None:
    argv = build_record_argv("/usr/bin/ffmpeg", command(tmp_path, start_number=3))
    assert argv[0] == "/usr/bin/ffmpeg"
    assert "-nostdin" not in argv  # the stop ladder writes 'q' to stdin
    assert option(argv, "-c") == "copy"
    assert [argv[j + 1] for j, a in enumerate(argv) if a == "-map"] == ["0:v?", "0:a?"]
    assert option(argv, "-f") == "segment"
    assert option(argv, "-segment_time") == "1800"
    assert option(argv, "-reset_timestamps") == "1"
    assert option(argv, "-segment_format") == "mpegts"
    # every packet written through: a killed ffmpeg's open segment holds all it received
    assert option(argv, "-segment_format_options") == "flush_packets=1"
    assert argv.index("-segment_format_options") < argv.index("-segment_list")
    assert option(argv, "-segment_start_number") == "3"
    assert option(argv, "-segment_list") == str(tmp_path / "segments.csv")
    assert option(argv, "-segment_list_type") == "csv"
    assert option(argv, "-progress") == "pipe:1"
    assert "-nostats" in argv
    assert option(argv, "-loglevel") == "level+warning"  # each line tagged with its level
    assert argv[-1] == str(tmp_path / "alice_20240302-073005_%04d.ts.part")


@pytest.mark.parametrize(
    ("container", "fmt", "options"),
    [("mkv", "matroska", FLUSH_PER_PACKET), ("mp4", "mp4", f"{FRAGMENTED_MP4}:{FLUSH_PER_PACKET}")],
)
def test_other_containers(tmp_path: Path, container: str, fmt: str, options: str) -> None:
    argv = build_record_argv("ffmpeg", command(tmp_path, container=container, segment_seconds=6))
    assert option(argv, "-segment_format") == fmt
    assert option(argv, "-segment_time") == "6"
    assert option(argv, "-segment_format_options") == options
    assert argv.count("-segment_format_options") == 1
    assert argv[-1].endswith(f"_%04d.{container}.part")


def test_fractional_segments_and_no_optional_inputs(tmp_path: Path) -> None:
    argv = build_record_argv(
        "ffmpeg",
        command(tmp_path, segment_seconds=0.1 * 60, user_agent=None, referer=None),
    )
    assert option(argv, "-segment_time") == "6"
    assert not {"-user_agent", "-referer", "-headers"} & set(argv)


@pytest.mark.parametrize(
    "bad",
    [
        {"headers": {"Origin": "a\r\nX-Evil: 1"}},
        {"user_agent": "UA\n"},
        {"referer": "r\r"},
        {"headers": {"X-A": "1\r\nX-B: 2"}},
        {"headers": {"Bad:Name": "1"}},
        {"segment_seconds": 0},
        {"rw_timeout_s": 0},
        {"stem": "a/b"},
        {"stem": ""},
        {"headers": {"Cookie": "sessionid=secret"}},
        {"headers": {"authorization": "Bearer x"}},
        {"url": "file:///etc/passwd"},
    ],
)
def test_unsafe_or_invalid_values_are_refused(tmp_path: Path, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        build_record_argv("ffmpeg", command(tmp_path, **bad))


def test_percent_in_the_stem_and_the_directory_is_escaped_for_the_muxer(tmp_path: Path) -> None:
    assert output_pattern(tmp_path, "100%_fun").name == "100%%_fun_%04d.ts.part"
    assert part_name("100%_fun", 2) == "100%_fun_0002.ts.part"
    folder = tmp_path / "100%" / "2026-%d"
    pattern = output_pattern(folder, "x")
    assert str(pattern) == f"{tmp_path}/100%%/2026-%%d/x_%04d.ts.part"
    argv = build_record_argv("ffmpeg", command(tmp_path, output_dir=folder, stem="x"))
    assert argv[-1] == str(pattern)
    # the segment list is a plain file name, not a pattern: left as it is
    listing = folder / ".x.1.csv"
    argv = build_record_argv("ffmpeg", command(tmp_path, output_dir=folder, segment_list=listing))
    assert option(argv, "-segment_list") == str(listing)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://127.0.0.1:8080/thirdgame/stream-1_md.flv?sign=a", True),
        ("https://pull-hls-f1.douyincdn.com/x/stream-1.m3u8?expire=6", True),
        ("file:///etc/passwd", False),
        ("/etc/passwd", False),
        ("concat:/etc/passwd|/etc/hosts", False),
        ("subfile,,start,0,end,100,,:/etc/passwd", False),
        ("HTTP://127.0.0.1/x.flv", False),  # ffmpeg matches protocol names case-sensitively
        ("http:///etc/passwd", False),
        ("https://host/a b", False),
        ("https://host/a\n[segment @ 0x1] Opening 'x' for writing", False),
        ("data:video/x-flv;base64,RkxW", False),
        ("crypto+http://host/x.ts", False),
        ("", False),
    ],
)
def test_only_http_and_https_stream_urls_are_accepted(url: str, accepted: bool) -> None:
    assert (stream_url_problem(url) is None) is accepted


def test_header_block_never_carries_a_credential() -> None:
    assert header_block({"Origin": "https://live.douyin.com", "X-A": "1"}) == (
        "Origin: https://live.douyin.com\r\nX-A: 1\r\n"
    )
    for name in ("Cookie", "cookie", "Authorization", "Proxy-Authorization"):
        with pytest.raises(ValueError, match="credential"):
            header_block({name: "secret"})


def test_the_supervisor_job_maps_onto_the_command(tmp_path: Path) -> None:
    job = FfmpegJob(
        url="http://127.0.0.1:1/live.flv",
        kind="flv",
        output_pattern=tmp_path / "a%%b" / "bob%%x_%04d.mkv.part",
        segment_list=tmp_path / "list.csv",
        start_number=5,
        segment_seconds=60,
        rw_timeout_s=3,
        headers=(("User-Agent", UA), ("Referer", "https://live.douyin.com/"), ("Cookie", "t=1")),
    )
    cmd = command_from_job(job)
    assert (cmd.stem, cmd.container, cmd.start_number) == ("bob%x", "mkv", 5)
    assert cmd.output_dir == tmp_path / "a%b"
    # a Cookie in the job is dropped: ffmpeg never gets a credential
    assert (cmd.user_agent, cmd.referer, dict(cmd.headers)) == (UA, "https://live.douyin.com/", {})
    argv = argv_for_job("ffmpeg", job)
    assert argv[-1] == str(job.output_pattern)
    assert not [a for a in argv if "t=1" in a]
    assert option(argv, "-loglevel") == "level+info"  # the supervisor reads stream info lines
    assert option(argv, "-rw_timeout") == "3000000"
    assert container_of(Path("x_%04d.ts.part")) == "ts"
    bad = FfmpegJob("u", "flv", tmp_path / "x.ts", tmp_path / "l.csv", 0, 60, 3)
    with pytest.raises(ValueError, match="must end in"):
        command_from_job(bad)


# ---------------------------------------------------------------- against the real ffmpeg

FFMPEG = find_ffmpeg()


def test_every_option_exists_in_the_installed_ffmpeg(tmp_path: Path, ffmpeg_bin: str) -> None:
    """Each option we pass is known to this ffmpeg (5.1 was checked in ecosystem.md §7)."""
    helps = [
        ["-h", "full"],
        ["-h", "protocol=http"],
        ["-h", "muxer=segment"],
    ]
    text = "".join(
        subprocess.run(
            [ffmpeg_bin, "-hide_banner", *h], capture_output=True, text=True, check=True
        ).stdout
        for h in helps
    )
    argv = build_record_argv(ffmpeg_bin, command(tmp_path, container="mp4"))
    used = {a for a in argv[1:] if a.startswith("-") and a not in ("-i", "-f", "-c", "-y")}
    # boolean options are listed positively (-stats) and negated with a "no" prefix
    known = {name for name in used if f"{name} " in text}
    known |= {name for name in used if name.startswith("-no") and f"-{name[3:]} " in text}
    missing = sorted(used - known)
    assert missing == []


@pytest.fixture(scope="module")
def flv_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 s of testsrc2 + sine as H.264/AAC FLV with a keyframe every second."""
    path = tmp_path_factory.mktemp("src") / "live.flv"
    subprocess.run(
        [
            FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=7",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=7",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-f", "flv", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture
def http_source(flv_source: Path) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """The FLV served over HTTP on 127.0.0.1; yields its URL and the request headers seen."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers.items()))
            body = flv_source.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "video/x-flv")
            self.end_headers()  # no Content-Length: an endless-looking live stream
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/live.flv", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.slow
@pytest.mark.parametrize("container", ["ts", "mkv", "mp4"])
def test_real_ffmpeg_records_decodable_segments(
    tmp_path: Path,
    http_source: tuple[str, list[dict[str, str]]],
    container: Container,
    ffmpeg_bin: str,
) -> None:
    url, seen = http_source
    cmd = command(
        tmp_path, url=url, segment_seconds=2.5, container=container, rw_timeout_s=5, start_number=1
    )
    done = subprocess.run(
        build_record_argv(ffmpeg_bin, cmd),
        stdin=subprocess.PIPE,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"progress=end" in done.stdout  # -progress pipe:1 reports
    assert seen[0]["User-Agent"] == UA
    assert seen[0]["Referer"] == "https://live.douyin.com/123456"
    assert "Cookie" not in seen[0]
    with (tmp_path / "segments.csv").open(newline="") as listing:
        entries = list(csv.reader(listing))
    names = [name for name, _start, _end in entries]
    assert names == [part_name(cmd.stem, seq, container) for seq in range(1, len(names) + 1)]
    assert 2 <= len(names) <= 3
    total = 0.0
    for name, start, end in entries:
        segment = tmp_path / name
        decoded = subprocess.run(
            [ffmpeg_bin, "-hide_banner", "-v", "error", "-i", str(segment), "-f", "null", "-"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert decoded.returncode == 0
        assert decoded.stderr == b"", decoded.stderr.decode()
        total += float(end) - float(start)
    assert total == pytest.approx(7.0, abs=0.2)
