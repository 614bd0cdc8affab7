"""The ``[hooks]`` runner: the configured command for each finished segment, session and remux.

Where runs come from: the store itself. Migration 0005's triggers add a ``due`` row to
``hook_runs`` in the very transaction that closes a segment (the recorder's, or the start-up
recovery's), closes a session (not by the daemon's stop) or stores a done remux, so no run can
be lost between the two. :meth:`HookRunner.run` (a task of the daemon's service group) reads
the due rows every ``poll`` seconds through its own read connection (the database is the
queue: bounded in memory by ``max_running`` and one page of rows) and runs the hook of the
broadcaster (``config/hooks.py``), without a shell, its arguments expanded and the same values
in ``DYLIVED_*`` variables, in the recordings directory, in its own process group. Its output
goes to the log (at most ``MAX_LINES`` lines per stream, each cut at ``MAX_LINE``); after
``[hooks] timeout`` it is killed (SIGTERM, SIGKILL ``KILL_GRACE`` s later, the whole group)
and reaped. The outcome (``done``, ``failed``, ``timeout``, ``skipped``: no hook configured or
the file is gone) goes back through the store writer and is counted per (hook, result) for
``/metrics`` (a reload changes the hooks and their timeout at the next run; ``max_running``
applies from the next start). Rows still due at start (the daemon was down, or its stop
killed the hook) are run then, and logged. Nothing here can stop recording: a hook is only
ever a child process.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.abc

from dylived.config.hooks import expand
from dylived.errors import DylivedError
from dylived.store import ops
from dylived.store.db import Database, DueHookRun


logger = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks for due runs
MAX_LINES = 20  # output lines logged per stream and run
MAX_LINE = 400  # characters of one logged line
KILL_GRACE = 2.0  # seconds from SIGTERM to SIGKILL
OUTPUT_GRACE = 1.0  # seconds the output is read on after the hook exited (its children)

Submit = Callable[[ops.WriteOp], Awaitable[None]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def placeholder_values(run: DueHookRun, tz: Any) -> dict[str, str]:
    """What ``{path}``, ``{start}``… (and ``DYLIVED_PATH``…) of a run are."""

    def when(ms: int | None) -> str:
        return "" if ms is None else datetime.fromtimestamp(ms / 1000, tz).isoformat("T", "seconds")

    path = run.path or ""
    if run.hook == "on_session_closed" and path:
        path = str(Path(path).parent)  # the session's folder
    return {
        "path": path,
        "session_id": str(run.session_id),
        "broadcaster": run.broadcaster,
        "platform": run.platform,
        "start": when(run.start_ms),
        "end": when(run.end_ms),
        "duration_s": "" if run.duration_s is None else f"{run.duration_s:.3f}",
    }


class HookRunner:
    def __init__(
        self,
        config: Callable[[], Any],
        submit: Submit,
        *,
        poll: float = POLL,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config  # the running config (a reload applies to the next run)
        self._submit = submit
        self._poll = poll
        self._environ = {  # systemd's notify and watchdog variables are the daemon's alone
            k: v
            for k, v in (os.environ if environ is None else environ).items()
            if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS")
        }
        self._taken: set[tuple[str, int, int]] = set()  # running, or outcome not committed
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.running = 0
        self.due_at_start: int | None = None

    def status(self) -> dict[str, object]:
        """``daemon.hooks`` of ``GET /v1/status``: running now, due at start, runs by result."""
        counts: dict[str, dict[str, int]] = {}
        for (hook, result), n in sorted(self.counts.items()):
            counts.setdefault(hook, {})[result] = n
        return {"running": self.running, "due_at_start": self.due_at_start, "runs": counts}

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        config = self._config()
        slots = anyio.Semaphore(config.hooks.max_running)
        async with Database.open(config.daemon.database) as db, anyio.create_task_group() as tg:
            task_status.started()
            while True:
                try:
                    due = await db.due_hook_runs(limit=len(self._taken) + 64)
                except DylivedError as exc:  # locked or unreadable for now: next time
                    logger.warning("hooks: cannot read the due runs: %s", exc)
                    await anyio.sleep(self._poll * 5)
                    continue
                keys = {run.key for run in due}
                self._taken &= keys  # an outcome committed: no longer due, forget it
                if self.due_at_start is None:
                    self.due_at_start = len(due)
                    if due:
                        logger.warning(
                            "hooks: %d run(s) due from before this start (the daemon was down "
                            "or stopped): running them now",
                            len(due),
                        )
                for run in due:
                    if run.key in self._taken:
                        continue
                    self._taken.add(run.key)
                    await slots.acquire()
                    tg.start_soon(self._run_one, run, slots)
                await anyio.sleep(self._poll)

    async def _run_one(self, run: DueHookRun, slots: anyio.Semaphore) -> None:
        try:
            await self._settle(run)
        except Exception:  # our bug must not end the runner; the row stays due (next start)
            self.counts[(run.hook, "error")] += 1
            logger.exception("hooks: running %s of session %d failed", run.hook, run.session_id)
        finally:
            slots.release()

    async def _settle(self, run: DueHookRun) -> None:
        """Run ``run``'s hook (or skip it) and store the outcome."""
        config = self._config()
        argv = config.hooks.argv(run.hook, run.broadcaster)
        label = f"{run.hook} of {run.broadcaster} (session {run.session_id}, {run.item})"
        state: Literal["done", "failed", "timeout", "skipped"]
        if not argv:
            state, code, detail = "skipped", None, "no hook configured"
        elif run.hook != "on_session_closed" and not await _exists(run.path):
            state, code, detail = "skipped", None, f"the file is gone: {run.path}"
            logger.warning("hook %s skipped: %s", label, detail)
        else:
            values = placeholder_values(run, config.daemon.tzinfo)
            env = {**self._environ, "DYLIVED_HOOK": run.hook}
            env.update((f"DYLIVED_{k.upper()}", v) for k, v in values.items())
            self.running += 1
            try:
                state, code, detail = await run_hook(
                    [argv[0], *(expand(a, values) for a in argv[1:])],
                    env,
                    config.hooks.timeout,
                    label,
                    cwd=config.daemon.recordings_dir,
                )
            finally:
                self.running -= 1
        self.counts[(run.hook, state)] += 1
        outcome = ops.SetHookRun(run.hook, run.session_id, run.item, state, _now_ms(), code)
        await self._submit(replace(outcome, detail=detail or None))


