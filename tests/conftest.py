"""Shared fixtures: where the real captures are, and helpers every test module may use.

The real captures live in ../shared/captures/ beside the checkout (see its PROVENANCE.md);
tests that read them skip cleanly when that folder is absent. Never copy them into the repo.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parent.parent
CAPTURES_DIR = Path(os.environ.get("DYLIVED_CAPTURES", REPO_ROOT.parent / "shared" / "captures"))


def capture_path(name: str) -> Path:
    """The path of a real capture, or skip the calling test when it is not present."""
    path = CAPTURES_DIR / name
    if not path.is_file():
        pytest.skip(f"real capture {name} not present in {CAPTURES_DIR}")
    return path


@pytest.fixture
def chat_frame_hex_path() -> Path:
    """One real Douyin PushFrame (Dec 2022) holding one WebcastChatMessage, hex text."""
    return capture_path("douyin-pushframe-2022-12-chat.hex")


@pytest.fixture
def chat_frame_bytes(chat_frame_hex_path: Path) -> bytes:
    return bytes.fromhex("".join(chat_frame_hex_path.read_text().split()))


@pytest.fixture
def enter_live_json_path() -> Path:
    """The real web/enter JSON body of a live room (2026-04)."""
    return capture_path("douyin-web-enter-live-2026-04.json")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Test files with slow or end-to-end tests first, each file's own order kept.

    xdist hands out whole files (``--dist loadfile``) in collection order; the slow files
    (a browser replay of 100 s, daemon runs of up to a minute) collected last, as ``tests/web``
    is, ran alone at the end while the other workers idled. Sorting is stable and by file, so
    the order inside a file (``test_ctl_real.py`` keeps its risk-control test last) holds.
    """

    def heavy(item: pytest.Item) -> bool:
        return any(item.get_closest_marker(name) for name in ("slow", "e2e"))

    heavy_files = {item.path for item in items if heavy(item)}
    items.sort(key=lambda item: item.path not in heavy_files)
