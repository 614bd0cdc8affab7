"""The ``[hooks]`` table and each broadcaster's ``hooks`` table: commands run when a segment,
a session or an MP4 remux is finished (issue 14; run by ``dylived/alerts/hooks.py``).

``[hooks]`` keys: ``on_segment_closed``, ``on_session_closed``, ``on_remuxed`` (each an argv
list: the program, then its arguments; ``[]`` or absent: none), ``timeout`` (seconds, default
300) and ``max_running`` (hooks at once, default 2). ``[[broadcaster]] hooks.on_… = [...]``
replaces the global list for that broadcaster (``[]``: none for it). The program is never run
through a shell: it is a path (relative to the config file's folder) or a name on ``PATH``, and
must exist and be executable; the arguments may hold the :data:`PLACEHOLDERS` (``{path}``…,
``{{``/``}}`` for a brace), the program may not. Pure apart from looking at the program's file.
Every problem is appended as ``hooks.on_segment_closed[N]: what`` (N counts from 1).
"""

from __future__ import annotations

import os
import shutil
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dylived.config.schema import number, unknown_key


HOOKS = ("on_segment_closed", "on_session_closed", "on_remuxed")
PLACEHOLDERS = ("path", "session_id", "broadcaster", "platform", "start", "end", "duration_s")
HOOK_KEYS = (*HOOKS, "timeout", "max_running")


@dataclass(frozen=True, slots=True)
class HooksConfig:
    """The hooks in effect; ``broadcasters``: each broadcaster's own lists (by key)."""

    on_segment_closed: tuple[str, ...] = ()
    on_session_closed: tuple[str, ...] = ()
    on_remuxed: tuple[str, ...] = ()
    timeout: float = 300.0
    max_running: int = 2
    broadcasters: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def argv(self, hook: str, broadcaster: str) -> tuple[str, ...]:
        """The argv of ``hook`` for ``broadcaster`` (its own list, else the global; () none)."""
        own = self.broadcasters.get(broadcaster, {})
        found: tuple[str, ...] = own[hook] if hook in own else getattr(self, hook)
        return found


def placeholder_problem(arg: str) -> str | None:
    """Why ``arg`` cannot be expanded (an unknown or malformed placeholder), None if it can."""
    try:
        parsed = list(string.Formatter().parse(arg))
    except ValueError as exc:
        return f"{arg!r}: {exc} (write {{{{ or }}}} for a literal brace)"
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            return f"{arg!r}: unknown placeholder {{{name}}}; known: " + ", ".join(
                f"{{{p}}}" for p in PLACEHOLDERS
            )
        if spec or conversion:
            return f"{arg!r}: write {{{name}}} without a format or conversion"
    return None


def expand(arg: str, values: Mapping[str, str]) -> str:
    """``arg`` with its placeholders replaced (validated by :func:`placeholder_problem`)."""
    return arg.format_map(values)


def _program(raw: str, base_dir: Path) -> tuple[str | None, str | None]:
    """(the program's path, None) or (None, why it cannot be run)."""
    if "{" in raw or "}" in raw:
        return None, f"{raw!r}: the program may not hold placeholders (only its arguments)"
    if "/" not in raw:
        found = shutil.which(raw)
        return (found, None) if found else (None, f"{raw!r}: no such program on PATH")
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        return None, f"{str(path)!r} {'is not a file' if path.exists() else 'does not exist'}"
    if not os.access(path, os.X_OK):
        return None, f"{str(path)!r} is not executable (chmod +x it)"
    return str(path), None


def parse_argv(value: Any, path: str, problems: list[str], base_dir: Path) -> tuple[str, ...]:
    """One hook's argv list (``()`` on a problem, appended with its location)."""
    if not isinstance(value, list):
        problems.append(
            f"{path}: expected an array (the program, then its arguments), got {value!r}"
        )
        return ()
    before = len(problems)
    argv: list[str] = []
    for i, arg in enumerate(value, start=1):
        if not isinstance(arg, str) or not arg:
            problems.append(f"{path}[{i}]: expected a non-empty string, got {arg!r}")
            continue
        if i == 1:
            program, why = _program(arg, base_dir)
            if why is not None:
                problems.append(f"{path}[1]: {why}")
            arg = program or arg
        elif (why := placeholder_problem(arg)) is not None:
            problems.append(f"{path}[{i}]: {why}")
        argv.append(arg)
    return tuple(argv) if len(problems) == before else ()


def _hook_lists(
    raw: Any, path: str, problems: list[str], base_dir: Path, keys: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a table, got {raw!r}")
        return {}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in keys:
            problems.append(unknown_key(path, key, keys))
        elif key in HOOKS:
            values[key] = parse_argv(value, f"{path}.{key}", problems, base_dir)
    return values


def parse_hooks(
    raw: Any, own: Mapping[str, Any], problems: list[str], base_dir: Path
) -> HooksConfig:
    """``[hooks]`` (``raw``, None when absent) and the broadcasters' ``hooks`` tables (``own``:
    broadcaster key → (its path, its table)); problems appended."""
    values = _hook_lists({} if raw is None else raw, "hooks", problems, base_dir, HOOK_KEYS)
    table = raw if isinstance(raw, dict) else {}
    if "timeout" in table:
        try:
            values["timeout"] = number(strict=True)(table["timeout"])
        except ValueError as exc:
            problems.append(f"hooks.timeout: {exc}")
    if "max_running" in table:
        count = table["max_running"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
            problems.append(
                f"hooks.max_running: expected a whole number from 1 to 64, got {count!r}"
            )
        else:
            values["max_running"] = count
    per: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for key, (path, entry) in own.items():
        per[key] = _hook_lists(entry, f"{path}.hooks", problems, base_dir, HOOKS)
    return HooksConfig(**values, broadcasters=per)


__all__ = ["HOOKS", "PLACEHOLDERS", "HooksConfig", "expand", "parse_hooks", "placeholder_problem"]
