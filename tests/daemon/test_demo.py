"""`dylived demo`: the simulator and the real daemon as subprocesses, end to end."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_runs_and_leaves_a_database(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "dylived", "demo", "--seconds", "10", "--dir", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"database:   {out / 'dylived.db'}" in result.stdout
    assert "daemon stopped (exit 0)" in result.stdout
    assert "room1" in result.stdout
    with sqlite3.connect(out / "dylived.db") as conn:
        sessions = conn.execute(
            "SELECT broadcaster_key, reason_for_exit FROM sessions ORDER BY id"
        ).fetchall()
    # room1 is live from the scenario's first second: detected, then closed by the stop.
    assert ("room1", "daemon_stopped") in sessions
