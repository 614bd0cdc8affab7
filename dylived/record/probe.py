"""Find ffmpeg and check it is usable, once at start.

:func:`find_ffmpeg` looks at the configured path, then PATH, then the pip-installed
imageio-ffmpeg fallback. :func:`probe_ffmpeg` (async: it runs ``ffmpeg -version`` and
``-hide_banner -muxers/-demuxers/-protocols`` with ``anyio.run_process``, bounded by a timeout)
checks the version is 5.1 or newer and that the formats and protocols dylived uses are built
in, raising FfmpegUnusable with a message saying what is missing, and asks whether ``-c copy``
keeps a frame-size change inside FLV (``record.sizechange``; Debian 12's 5.1 does not, and is
then recorded from HLS). The parsers of those outputs are pure functions so they are tested on
the text of other builds too.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence

import anyio

from dylived.errors import FfmpegUnusable
from dylived.record.sizechange import follows_size_change


MIN_VERSION = (5, 1)
# ffmpeg 5.1 ships libavformat 59.27; git snapshots ("N-1234-g…") are judged by it.
MIN_LIBAVFORMAT = (59, 27)
REQUIRED_MUXERS = frozenset({"segment", "mpegts", "matroska", "mp4"})
REQUIRED_DEMUXERS = frozenset({"flv", "hls"})
REQUIRED_PROTOCOLS = frozenset({"http", "https", "tcp"})

_VERSION_LINE = re.compile(r"^ffmpeg version (\S+)", re.MULTILINE)
_RELEASE = re.compile(r"^n?(\d+)\.(\d+)(?:\.(\d+))?")
_LIBAVFORMAT = re.compile(r"^libavformat\s+(\d+)\.\s*(\d+)\.\s*(\d+)", re.MULTILINE)
_FORMAT_FLAGS = re.compile(r"^[DEd.]+$")


def find_ffmpeg(configured: str | None = None) -> str:
    """The ffmpeg executable to use, or FfmpegUnusable saying where we looked."""
    if configured:
        path = shutil.which(configured)
        if path is None:
            raise FfmpegUnusable(f"configured ffmpeg {configured!r} is not an executable")
        return path
    on_path = shutil.which("ffmpeg")
    if on_path is not None:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError:
        pass
    else:
        exe = str(imageio_ffmpeg.get_ffmpeg_exe())
        if os.access(exe, os.X_OK):
            return exe
    raise FfmpegUnusable(
        "no ffmpeg found: not on PATH and the imageio-ffmpeg fallback is not installed "
        "(install Debian's ffmpeg, or pip install 'dylived[ffmpeg]')"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class FfmpegInfo:
    """A usable ffmpeg: where it is, what it says it is, and what it can do."""

    path: str
    version_text: str  # as printed, e.g. "5.1.9-0+deb12u1" or "n9.0.2-17-g2a571b6068-20260930"
    version: tuple[int, ...] | None  # (5, 1, 9); None for git snapshots
    libavformat: tuple[int, int, int] | None
    muxers: frozenset[str]
    demuxers: frozenset[str]
    protocols: frozenset[str]  # input protocols
    # -c copy keeps a frame-size change inside FLV (record.sizechange; 9.0 yes, 5.1 no)
    follows_size_change: bool = False


def parse_version(text: str) -> tuple[str, tuple[int, ...] | None, tuple[int, int, int] | None]:
    """(version as printed, release numbers or None, libavformat version or None)."""
    line = _VERSION_LINE.search(text)
    if line is None:
        raise FfmpegUnusable("not ffmpeg: no 'ffmpeg version' line in its -version output")
    printed = line.group(1)
    release = _RELEASE.match(printed)
    version = tuple(int(n) for n in release.groups() if n is not None) if release else None
    lavf = _LIBAVFORMAT.search(text)
    libavformat = (int(lavf[1]), int(lavf[2]), int(lavf[3])) if lavf else None
    return printed, version, libavformat


def parse_formats(text: str) -> frozenset[str]:
    """The format names of ``ffmpeg -muxers`` or ``-demuxers`` output (5.1 and 9.x layouts)."""
    names: set[str] = set()
    lines = text.splitlines()
    # the legend ends with a line of dashes ("--" in 5.1, "---" since 6.1, with the d column)
    rules = [i for i, line in enumerate(lines) if line.strip() and not line.strip().strip("-")]
    body = lines[rules[0] + 1 :] if rules else lines
    for line in body:
        tokens = line.split(None, 2)
        if len(tokens) >= 2 and _FORMAT_FLAGS.match(tokens[0]):
            names.update(n for n in tokens[1].split(",") if n)
    return frozenset(names)


def parse_input_protocols(text: str) -> frozenset[str]:
    """The input protocols of ``ffmpeg -protocols`` output."""
    names: set[str] = set()
    section = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":"):
            section = stripped[:-1].lower()
            continue
        if section == "input" and stripped:
            names.add(stripped)
    return frozenset(names)


def check_usable(info: FfmpegInfo) -> None:
    """Raise FfmpegUnusable naming every shortcoming (too old, missing format or protocol)."""
    problems: list[str] = []
    if info.version is not None and info.version[:2] < MIN_VERSION:
        problems.append(f"version {info.version_text} is older than 5.1")
    elif info.version is None and (
        info.libavformat is None or info.libavformat[:2] < MIN_LIBAVFORMAT
    ):
        problems.append(
            f"cannot tell the version of {info.version_text!r} (libavformat "
            f"{info.libavformat or 'unknown'}; 5.1 has 59.27)"
        )

    def missing(kind: str, have: frozenset[str], need: Iterable[str]) -> None:
        absent = sorted(set(need) - have)
        if absent:
            problems.append(f"{kind} missing: {', '.join(absent)}")

    missing("muxers", info.muxers, REQUIRED_MUXERS)
    missing("demuxers", info.demuxers, REQUIRED_DEMUXERS)
    missing("input protocols", info.protocols, REQUIRED_PROTOCOLS)
    if problems:
        raise FfmpegUnusable(f"ffmpeg at {info.path} is unusable: {'; '.join(problems)}")


async def _output(exe: str, args: Sequence[str], limit_s: float) -> str:
    try:
        with anyio.fail_after(limit_s):
            done = await anyio.run_process([exe, *args], stdin=subprocess.DEVNULL, check=False)
    except TimeoutError as exc:
        raise FfmpegUnusable(f"{exe} {' '.join(args)} did not answer in {limit_s:g} s") from exc
    except OSError as exc:
        raise FfmpegUnusable(f"cannot run {exe}: {exc}") from exc
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-300:]
        raise FfmpegUnusable(f"{exe} {' '.join(args)} exited {done.returncode}: {tail}")
    return done.stdout.decode(errors="replace")


async def probe_ffmpeg(exe: str, *, per_command_s: float = 10.0) -> FfmpegInfo:
    """Run ``exe`` to learn its version and capabilities; FfmpegUnusable if it will not do.

    Five short subprocesses (each bounded by ``per_command_s``), run once at start. Cancel-safe:
    anyio.run_process kills and reaps the child when cancelled.
    """
    printed, version, libavformat = parse_version(await _output(exe, ["-version"], per_command_s))
    info = FfmpegInfo(
        path=exe,
        version_text=printed,
        version=version,
        libavformat=libavformat,
        muxers=parse_formats(await _output(exe, ["-hide_banner", "-muxers"], per_command_s)),
        demuxers=parse_formats(await _output(exe, ["-hide_banner", "-demuxers"], per_command_s)),
        protocols=parse_input_protocols(
            await _output(exe, ["-hide_banner", "-protocols"], per_command_s)
        ),
    )
    check_usable(info)
    return dataclasses.replace(
        info, follows_size_change=await follows_size_change(exe, limit_s=per_command_s)
    )


async def find_usable_ffmpeg(configured: str | None = None) -> FfmpegInfo:
    """:func:`find_ffmpeg` then :func:`probe_ffmpeg`: what the daemon calls at start."""
    return await probe_ffmpeg(find_ffmpeg(configured))
