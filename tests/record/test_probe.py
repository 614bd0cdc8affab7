"""Finding and probing ffmpeg: the real binary, other builds' output, and unusable executables."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dylived.errors import FfmpegUnusable
from dylived.record.mpegts import sps_size
from dylived.record.probe import (
    REQUIRED_DEMUXERS,
    REQUIRED_MUXERS,
    REQUIRED_PROTOCOLS,
    FfmpegInfo,
    check_usable,
    find_ffmpeg,
    find_usable_ffmpeg,
    parse_formats,
    parse_input_protocols,
    parse_version,
    probe_ffmpeg,
)
from dylived.record.sizechange import (
    SPS_AFTER,
    SPS_BEFORE,
    carries_new_sps,
    follows_size_change,
    sample_flv,
)
from dylived.sim.media import parse_flv


pytestmark = pytest.mark.anyio

DEBIAN_51_VERSION = """\
ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025 the FFmpeg developers
built with gcc 12 (Debian 12.2.0-14+deb12u1)
configuration: --prefix=/usr --extra-version=0+deb12u1 --toolchain=hardened
libavutil      57. 28.100 / 57. 28.100
libavcodec     59. 37.100 / 59. 37.100
libavformat    59. 27.100 / 59. 27.100
"""

DEBIAN_51_MUXERS = """\
File formats:
 D. = Demuxing supported
 .E = Muxing supported
 --
  E 3g2             3GP2 (3GPP2 file format)
  E matroska        Matroska
 DE mpegts          MPEG-TS (MPEG-2 Transport Stream)
 D  mov,mp4,m4a,3gp,3g2,mj2 QuickTime / MOV
"""

PROTOCOLS = """\
Supported file protocols:
Input:
  file
  http
  tcp
Output:
  file
  https
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def script(tmp_path: Path, name: str, body: str) -> str:
    """A real executable standing in for a broken or old ffmpeg."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def info(**overrides: object) -> FfmpegInfo:
    values: dict[str, object] = {
        "path": "/usr/bin/ffmpeg",
        "version_text": "5.1.9",
        "version": (5, 1, 9),
        "libavformat": (59, 27, 100),
        "muxers": REQUIRED_MUXERS,
        "demuxers": REQUIRED_DEMUXERS,
        "protocols": REQUIRED_PROTOCOLS,
    }
    values.update(overrides)
    return FfmpegInfo(**values)  # type: ignore[arg-type]


def test_version_of_debian_51() -> None:
    assert parse_version(DEBIAN_51_VERSION) == ("5.1.9-0+deb12u1", (5, 1, 9), (59, 27, 100))


def test_version_of_a_release_tag_and_a_git_snapshot() -> None:
    assert parse_version("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright")[1] == (9, 0, 2)
    text = "ffmpeg version N-112345-gabcdef Copyright\nlibavformat    61.  1.100 / 61.  1.100\n"
    assert parse_version(text) == ("N-112345-gabcdef", None, (61, 1, 100))
    with pytest.raises(FfmpegUnusable, match="not ffmpeg"):
        parse_version("usage: something else")


def test_formats_of_the_51_layout() -> None:
    assert parse_formats(DEBIAN_51_MUXERS) == {
        "3g2", "matroska", "mpegts", "mov", "mp4", "m4a", "3gp", "mj2",
    }  # fmt: skip


def test_input_protocols() -> None:
    assert parse_input_protocols(PROTOCOLS) == {"file", "http", "tcp"}


def test_check_usable_accepts_51_and_a_recent_snapshot() -> None:
    check_usable(info())
    check_usable(info(version=None, version_text="N-1-gabc", libavformat=(61, 1, 100)))


def test_check_usable_names_every_shortcoming() -> None:
    old = info(version=(4, 4, 2), version_text="4.4.2", muxers=frozenset({"mpegts"}))
    with pytest.raises(FfmpegUnusable) as caught:
        check_usable(old)
    message = str(caught.value)
    assert "older than 5.1" in message
    assert "muxers missing: matroska, mp4, segment" in message
    with pytest.raises(FfmpegUnusable, match="input protocols missing: https"):
        check_usable(info(protocols=frozenset({"http", "tcp"})))
    with pytest.raises(FfmpegUnusable, match="cannot tell the version"):
        check_usable(info(version=None, version_text="weird", libavformat=(58, 76, 100)))


async def test_each_installed_ffmpeg_is_usable(ffmpeg_bin: str) -> None:
    found = await find_usable_ffmpeg(ffmpeg_bin)
    assert found.path == ffmpeg_bin
    assert found.version is not None
    assert found.version[:2] >= (5, 1)
    assert found.muxers >= REQUIRED_MUXERS
    assert found.demuxers >= REQUIRED_DEMUXERS
    assert found.protocols >= REQUIRED_PROTOCOLS
    # whether -c copy keeps a frame-size change inside FLV: known for the two builds we ship on
    known = {(5, 1): False, (9, 0): True}
    release = (found.version[0], found.version[1])
    if release not in known:
        pytest.skip(f"no known answer for ffmpeg {found.version_text}")
    assert found.follows_size_change is known[release]


def test_the_size_change_sample_has_two_sequence_headers() -> None:
    prelude, tags = parse_flv(sample_flv())
    headers = [t.raw for t in prelude if t.kind == 9]
    assert len(headers) == 2
    assert SPS_BEFORE in headers[0]
    assert SPS_AFTER in headers[1]
    assert [t.keyframe for t in tags] == [True] * 4
    assert sps_size(SPS_BEFORE) == (426, 240)
    assert sps_size(SPS_AFTER) == (240, 426)
    assert carries_new_sps(b"\x00\x00\x01" + SPS_AFTER)
    assert not carries_new_sps(b"\x00\x00\x01" + SPS_BEFORE)


async def test_a_broken_executable_does_not_follow_size_changes(tmp_path: Path) -> None:
    liar = script(tmp_path, "liar", "cat >/dev/null; exit 0")  # exits 0, writes nothing
    assert await follows_size_change(liar) is False
    gone = script(tmp_path, "gone", "exit 0")  # exits before reading its input
    assert await follows_size_change(gone) is False
    missing = str(tmp_path / "missing")
    assert await follows_size_change(missing) is False


async def test_an_old_ffmpeg_is_refused(tmp_path: Path) -> None:
    old = script(tmp_path, "ffmpeg", 'echo "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright"')
    with pytest.raises(FfmpegUnusable, match=r"older than 5\.1"):
        await probe_ffmpeg(old)


async def test_a_failing_or_hanging_executable_is_refused(tmp_path: Path) -> None:
    failing = script(tmp_path, "failing", 'echo "boom" >&2; exit 3')
    with pytest.raises(FfmpegUnusable, match="exited 3: boom"):
        await probe_ffmpeg(failing)
    hanging = script(tmp_path, "hanging", "exec sleep 30")
    with pytest.raises(FfmpegUnusable, match="did not answer"):
        await probe_ffmpeg(hanging, per_command_s=0.3)
    with pytest.raises(FfmpegUnusable, match="not ffmpeg"):
        await probe_ffmpeg(script(tmp_path, "silent", "true"))


def test_find_ffmpeg(tmp_path: Path) -> None:
    with pytest.raises(FfmpegUnusable, match="not an executable"):
        find_ffmpeg(str(tmp_path / "nope"))
    mine = script(tmp_path, "my-ffmpeg", "true")
    assert find_ffmpeg(mine) == mine
    assert Path(find_ffmpeg()).is_file()
