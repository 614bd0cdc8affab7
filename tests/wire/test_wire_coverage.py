"""100% branch coverage of dylived/wire/ (generated _pb excluded), checked inside the suite."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_wire_has_full_branch_coverage() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/wire",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--import-mode=importlib",
            "-p",
            "no:asyncio",
            "-W",
            "error",
            "--ignore=tests/wire/test_wire_coverage.py",
            "--cov=dylived/wire",
            "--cov-branch",
            "--cov-report=term-missing",
            "--cov-fail-under=100",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Required test coverage of 100% reached" in result.stdout