async def _exists(path: str | None) -> bool:
    return bool(path) and await anyio.Path(str(path)).exists()


Outcome = tuple[Literal["done", "failed", "timeout"], int | None, str]


async def run_hook(
    argv: list[str], env: Mapping[str, str], time_limit: float, label: str, *, cwd: Path
) -> Outcome:
    """Run one hook: (``done`` | ``failed`` | ``timeout``, exit code, detail). Cancelled, it is
    killed (the whole process group) and reaped, and the cancellation goes on."""
    await anyio.Path(cwd).mkdir(parents=True, exist_ok=True)
    try:
        process = await anyio.open_process(
            argv,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group: its children die with it
        )
    except OSError as exc:
        logger.warning("hook %s could not start: %s", label, exc)
        return "failed", None, f"could not start: {exc}"
    logger.info("hook %s started: pid %d", label, process.pid)
    timed_out = False
    try:
        with anyio.move_on_after(time_limit) as scope:
            await _wait_logging(process, label)
        timed_out = scope.cancelled_caught
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                await _kill(process, 0 if not timed_out else KILL_GRACE)
            with anyio.move_on_after(KILL_GRACE):
                await process.aclose()
    code = process.returncode
    if timed_out:
        logger.warning("hook %s hung: killed after its timeout of %g s", label, time_limit)
        return "timeout", code, f"killed after {time_limit:g} s"
    if code == 0:
        logger.info("hook %s done", label)
        return "done", 0, ""
    detail = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
    logger.warning("hook %s failed: %s", label, detail)
    return "failed", code, detail


async def _wait_logging(process: anyio.abc.Process, label: str) -> None:
    streams = [(process.stdout, "stdout"), (process.stderr, "stderr")]
    done = [anyio.Event() for _ in streams]
    async with anyio.create_task_group() as tg:
        for (stream, name), finished in zip(streams, done, strict=True):
            tg.start_soon(_log_output, stream, f"hook {label} {name}", finished)
        await process.wait()
        with anyio.move_on_after(OUTPUT_GRACE):  # a child of the hook may hold the pipes
            for finished in done:
                await finished.wait()
        tg.cancel_scope.cancel()


async def _log_output(stream: Any, prefix: str, finished: anyio.Event) -> None:
    logged = dropped = 0
    pending = b""
    try:
        async for chunk in stream:
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()[-MAX_LINE * 4 :]
            for line in lines:
                if logged < MAX_LINES:
                    logged += 1
                    text = line.decode(errors="replace").rstrip()[:MAX_LINE]
                    logger.info("%s: %s", prefix, text)
                else:
                    dropped += 1
    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass
    finally:
        if pending and logged < MAX_LINES:
            logger.info("%s: %s", prefix, pending.decode(errors="replace")[:MAX_LINE])
        elif pending:
            dropped += 1
        if dropped:
            logger.info("%s: %d more line(s) not logged", prefix, dropped)
        finished.set()


async def _kill(process: anyio.abc.Process, grace: float) -> None:
    """SIGTERM to the hook's process group, SIGKILL after ``grace`` s (at once when 0)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, KILL_GRACE)):
        if grace == 0 and sig == signal.SIGTERM:
            continue
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with anyio.move_on_after(wait):
            await process.wait()
            # the hook is gone; its group may not be: take the rest with it
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            return


__all__ = ["HookRunner", "placeholder_values", "run_hook"]
