"""What ``/metrics`` costs the database: ``Database.broadcaster_totals`` on a big archive.

    .venv/bin/python -m bench.metrics_scrape [--broadcasters 1000] [--sessions 100]
        [--types 10] [--segments 20] [--runs 5]

Builds a schema-7 file with broadcasters × sessions sessions, each with ``--types`` rows in
``session_event_counts`` (any number of events: the scrape never reads ``events``) and
``--segments`` closed segment rows, times migration 0008 (the one-time backfill of the
totals), then the read the scrape makes (best and median of the runs, a warm page cache as
on a daemon that scrapes every 15 s).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from dylived.store.db import Database, close_quietly, connect, load_migrations, migrate


def _fill(path: Path, broadcasters: int, sessions: int, types: int, segments: int) -> None:
    conn = sqlite3.connect(path)
    for migration in load_migrations()[:7]:
        conn.executescript(migration.sql)
    conn.execute("PRAGMA user_version = 7")
    with conn:
        conn.executemany(
            "INSERT INTO broadcasters(key, target, added_at_ms) VALUES (?, ?, 0)",
            ((f"b{b}", f"t{b}") for b in range(broadcasters)),
        )
        conn.executemany(
            "INSERT INTO sessions(id, broadcaster_key, started_at_ms, ended_at_ms, "
            "reconnect_count) VALUES (?, ?, 0, 1, 1)",
            ((i, f"b{i % broadcasters}") for i in range(broadcasters * sessions)),
        )
        conn.executemany(
            "INSERT INTO session_event_counts VALUES (?, ?, 1000)",
            ((i, f"type{t}") for i in range(broadcasters * sessions) for t in range(types)),
        )
        conn.executemany(
            "INSERT INTO segments(session_id, seq, path, state, started_at_ms, bytes) "
            "VALUES (?, ?, 'p', 'closed', 0, 1000000)",
            ((i, s) for i in range(broadcasters * sessions) for s in range(segments)),
        )
    conn.close()


async def _main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dylived.sqlite3"
        _fill(path, args.broadcasters, args.sessions, args.types, args.segments)
        started = time.perf_counter()
        conn = await connect(path)
        await migrate(conn)
        await close_quietly(conn)
        migrated = time.perf_counter() - started
        times = []
        async with Database.open(path) as db:
            for _ in range(args.runs):
                started = time.perf_counter()
                totals = await db.broadcaster_totals()
                times.append(time.perf_counter() - started)
        print(
            f"{args.broadcasters * args.sessions} sessions, {len(totals)} broadcasters: "
            f"migration 0008 {migrated:.1f} s; scrape read best {min(times) * 1000:.1f} ms, "
            f"median {statistics.median(times) * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broadcasters", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--types", type=int, default=10)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    anyio.run(_main, parser.parse_args())


if __name__ == "__main__":
    main()
