"""The systemd units verify cleanly and stay locked down (exposure at most 2.0).

`systemd-analyze` works without systemd as PID 1 (ecosystem.md §1.7); these tests skip only
where it is absent. The units name /opt/dylived/venv/bin; the copies checked here point at this
venv's bin directory instead, because `verify` insists that ExecStart exists.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


UNITS = ("dylived.service", "dylived@.service")
INSTALLED_BIN = "/opt/dylived/venv/bin"


def _analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed here")
    return exe


def _local_copy(unit: str, tmp_path: Path) -> Path:
    text = (REPO_ROOT / "systemd" / unit).read_text()
    bin_dir = str(Path(sys.executable).parent)
    name = unit.replace("@.", "@test.")
    copy = tmp_path / name
    copy.write_text(text.replace(INSTALLED_BIN, bin_dir))
    return copy


@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies_cleanly(unit: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [_analyze(), "verify", "--man=no", str(_local_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_unit_exposure_is_at_most_2(unit: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [_analyze(), "security", "--offline=true", "--no-pager", str(_local_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


def _directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (REPO_ROOT / "systemd" / unit).read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_template_differs_from_the_main_unit_only_per_instance() -> None:
    main, template = _directives("dylived.service"), _directives("dylived@.service")
    differing = {k for k in main.keys() | template.keys() if main.get(k) != template.get(k)}
    assert differing == {
        "Description",
        "Environment",
        "ExecReload",
        "StateDirectory",
        "RuntimeDirectory",
    }
    assert all("%i" in v for k in differing - {"Description"} for v in template[k])


def test_unit_has_the_decided_lifecycle_settings() -> None:
    unit = _directives("dylived.service")
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] == ["60"]
    assert unit["RestartPreventExitStatus"] == ["78"]
    assert unit["KillMode"] == ["mixed"]
    assert int(unit["TimeoutStopSec"][0]) >= 60
    assert unit["ExecStartPre"][0].endswith("dylived check-config")
    assert unit["ExecReload"][0].endswith(" reload")
    assert unit["LimitNOFILE"] == ["65536"]


def _syscalls(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The system calls of one SystemCallFilter= item (a @group expanded, recursively)."""
    if not name.startswith("@"):
        return {name}
    listing = subprocess.run(
        [_analyze(), "syscall-filter", name], capture_output=True, text=True, check=True
    ).stdout.splitlines()[1:]
    found: set[str] = set()
    for line in (raw.strip() for raw in listing):
        if line and not line.startswith("#") and line not in seen:
            found |= _syscalls(line, seen | {name})
    return found


@pytest.mark.parametrize("unit", UNITS)
def test_the_syscall_filter_allows_chown_for_control_group_and_denies_the_rest(unit: str) -> None:
    # systemd applies SystemCallFilter= lines in order: the first (an allow list) sets the
    # set, a later "~" line removes from it, a later plain line adds to it again.
    allowed: set[str] = set()
    for index, value in enumerate(_directives(unit)["SystemCallFilter"]):
        deny = value.startswith("~")
        names = set().union(*(_syscalls(n) for n in value.lstrip("~").split()))
        assert index > 0 or not deny
        allowed = allowed - names if deny else allowed | names
    assert {"chown", "fchown", "fchownat", "lchown"} <= allowed  # control.group works
    assert not {"setuid", "mount", "reboot", "setrlimit", "init_module"} & allowed
