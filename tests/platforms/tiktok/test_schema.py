"""The TikTok gencode is under proto/gen.py's --check like Douyin's (a stale file is caught);
the two schemas live side by side in one process; the package stays sans-I/O."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


PACKAGE = REPO_ROOT / "dylived" / "platforms" / "tiktok"
FORBIDDEN = {
    "anyio", "asyncio", "socket", "ssl", "select", "selectors", "time", "datetime", "os",
    "pathlib", "io", "shutil", "subprocess", "threading", "httpx", "websockets", "aiosqlite",
    "sqlite3", "logging", "tempfile", "urllib", "http", "random",
}  # fmt: skip


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "proto" / "gen.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_gen_check_catches_stale_tiktok_gencode(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "proto", tmp_path / "proto")
    for package in ("dylived/platforms/douyin/_pb", "dylived/platforms/tiktok/_pb"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package)
    assert _check(tmp_path).returncode == 0
    stale = tmp_path / "dylived/platforms/tiktok/_pb/tiktok_pb2.py"
    stale.write_text(stale.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "dylived/platforms/tiktok/_pb/tiktok_pb2.py" in result.stderr


def test_douyin_and_tiktok_schemas_load_together() -> None:
    from dylived.platforms.douyin._pb import douyin_pb2
    from dylived.platforms.tiktok._pb import tiktok_pb2

    assert tiktok_pb2.Response.DESCRIPTOR.full_name == "tiktok.Response"
    assert douyin_pb2.Response.DESCRIPTOR.full_name == "webcast.Response"
    # the field that differs: 11 is TikTok's is_first, Douyin's live_cursor
    assert tiktok_pb2.Response.DESCRIPTOR.fields_by_number[11].name == "is_first"
    assert douyin_pb2.Response.DESCRIPTOR.fields_by_number[11].name == "live_cursor"


# The HTTP side (client; push, the event source; signer, the signing server; spec, the registry
# entry) does I/O; the rest is sans-I/O. urllib.parse is pure parsing (the target forms).
IO_MODULES = {"client.py", "push.py", "signer.py", "spec.py"}
PURE_IMPORTS = {"urllib.parse"}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.glob("*.py") if p.name not in IO_MODULES),
    ids=lambda p: p.name,
)
def test_tiktok_module_does_no_io_and_says_what_it_owns(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name in PURE_IMPORTS or name.split(".")[0] not in FORBIDDEN, (path.name, name)
    assert ast.get_docstring(tree), f"{path.name} needs a module docstring"
