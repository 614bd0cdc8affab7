"""A live FLV source on 127.0.0.1 for recorder tests: real ffmpeg encoding testsrc2 + sine.

``ffmpeg -listen 1`` serves one client; when that client goes away the source ends, so the
helper starts a fresh listener on the same port each time (a restarted live stream: media time
starts at 0 again). ``stall()`` freezes the serving process (SIGSTOP) to model a CDN that keeps
the connection open but sends nothing, then ends it so the next connection gets fresh media.
Also: ``measure()`` decodes a file completely with ffmpeg and returns (media seconds, errors);
``frame_sizes()`` lists the frame sizes of its video (both with the given ffmpeg). The source
itself is encoded by one ffmpeg (PATH's); the recorder under test may be another.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.abc

from dylived.model import LiveStatus, StreamVariant
from dylived.record.probe import find_ffmpeg


FFMPEG = find_ffmpeg()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveSource:
    port: int
    size: str = "320x180"
    gop: int = 25  # one keyframe a second at 25 fps
    live: bool = True
    process: anyio.abc.Process | None = None
    served: int = 0
    started_wall: list[float] = field(default_factory=list)
    _paused: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/live.flv"

    def status(self) -> LiveStatus:
        variant = StreamVariant("origin", flv_url=self.url, codec="h264")
        return LiveStatus(
            live=self.live, room_id="1", streams={"origin": variant} if self.live else {}
        )

    async def fetch_status(self) -> LiveStatus:
        return self.status()

    def argv(self) -> list[str]:
        return [
            FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={self.size}:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", str(self.gop), "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-f", "flv", "-listen", "1", self.url,
        ]  # fmt: skip

    async def serve(self) -> None:
        """Keep a listener up while ``live``; run in a task group, cancel to end."""
        try:
            while True:
                if not self.live or self._paused:
                    await anyio.sleep(0.05)
                    continue
                self.process = await anyio.open_process(
                    self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
                )
                self.served += 1
                self.started_wall.append(time.time())
                try:
                    await self.process.wait()
                finally:
                    with anyio.CancelScope(shield=True):
                        if self.process.returncode is None:
                            _signal(self.process.pid, signal.SIGCONT)
                            _signal(self.process.pid, signal.SIGKILL)
                        await self.process.aclose()
        finally:
            self.process = None

    async def stall(self, seconds: float) -> None:
        """Freeze the current source for ``seconds``, then end it (a fresh one follows)."""
        proc = self.process
        assert proc is not None
        self._paused = True
        _signal(proc.pid, signal.SIGSTOP)
        await anyio.sleep(seconds)
        _signal(proc.pid, signal.SIGCONT)
        _signal(proc.pid, signal.SIGKILL)
        self._paused = False

    async def end(self) -> None:
        """The broadcaster stops: the stream closes and the status says offline."""
        self.live = False
        if self.process is not None and self.process.returncode is None:
            _signal(self.process.pid, signal.SIGTERM)


def _signal(pid: int, signum: int) -> None:
    """Signal a source ffmpeg that may have exited already: its child watcher can have reaped
    it before ``returncode`` is set (a ``ProcessLookupError`` here failed a CI run)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


@asynccontextmanager
async def live_source(**kwargs: object) -> AsyncIterator[LiveSource]:
    source = LiveSource(port=free_port(), **kwargs)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        tg.start_soon(source.serve)
        yield source
        tg.cancel_scope.cancel()


def _decode(path: Path, *select: str, ffmpeg: str = FFMPEG) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-nostdin",
            "-i",
            str(path),
            *select,
            "-f",
            "null",
            "-",
            "-progress",
            "pipe:1",
            "-nostats",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def measure(path: Path, ffmpeg: str = FFMPEG) -> tuple[float, str]:
    """Decode ``path`` completely (with ``ffmpeg``): (seconds of video decoded, its errors).

    Errors come from decoding every stream; the duration is the video's (at a stream's end the
    audio may run a few hundred ms past the last video frame).
    """
    errors = _decode(path, "-map", "0", ffmpeg=ffmpeg).stderr.strip()
    video = _decode(path, "-map", "0:v:0", ffmpeg=ffmpeg)
    out_us = [int(v) for k, _, v in (ln.partition("=") for ln in video.stdout.splitlines())
              if k == "out_time_us" and v.isdigit()]  # fmt: skip
    return (max(out_us) / 1e6 if out_us else 0.0), errors


def frame_sizes(path: Path, ffmpeg: str = FFMPEG) -> set[str]:
    """Every frame size (WxH) in a file's video, decoded frame by frame (with ``ffmpeg``)."""
    done = subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-i",
            str(path),
            "-map",
            "0:v",
            "-vf",
            "showinfo",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(re.findall(r" s:(\d+x\d+)", done.stderr))
