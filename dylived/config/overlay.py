"""The runtime state overlay: ``watchlist-overrides.json`` laid over the config file's watchlist.

Owns reading and atomically writing the JSON state file of runtime watchlist changes
(``added``, ``removed``, ``paused``, made through the control API) and applying it to a
``Config`` (``apply_overrides``); ``load_config_with_overrides`` is what the daemon loads at
start and on reload. Pure apart from the two files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dylived.config.load import Config, load_config, parse_broadcaster
from dylived.errors import ConfigError


__all__ = [
    "OVERLAY_KEYS",
    "apply_overrides",
    "load_config_with_overrides",
    "load_overrides",
    "save_overrides",
]

OVERLAY_KEYS = ("added", "removed", "paused")


def load_overrides(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON state file of runtime changes; an absent file means no changes."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"added": [], "removed": [], "paused": []}
    except OSError as exc:
        raise ConfigError([f"cannot read the state file: {exc.strerror}"], str(path)) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"not valid JSON: {exc}"], str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError(["expected a JSON object"], str(path))
    return data


def save_overrides(path: str | os.PathLike[str], overrides: Mapping[str, Any]) -> None:
    """Write the state file atomically: a temporary file of its own in the same directory
    (so concurrent writers never share one), fsync, rename over the file, fsync the directory.

    Callers serialise their read-modify-write cycles themselves (the facade holds one lock).
    """
    file = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(dict(overrides), out, ensure_ascii=False, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    directory = os.open(file.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def apply_overrides(config: Config, overrides: Mapping[str, Any], source: str = "") -> Config:
    """Lay the runtime state overlay over the file's watchlist.

    Precedence: the file's broadcasters, minus the ``removed`` keys; then each ``added`` entry
    (validated like a ``[[broadcaster]]``) unless the file already has its key (the file wins);
    then ``paused`` marks entries as paused. Keys that match nothing are ignored.

    Raises:
        ConfigError: the overlay is malformed (paths like ``added[2].target``).
    """
    problems: list[str] = []
    for name in overrides:
        if name not in OVERLAY_KEYS:
            problems.append(f"{name}: unknown key; expected {', '.join(OVERLAY_KEYS)}")

    def key_list(name: str) -> set[str]:
        value = overrides.get(name, [])
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            problems.append(f"{name}: expected a list of broadcaster keys")
            return set()
        return set(value)

    removed, paused = key_list("removed"), key_list("paused")
    kept = [b for b in config.broadcasters if b.key not in removed]
    present = {b.key for b in kept}
    added_raw = overrides.get("added", [])
    if not isinstance(added_raw, list):
        problems.append("added: expected a list of broadcaster tables")
        added_raw = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(added_raw, start=1):
        path = f"added[{i}]"
        key, parsed = parse_broadcaster(
            entry,
            path,
            problems,
            config.recording,
            config.capture,
            config.poll,
            config.platforms,
        )
        if key is not None and key in seen:
            problems.append(f"{path}: duplicate broadcaster key {key!r} (also {seen[key]})")
            continue
        if key is not None:
            seen[key] = path
        if parsed is not None and parsed.key not in present:
            kept.append(dataclasses.replace(parsed, origin="runtime"))
    if problems:
        raise ConfigError(problems, source)
    result = tuple(dataclasses.replace(b, paused=b.key in paused) for b in kept)
    return dataclasses.replace(config, broadcasters=result)


def load_config_with_overrides(path: str | os.PathLike[str]) -> Config:
    """load_config, then apply the overlay in ``daemon.state_file`` (when present)."""
    config = load_config(path)
    state = config.daemon.state_file
    return apply_overrides(config, load_overrides(state), str(state))
