"""Disk guard and retention: a free-space source the test controls, real files deleted."""

from __future__ import annotations

from pathlib import Path

from dylived.record.disk import (
    DiskGuard,
    FinishedSession,
    apply_retention,
    free_bytes,
    plan_retention,
)


DAY_MS = 86_400_000


def test_guard_with_the_real_file_system(tmp_path: Path) -> None:
    real = free_bytes(tmp_path / "not" / "yet" / "there")  # nearest existing parent
    assert real > 0
    assert DiskGuard(tmp_path, min_free=real * 2).is_low()  # a threshold above the real space
    assert not DiskGuard(tmp_path, min_free=1).is_low()


def test_guard_with_a_given_source(tmp_path: Path) -> None:
    free = {"n": 5}
    guard = DiskGuard(tmp_path, min_free=10, free=lambda _p: free["n"])
    assert guard.is_low()
    free["n"] = 10
    assert not guard.is_low()


def _session(key: str, day: int, size: int, files: tuple[Path, ...] = ()) -> FinishedSession:
    return FinishedSession(key, ended_at_ms=day * DAY_MS, files=files, bytes=size)


def test_retention_by_age_and_size_oldest_first_never_in_progress() -> None:
    sessions = [_session("a", 1, 100), _session("b", 2, 100), _session("c", 3, 100)]
    now = 10 * DAY_MS
    by_age = plan_retention(sessions, now_ms=now, max_age_s=7.5 * 86_400)
    assert [s.key for s in by_age] == ["a", "b"]
    by_size = plan_retention(sessions, now_ms=now, max_total_bytes=150)
    assert [s.key for s in by_size] == ["a", "b"]
    assert [s.key for s in plan_retention(sessions, now_ms=now, max_total_bytes=300)] == []
    protected = plan_retention(sessions, now_ms=now, max_total_bytes=0, in_progress={"a"})
    assert [s.key for s in protected] == ["b", "c"]
    with_live = plan_retention(sessions, now_ms=now, max_total_bytes=250, other_bytes=100)
    assert [s.key for s in with_live] == ["a", "b"]
    assert plan_retention(sessions, now_ms=now) == []


def test_apply_retention_deletes_files_and_empty_directories(tmp_path: Path) -> None:
    day = tmp_path / "b" / "2026-01-01"
    day.mkdir(parents=True)
    files = tuple(day / f"s_{i}.ts" for i in range(2))
    for f in files:
        f.write_bytes(b"x" * 10)
    keep = tmp_path / "b" / "2026-01-02" / "s.ts"
    keep.parent.mkdir()
    keep.write_bytes(b"y")
    freed = apply_retention([_session("old", 1, 20, (*files, day / "gone.ts"))])
    assert freed == 20
    assert not day.exists()
    assert keep.exists()
