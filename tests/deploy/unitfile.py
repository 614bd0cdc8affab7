"""What a dylived unit file tells systemd to do, read from the file, for running it by hand.

Owns only the reading: the Exec lines, Environment=, the directories with their modes, UMask=
and TimeoutStopSec= of ``systemd/dylived.service`` or an instance of ``dylived@.service``,
with ``%i`` filled in, systemd's "-" Exec prefix noted (others are refused) and every
absolute path moved under a scratch root, so a test runs exactly what the unit names (and
notices when the unit changes).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UnitPlan:
    """The parts of a unit a test can reproduce without systemd, rebased under ``root``."""

    environment: dict[str, str]
    exec_start_pre: list[str]
    exec_start: list[str]
    exec_reload: list[str]
    failure_ignored: frozenset[str]  # the Exec keys with systemd's "-" prefix
    state_directory: Path  # /var/lib/<StateDirectory=>
    state_mode: int
    runtime_directory: Path  # /run/<RuntimeDirectory=>
    runtime_mode: int
    umask: int
    timeout_stop_sec: float
    user: str
    group: str

    @property
    def config(self) -> Path:
        return Path(self.environment["DYLIVED_CONFIG"])

    @property
    def socket(self) -> Path:
        """The control socket ExecReload talks to (``--socket PATH``)."""
        argv = self.exec_reload
        return Path(argv[argv.index("--socket") + 1])


def directives(text: str) -> dict[str, list[str]]:
    """Key → values of the [Service] section (comments and other sections skipped)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def read_unit(path: Path, root: Path, instance: str = "") -> UnitPlan:
    """The plan of the unit file at ``path`` (a template needs ``instance``)."""
    text = path.read_text(encoding="utf-8")
    if "%i" in text and not instance:
        raise ValueError(f"{path.name} is a template: give an instance name")
    found = directives(text.replace("%i", instance))

    def one(key: str) -> str:
        [value] = found[key]
        return value

    def rebased(word: str) -> str:
        return str(root / word.lstrip("/")) if word.startswith("/") else word

    ignored = set()

    def command(key: str) -> list[str]:
        first, *rest = shlex.split(one(key))
        prefixes = first[: len(first) - len(first.lstrip("-@:+!"))]
        if set(prefixes) - {"-"}:  # "+", "!", "@", ":" change credentials/argv0/expansion
            raise ValueError(f"{key}: prefix {prefixes!r} is not reproduced here")
        if prefixes:
            ignored.add(key)
        return [rebased(word) for word in (first[len(prefixes) :], *rest)]

    environment = {}
    for line in found.get("Environment", []):
        for assignment in shlex.split(line):
            name, _, value = assignment.partition("=")
            environment[name] = rebased(value)
    exec_start_pre, exec_start = command("ExecStartPre"), command("ExecStart")
    exec_reload = command("ExecReload")
    return UnitPlan(
        environment=environment,
        exec_start_pre=exec_start_pre,
        exec_start=exec_start,
        exec_reload=exec_reload,
        failure_ignored=frozenset(ignored),
        state_directory=root / "var" / "lib" / one("StateDirectory"),
        state_mode=int(one("StateDirectoryMode"), 8),
        runtime_directory=root / "run" / one("RuntimeDirectory"),
        runtime_mode=int(one("RuntimeDirectoryMode"), 8),
        umask=int(one("UMask"), 8),
        timeout_stop_sec=float(one("TimeoutStopSec")),
        user=one("User"),
        group=one("Group"),
    )
