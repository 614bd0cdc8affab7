"""`dylived demo`: the simulator and the real daemon as subprocesses, end to end."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT


def _get_when_up(url: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=5).raise_for_status().text
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_runs_and_leaves_a_database(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    with subprocess.Popen(
        [sys.executable, "-m", "dylived", "demo", "--seconds", "10", "--dir", str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as demo:
        assert demo.stdout is not None
        first = demo.stdout.readline()
        # the web page's address comes first; the daemon serves the dashboard there
        found = re.fullmatch(r"web page:  (http://127\.0\.0\.1:\d+/web/) .*\n", first)
        assert found, first
        page = _get_when_up(found.group(1), seconds=60)
        assert "<title>dylived · dashboard</title>" in page
        stdout, stderr = demo.communicate(timeout=90)
    assert demo.returncode == 0, first + stdout + stderr
    result = subprocess.CompletedProcess(demo.args, demo.returncode, first + stdout, stderr)
    assert f"database:   {out / 'dylived.db'}" in result.stdout
    assert "daemon stopped (exit 0)" in result.stdout
    assert "room1" in result.stdout
    with sqlite3.connect(out / "dylived.db") as conn:
        sessions = conn.execute(
            "SELECT broadcaster_key, reason_for_exit FROM sessions ORDER BY id"
        ).fetchall()
    # room1 is live from the scenario's first second: detected, then closed by the stop.
    assert ("room1", "daemon_stopped") in sessions
