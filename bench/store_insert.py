"""The store path alone: the real ``Writer`` committing realistic event rows into a fresh file.

    .venv/bin/python -m bench.store_insert [--rows 200000] [--sessions 10] [--runs 3]

Rows are built once from ``bench.decode``'s frames (through the Douyin codec and
``EventRecord.from_row``, with fresh msg_ids), then submitted as the capture does: one
``InsertEvents`` per push frame (20 rows), the sessions taking turns, as fast as the writer
takes them (its back-pressure rule applies). Prints per run the committed rows/s (wall) and
the CPU per row of this process (the event loop and aiosqlite's thread), and the best run.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import anyio

from bench.decode import build_frames
from dylived.model import LiveStatus
from dylived.platforms.douyin.push import CODEC
from dylived.store.ops import EventRecord, InsertEvents, OpenSession
from dylived.store.writer import Writer


FRAME_ROWS = 20


def build_records(count: int) -> list[EventRecord]:
    status = LiveStatus(live=True, handle="261378947940")
    session = CODEC.new_session()
    records: list[EventRecord] = []
    for data in build_frames(1000):
        session.receive_data(data)
        for event in session.events_received():
            row = CODEC.event_row(event, status, received_at_ms=0, stream_offset_s=None)
            records.append(EventRecord.from_row(row))
    out = []
    for i in range(count):
        out.append(dataclasses.replace(records[i % len(records)], msg_id=str(10**18 + i)))
    return out


async def one_run(records: list[EventRecord], sessions: int, path: Path) -> tuple[float, float]:
    async with Writer.open(path) as writer, anyio.create_task_group() as tg:
        await tg.start(writer.run)
        ids = [
            await writer.request(OpenSession(f"b{i}", 1, "douyin", room_id=str(i)))
            for i in range(sessions)
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        for n, start in enumerate(range(0, len(records), FRAME_ROWS)):
            batch = tuple(records[start : start + FRAME_ROWS])
            await writer.submit(InsertEvents(ids[n % sessions], batch))
        await writer.drain()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        writer.stop()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    records = build_records(args.rows)
    best = 0.0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="dylived-store-") as tmp:
            wall, cpu = anyio.run(one_run, records, args.sessions, Path(tmp) / "t.db")
        rate = args.rows / wall
        best = max(best, rate)
        print(
            f"run {run + 1}: {args.rows:,} rows in {wall:.2f} s = {rate:,.0f} rows/s; "
            f"CPU {cpu / args.rows * 1e6:.1f} µs per row"
        )
    print(f"store_insert: rows={args.rows} sessions={args.sessions} best_rows_per_s={best:.0f}")


if __name__ == "__main__":
    main()
