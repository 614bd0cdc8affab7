"""100% branch coverage of dylived/wire/ and Douyin's pure protocol modules, inside the suite."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


# Douyin's pure modules, covered like wire/ (its client and push are tested against the sim).
PURE_DOUYIN = ("status", "sign", "messages", "rows")


@pytest.mark.slow
def test_wire_has_full_branch_coverage() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/wire",
            "tests/platforms/douyin/test_status.py",
            "tests/platforms/douyin/test_sign.py",
            "tests/platforms/douyin/test_rows.py",
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
            *(f"--cov=dylived.platforms.douyin.{name}" for name in PURE_DOUYIN),
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
