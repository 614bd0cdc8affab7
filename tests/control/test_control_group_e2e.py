"""``control.group`` under the unit's system-call filter, with the real daemon.

The unit's ``SystemCallFilter=~@privileged`` with ``SystemCallErrorNumber=EPERM`` makes every
chown fail with EPERM. Without systemd as PID 1 the filter is reproduced with strace's fault
injection (``-e inject=<the @chown calls>:error=EPERM``), which fails exactly those calls the
same way; the daemon runs as root or, through ``setpriv``, as ``nobody`` (a user that is not
root, as ``User=dylived`` is). A group the daemon cannot use must be a config error (exit 78,
which the unit does not restart), never a crash and a restart loop; the daemon's own group
needs no chown at all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.daemon.helpers import children_of, wait_until, write_config


pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHOWN_CALLS = "chown,fchown,fchownat,lchown"
NOBODY = 65534


@pytest.fixture
def state() -> Iterator[Path]:
    """A short, world-writable state directory (``nobody`` must write it; AF_UNIX ≤ 108)."""
    directory = Path(tempfile.mkdtemp(prefix="dylgrp-"))
    directory.chmod(0o777)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _require_tools() -> None:
    if os.geteuid() != 0 or shutil.which("strace") is None or shutil.which("setpriv") is None:
        pytest.skip("needs root, strace and setpriv")


def filtered(argv: list[str], trace: Path, *, as_nobody: bool) -> list[str]:
    """``argv`` with every chown failing with EPERM (and logged to ``trace``)."""
    inject = [
        "strace", "-f", "-qq", "-o", str(trace),
        "-e", f"trace={CHOWN_CALLS}", "-e", f"inject={CHOWN_CALLS}:error=EPERM",
    ]  # fmt: skip
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    return [*inject, *(drop if as_nobody else []), *argv]


def config_with_group(state: Path, group: str) -> Path:
    config = write_config(state / "dylived.toml", state)
    text = config.read_text().replace("[control]\n", f'[control]\ngroup = "{group}"\n', 1)
    config.write_text(text)
    config.chmod(0o644)
    return config


def run_to_exit(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )


DAEMON = [sys.executable, "-m", "dylived", "run", "--config"]


@pytest.mark.parametrize(
    ("as_nobody", "group", "reason"),
    [
        (False, "nogroup", "Operation not permitted"),  # root, but chown filtered out
        (True, "root", f"this process (uid {NOBODY}) is not in group 'root'"),
    ],
)
def test_a_control_group_that_cannot_be_used_exits_78_with_the_reason(
    state: Path, as_nobody: bool, group: str, reason: str
) -> None:
    _require_tools()
    config = config_with_group(state, group)
    started = time.monotonic()
    result = run_to_exit(filtered([*DAEMON, str(config)], state / "trace", as_nobody=as_nobody))
    assert result.returncode == 78, result.stderr[-2000:]
    assert time.monotonic() - started < 30
    output = result.stdout + result.stderr
    assert "dylived cannot run:" in output
    assert "control.group: " in output
    assert reason in output
    assert "SupplementaryGroups=" in output  # says how to fix it
    assert "Traceback" not in output
    assert not (state / "control.sock").exists()


def test_the_daemons_own_group_needs_no_chown_under_the_filter(state: Path) -> None:
    _require_tools()
    config = config_with_group(state, "nogroup")  # nobody's own group
    trace = state / "trace"
    log = (state / "daemon.log").open("wb")
    proc = subprocess.Popen(
        filtered([*DAEMON, str(config)], trace, as_nobody=True),
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    sock = state / "control.sock"
    try:
        wait_until(lambda: sock.exists() or proc.poll() is not None, 30, "the socket")
        assert proc.poll() is None, (state / "daemon.log").read_text()[-2000:]
        assert sock.stat().st_gid == NOBODY
        status = subprocess.run(
            [sys.executable, "-m", "dylived.app.ctl", "--socket", str(sock), "status"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        daemons = children_of(proc.pid)
        assert len(daemons) == 1
        os.kill(daemons[0], signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    assert "chown" not in trace.read_text()  # not one chown call was made
