"""wire/ and the platforms' protocol modules stay sans-I/O: no I/O, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


WIRE = REPO_ROOT / "dylived" / "wire"
# Douyin's pure modules: its targets, status bodies, signature, messages and rows.
DOUYIN = REPO_ROOT / "dylived" / "platforms" / "douyin"
DOUYIN_PURE = ("targets.py", "status.py", "sign.py", "messages.py", "rows.py")
FORBIDDEN_MODULES = {
    "anyio", "asyncio", "socket", "ssl", "select", "selectors", "time", "datetime", "os",
    "pathlib", "io", "shutil", "subprocess", "threading", "httpx", "websockets", "aiosqlite",
    "sqlite3", "logging", "tempfile", "urllib.request", "http",
}  # fmt: skip
FORBIDDEN_CALLS = {"open", "input", "print", "exec", "eval"}


def _wire_modules() -> list[Path]:
    return sorted(p for p in WIRE.glob("*.py"))


def _pure_modules() -> list[Path]:
    return _wire_modules() + [DOUYIN / name for name in DOUYIN_PURE]


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_wire_module_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name in _imported(tree):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_MODULES, (path.name, name)
        assert name not in FORBIDDEN_MODULES, (path.name, name)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & FORBIDDEN_CALLS, (path.name, calls & FORBIDDEN_CALLS)
    assert ast.get_docstring(tree), f"{path.name} needs a module docstring"


def test_protobuf_stays_in_frames_and_messages() -> None:
    for path in _pure_modules():
        if path.name in {"frames.py", "messages.py"}:
            continue
        imported = _imported(ast.parse(path.read_text(encoding="utf-8")))
        assert not any("_pb" in name or name.startswith("google") for name in imported), path


def test_wire_names_no_platform_schema() -> None:
    for path in _wire_modules():
        imported = _imported(ast.parse(path.read_text(encoding="utf-8")))
        assert not any(name.startswith("dylived.platforms") for name in imported), path
