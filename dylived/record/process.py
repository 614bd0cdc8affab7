"""The ffmpeg child process: how it is launched, read and stopped.

Owns: the launcher that ties ffmpeg's life to the daemon's (PR_SET_PDEATHSIG), splitting a
pipe into lines, and the stop ladder (``q`` on stdin → wait → SIGINT → wait → SIGKILL), shielded
from cancellation, bounded, always reaped. Knows nothing of segments or sessions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import anyio
import anyio.abc


logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StopLadder:
    """Seconds to wait after ``q``, after SIGINT, and after SIGKILL."""

    stop_q_wait: float = 5.0  # a healthy ffmpeg finishes on 'q' in ~0.2 s
    stop_int_wait: float = 3.0
    stop_kill_wait: float = 2.0


# ffmpeg must not outlive a daemon killed with SIGKILL (it would keep writing, unseen, until
# the stream ends; ffmpeg ignores EOF on stdin). A two-line launcher asks the kernel to send
# it SIGINT (a clean finish of the open segment) when its parent dies, then becomes ffmpeg
# (same pid). The parent pid is checked after prctl, in case the parent died in between.
_DIE_WITH_PARENT = (
    "import ctypes,os,signal,sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG\n"
    "os.getppid() == int(sys.argv[1]) or sys.exit(70)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def with_parent_death_signal(argv: list[str]) -> list[str]:
    """``argv`` started through the launcher that ties the child's life to ours (Linux)."""
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv]


async def lines_of(stream: anyio.abc.ByteReceiveStream) -> AsyncIterator[str]:
    """Lines of a byte stream split on \\n or \\r, until EOF."""
    pending = b""
    try:
        async for chunk in stream:
            pending += chunk
            *lines, pending = pending.replace(b"\r", b"\n").split(b"\n")
            for raw in lines:
                if raw:
                    yield raw.decode("utf-8", "replace")
            if len(pending) > 65536:  # a pathological line without end: keep the pipe moving
                yield pending.decode("utf-8", "replace")
                pending = b""
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass
    if pending:
        yield pending.decode("utf-8", "replace")


async def stop_process(
    process: anyio.abc.Process, settings: StopLadder, *, quick: bool = False
) -> int:
    """The stop ladder: ``q`` on stdin → wait → SIGINT → wait → SIGKILL; always reaped.

    Shielded from cancellation and bounded by the three waits of ``settings`` (``quick``:
    at most one second for ``q``, then SIGKILL). Returns the exit code (negative: the
    signal that ended it).
    """
    with anyio.CancelScope(shield=True):
        if process.returncode is None and process.stdin is not None:
            try:
                await process.stdin.send(b"q")
                await process.stdin.aclose()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass
        steps: Sequence[tuple[float, signal.Signals | None]] = (
            (
                (min(settings.stop_q_wait, 1.0), signal.SIGKILL),
                (settings.stop_kill_wait, None),
            )
            if quick
            else (
                (settings.stop_q_wait, signal.SIGINT),
                (settings.stop_int_wait, signal.SIGKILL),
                (settings.stop_kill_wait, None),
            )
        )
        for wait_s, next_signal in steps:
            with anyio.move_on_after(wait_s):
                return await process.wait()
            if next_signal is None:
                break
            logger.warning("ffmpeg (pid %s) still running; sending %s", process.pid, next_signal)
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(next_signal)
        logger.error("ffmpeg (pid %s) did not exit after SIGKILL", process.pid)
    return process.returncode if process.returncode is not None else -9
