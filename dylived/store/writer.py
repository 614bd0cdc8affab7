"""The only writer of the database: one aiosqlite connection fed by one bounded stream.

Every producer (each event capture, the recorders, the watch) ``await writer.submit(op)``
typed operations (``store/ops.py``) into one FIFO stream; :meth:`Writer.run` is the one place
they are batched: it commits every ``batch_rows`` event rows or ``flush_interval`` seconds, in
one transaction (``executemany`` for event rows), in submission order (so one producer's
``AddGap``/``UpdateSession``/``SetEventOffsets`` stay in order with its rows). Operations that
need an answer are flushed at once and answered through their :class:`~dylived.store.ops.Reply`.

**The one back-pressure rule**: the writer holds at most ``max_pending_rows`` (queued in the
stream plus taken but not committed; an event row counts one, any other operation one);
``submit`` waits while an operation would not fit. So a slow disk or a database locked by
another process makes the producers wait (an event capture stops reading its socket, see
``dylived/capture/component.py``) instead of growing memory or dropping anything.

Errors never crash it: a full disk (SQLITE_FULL, ENOSPC) or an I/O or lock error rolls the
transaction back, is logged and counted (``dylived.errors.DiskFull`` in :meth:`statistics`),
and the same batch is retried after ``retry_interval`` while new operations keep being
accepted: while writes fail, the oldest event rows beyond half of ``max_pending_rows`` are
dropped (counted, and an events gap) so that no producer waits on a store that may not come
back; control operations are never dropped. An operation that SQLite rejects on its own (a
constraint) is isolated, logged and answered with a StoreError; the rest of its batch is
committed. A batch of event rows that fails is retried row by row, so one bad row costs only
itself (``rows_rejected``, logged); a number too large for SQLite's INTEGER is stored as NULL,
counted in ``values_out_of_range`` (``store/statements.py``).

Before the disk is full: while the free space of the database's file system is under
``free_floor`` (``store/space.py``), event rows are dropped (counted) and only control
operations are committed. Event rows that were not stored (dropped there, or shed while writes
failed) become an ``events`` gap per session, cause ``disk`` (``store_error`` for other
failures), written with the first commit once space returns, before the session's
``CloseSession``, or at stop. The WAL is checkpointed every 1,000 pages (~4 MiB) and cut back to
4 MiB after a checkpoint, so it cannot take much of a small disk (every 256 pages cost ~1 µs more
CPU per row at 20,000 rows/s: bench/RESULTS.md "ingest").

On open, sessions left open by a crash are closed as ``daemon_stopped`` at their last activity
(last event, last segment, last check that found the room live) and their ``writing``
segments become ``orphaned`` for the start-up recovery to fix up; ``stopped_sessions`` lists,
per broadcaster, the newest session when a daemon stop or crash ended it: the watch may
continue it (``ResumeSession``) when the same room is still live at its first check
(``dylived/watch/broadcaster.py``).
"""

from __future__ import annotations

import errno
import json
import logging
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from dylived.errors import DiskFull, StoreError
from dylived.store import db, space, statements
from dylived.store.ops import (
    CloseSession,
    Drain,
    InsertEvents,
    InsertUnknown,
    OpenSession,
    ResumedSession,
    ResumeSession,
    SetDatabaseLimit,
    StoppedSession,
    WriteOp,
)


logger = logging.getLogger(__name__)

_DEFAULT_MAX_PAGES = 1073741823  # SQLite's compiled default for max_page_count
_FINAL_FLUSH_TIMEOUT_S = 5.0
_TRANSIENT_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY}
_TRANSIENT_CODES |= {sqlite3.SQLITE_LOCKED}
_BAD_ROW_LOG_EVERY_S = 60.0
_Counts = tuple[int, int, int, int]  # event rows inserted, ignored as dups, unfit values, cut
_WAL_PRAGMAS = ("PRAGMA wal_autocheckpoint = 1000", "PRAGMA journal_size_limit = 4194304")


@dataclass(frozen=True, slots=True)
class WriterStatistics:
    """Progress of the writer, for status, metrics and the watchdog.

    The watchdog should require ``last_loop_monotonic`` to be recent (the loop is alive); a
    full disk shows as ``disk_full`` with ``backlog`` growing, and is not a reason to die.
    """

    backlog: int  # operations buffered in the stream, not yet taken
    pending_ops: int  # taken, not yet committed
    pending_rows: int  # event rows taken, not yet committed
    held: int  # rows + other operations held (stream and taken): at most max_pending_rows
    waits: int  # submits that waited for room (back-pressure)
    rows_written: int  # event rows inserted (duplicates not counted)
    rows_ignored: int  # event rows ignored as duplicates (same session and msg_id)
    rows_dropped: int  # event rows dropped while the disk was full
    rows_rejected: int  # event rows SQLite refused on their own (the rest of a batch is kept)
    values_out_of_range: int  # integers beyond SQLite's 64 bits, stored as NULL
    rows_truncated: int  # event rows with a text field cut at statements.TEXT_CAP
    unknown_dropped: int  # unknown messages beyond the per-session cap
    flushes: int
    last_flush_monotonic: float | None
    last_loop_monotonic: float
    disk_full: bool
    disk_full_count: int
    errors: int
    last_error: str | None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return (code & 0xFF) in _TRANSIENT_CODES
        return "disk is full" in str(exc) or "locked" in str(exc) or "disk I/O" in str(exc)
    return isinstance(exc, OSError)


def _translate(exc: BaseException) -> StoreError:
    """The error at this edge: DiskFull for SQLITE_FULL / ENOSPC, StoreError otherwise."""
    code = getattr(exc, "sqlite_errorcode", None)
    full = (code is not None and (code & 0xFF) == sqlite3.SQLITE_FULL) or (
        isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    )
    if full or "database or disk is full" in str(exc):
        return DiskFull(f"database or disk is full: {exc}")
    return StoreError(f"database write failed: {exc}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cost(op: WriteOp) -> int:
    """What ``op`` counts against ``max_pending_rows``: its event rows, else one."""
    return len(op.events) if isinstance(op, InsertEvents) else 1


def _needs_immediate_flush(op: WriteOp) -> bool:
    return isinstance(op, OpenSession | ResumeSession | CloseSession | Drain)


class Writer:
    """The single writer. ``async with Writer.open(path) as w: await tg.start(w.run)``."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        batch_rows: int,
        flush_interval: float,
        retry_interval: float,
        max_pending_rows: int,
        unknown_cap: int,
        path: Path | None = None,
        free_floor: Callable[[], int] | None = None,
        free: space.FreeSpace = space.free_bytes,
    ) -> None:
        self._conn = conn
        self._path = path
        self._free_floor = free_floor
        self._free = free
        self._space_low = False
        self._lost = space.LostEvents()
        self._send: MemoryObjectSendStream[WriteOp]
        self._receive: MemoryObjectReceiveStream[WriteOp]
        # Unbounded in operations: the bound is max_pending_rows, kept by submit (_held).
        self._send, self._receive = anyio.create_memory_object_stream[WriteOp](math.inf)
        self._queued_cost = 0  # of the operations in the stream
        self._pending_cost = 0  # of self._pending
        self._room = anyio.Event()
        self._waits = 0
        self._stopped = False
        self._batch_rows = batch_rows
        self._flush_interval = flush_interval
        self._retry_interval = retry_interval
        self._max_pending_rows = max_pending_rows
        self._unknown_cap = unknown_cap
        self._pending: list[WriteOp] = []
        self._pending_rows = 0
        self._first_pending_at: float | None = None
        self._retry_at: float | None = None
        self._unknown_counts: dict[int, int] = {}
        self._page_size = 4096
        self._rows_written = self._rows_ignored = self._rows_dropped = 0
        self._rows_rejected = self._values_out_of_range = self._rows_truncated = 0
        self._bad_rows_logged_at = -_BAD_ROW_LOG_EVERY_S
        self._unknown_dropped = self._flushes = self._errors = self._disk_full_count = 0
        self._last_flush: float | None = None
        self._last_loop = time.monotonic()
        self._disk_full = False
        self._last_error: str | None = None
        self._results: dict[int, Any] = {}  # id(op) -> answer, until the commit answers it
        self.recovered_sessions: tuple[int, ...] = ()
        self.stopped_sessions: dict[str, StoppedSession] = {}

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: str | Path,
        *,
        batch_rows: int = 2000,  # 80 ms of rows at 25,000/s; fewer commits than 500 (RESULTS.md)
        flush_interval: float = 0.25,
        retry_interval: float = 2.0,
        max_pending_rows: int = 20_000,
        unknown_cap: int = 1000,
        max_db_bytes: int | None = None,
        free_floor: Callable[[], int] | None = None,
        free: space.FreeSpace = space.free_bytes,
    ) -> AsyncIterator[Writer]:
        """Open (creating the file), migrate, recover crashed sessions; always closes.

        ``max_pending_rows`` is the one cap of the stream (module docstring); ``free_floor``
        gives the free bytes under which event rows are dropped (None: never);
        ``free`` reads the free space of the file system holding ``path``.

        Raises:
            StoreError: the database cannot be opened or migrated.
        """
        conn = await db.connect(path)
        try:
            await db.migrate(conn)
            writer = cls(
                conn,
                batch_rows=batch_rows,
                flush_interval=flush_interval,
                retry_interval=retry_interval,
                max_pending_rows=max_pending_rows,
                unknown_cap=unknown_cap,
                path=Path(path),
                free_floor=free_floor,
                free=free,
            )
            for pragma in _WAL_PRAGMAS:
                await conn.execute(pragma)
            async with conn.execute("PRAGMA page_size") as cursor:
                row = await cursor.fetchone()
            writer._page_size = int(row[0]) if row is not None else 4096
            await writer._apply_limit(max_db_bytes)
            await writer._recover()
            try:
                yield writer
            finally:
                writer.stop()
                writer._receive.close()
        finally:
            await db.close_quietly(conn)

    # ------------------------------------------------------------ the producer side

    async def submit(self, op: WriteOp) -> None:
        """Queue one operation; waits while it would not fit under ``max_pending_rows``.

        Cancel-safe: a cancelled submit queued nothing. Raises StoreError after :meth:`stop`.
        """
        cost = _cost(op)
        if not self._fits(cost):
            self._waits += 1
            while not self._fits(cost):
                if self._room.is_set():
                    self._room = anyio.Event()
                await self._room.wait()
        self._queue(op, cost)

    def submit_nowait(self, op: WriteOp) -> bool:
        """Queue one operation if it fits; False (nothing queued) when it does not."""
        cost = _cost(op)
        if not self._fits(cost):
            if self._stopped:
                raise StoreError("the store writer is stopped")
            return False
        self._queue(op, cost)
        return True

    def _fits(self, cost: int) -> bool:
        """Room for ``cost`` (an operation larger than the cap fits an empty writer); a
        stopped writer always "fits", so that the send below raises StoreError."""
        held = self._queued_cost + self._pending_cost
        return held == 0 or held + cost <= self._max_pending_rows or self._stopped

    def _queue(self, op: WriteOp, cost: int) -> None:
        try:
            self._send.send_nowait(op)  # never WouldBlock: the stream is unbounded
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise StoreError("the store writer is stopped") from exc
        self._queued_cost += cost

    def _received(self, op: WriteOp) -> None:
        self._queued_cost -= _cost(op)

    def _wake_producers(self) -> None:
        if self._queued_cost + self._pending_cost < self._max_pending_rows or self._stopped:
            self._room.set()

    async def request(self, op: OpenSession) -> int:
        """Submit and wait for the new session id (cancel-safe; the op may still be applied)."""
        await self.submit(op)
        return await op.reply.wait()

    async def resume(self, op: ResumeSession) -> ResumedSession | None:
        """Submit a ResumeSession and wait for the reopened session (None: not reopened)."""
        await self.submit(op)
        return await op.reply.wait()

    async def close_session(self, op: CloseSession) -> dict[str, Any]:
        """Submit a CloseSession and wait for the session's summary row."""
        await self.submit(op)
        return await op.reply.wait()

    async def drain(self) -> None:
        """Wait until everything submitted before this call is committed.

        While the disk is full this waits until it is not: bound it with a timeout.
        """
        op = Drain()
        await self.submit(op)
        await op.reply.wait()

    def stop(self) -> None:
        """Accept nothing more; :meth:`run` commits what it has and returns."""
        self._stopped = True
        self._send.close()
        self._room.set()  # waiting producers get StoreError

    def statistics(self) -> WriterStatistics:
        return WriterStatistics(
            backlog=self._send.statistics().current_buffer_used,
            pending_ops=len(self._pending),
            pending_rows=self._pending_rows,
            held=self._queued_cost + self._pending_cost,
            waits=self._waits,
            rows_written=self._rows_written,
            rows_ignored=self._rows_ignored,
            rows_dropped=self._rows_dropped,
            rows_rejected=self._rows_rejected,
            values_out_of_range=self._values_out_of_range,
            rows_truncated=self._rows_truncated,
            unknown_dropped=self._unknown_dropped,
            flushes=self._flushes,
            last_flush_monotonic=self._last_flush,
            last_loop_monotonic=self._last_loop,
            disk_full=self._disk_full or self._space_low,
            disk_full_count=self._disk_full_count,
            errors=self._errors,
            last_error=self._last_error,
        )

    # ------------------------------------------------------------ the loop

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Consume operations until :meth:`stop` (then commit and return) or cancellation
        (then commit what it can, shielded and bounded, and re-raise)."""
        task_status.started()
        try:
            while True:
                op = await self._next_op()
                now = time.monotonic()
                self._last_loop = now
                if isinstance(op, SetDatabaseLimit):
                    await self._apply_limit(op.max_bytes)
                    if self._retry_at is not None:
                        self._retry_at = now  # the limit may have been the cause: retry now
                elif op is not None:
                    self._take(op, now)
                if self._flush_due(op, now):
                    await self._flush()
        except anyio.EndOfStream:
            await self._final_flush()
        except anyio.get_cancelled_exc_class():
            await self._final_flush()
            raise

    async def _next_op(self) -> WriteOp | None:
        """The next operation, or None when a flush (or a liveness tick) is due first."""
        now = time.monotonic()
        deadline = now + 1.0  # a liveness tick even when idle (last_loop_monotonic)
        if self._retry_at is not None:
            deadline = min(deadline, self._retry_at)
        elif self._first_pending_at is not None:
            deadline = min(deadline, self._first_pending_at + self._flush_interval)
        with anyio.move_on_after(max(0.0, deadline - now)):
            op = await self._receive.receive()
            self._received(op)
            return op
        return None

    def _take(self, op: WriteOp, now: float) -> None:
        if isinstance(op, InsertUnknown):
            seen = self._unknown_counts.get(op.session_id, 0)
            if seen >= self._unknown_cap:
                self._unknown_dropped += 1
                self._wake_producers()
                return
            self._unknown_counts[op.session_id] = seen + 1
        self._pending.append(op)
        self._pending_cost += _cost(op)
        if isinstance(op, InsertEvents):
            self._pending_rows += len(op.events)
        if self._first_pending_at is None:
            self._first_pending_at = now
        if self._retry_at is not None and self._over_shed_mark():
            self._shed_rows()

    def _over_shed_mark(self) -> bool:
        return self._queued_cost + self._pending_cost > self._max_pending_rows // 2

    def _shed_rows(self) -> None:
        """While writes fail: drop the oldest event batches down to half the cap, so that no
        producer waits on a store that may not come back (control ops are always kept)."""
        kept: list[WriteOp] = []
        cause = "disk" if self._disk_full else "store_error"
        for op in self._pending:
            if isinstance(op, InsertEvents) and self._over_shed_mark():
                self._pending_cost -= len(op.events)
                self._rows_dropped += self._lost.add(op, cause)
            else:
                kept.append(op)
        self._pending = kept
        self._after_pending_change()
        logger.error("store: writes failing, dropped event rows (total %d)", self._rows_dropped)

    def _flush_due(self, op: WriteOp | None, now: float) -> bool:
        if self._retry_at is not None:  # even with nothing pending (all shed): the gaps
            return now >= self._retry_at
        if not self._pending:
            return False
        if op is not None and _needs_immediate_flush(op):
            return True
        if self._pending_rows >= self._batch_rows:
            return True
        assert self._first_pending_at is not None
        return now >= self._first_pending_at + self._flush_interval

    async def _final_flush(self) -> None:
        with anyio.move_on_after(_FINAL_FLUSH_TIMEOUT_S, shield=True):
            # A cancelled flush may have left its transaction open (queued SQL still runs
            # in aiosqlite's thread, in order): roll it back before committing again.
            await self._rollback()
            while True:
                try:
                    op = self._receive.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
                self._received(op)
                self._take(op, time.monotonic())
            if self._pending or self._lost:
                self._retry_at = None
                await self._flush()
            if self._lost:  # dropped by that flush: their gaps, while we can
                self._pending.extend(self._lost.gaps())
                await self._flush()
        if self._pending:
            logger.error("store: %d operations could not be written at stop", len(self._pending))
            for op in self._pending:
                self._fail_reply(op, StoreError("the store writer stopped before writing this"))

    # ------------------------------------------------------------ flushing

    async def _flush(self) -> None:
        """Commit every pending operation in one transaction, or isolate the bad one."""
        if self._under_floor():
            self._drop_events()
            if not self._pending:
                self._retry_at = None  # nothing to retry; the gaps wait for space
                return
        elif self._lost:  # space is back: what was lost goes first
            self._pending[:0] = self._lost.gaps()
        ops = self._pending
        if not ops:
            self._retry_at = None
            return
        try:
            counts = await self._execute_batch(ops)
        except Exception as exc:
            await self._rollback()
            if _is_transient(exc):
                self._on_transient(exc)
                return
            await self._isolate(ops)
            return
        self._pending = []
        self._committed(ops, counts)

    def _under_floor(self) -> bool:
        """Free space under the floor now (logged when that changes); False if unknown."""
        floor = self._free_floor() if self._free_floor is not None else 0
        low = False
        if floor > 0 and self._path is not None:
            try:
                free = self._free(self._path)
            except OSError:
                free = floor
            low = free < floor
            if low and not self._space_low:
                logger.error(
                    "store: %d bytes free for the database, under its floor of %d: event rows "
                    "are not stored until space returns (an events gap will say so)",
                    free,
                    floor,
                )
            elif self._space_low and not low:
                logger.warning("store: free space is back (%d bytes): storing event rows", free)
        self._space_low = low
        return low

    def _drop_events(self) -> None:
        """Under the floor: pending event rows are dropped (counted as a gap), control ops kept;
        a session closing gets its gap first, so its summary counts it."""
        kept: list[WriteOp] = []
        for op in self._pending:
            if isinstance(op, InsertEvents):
                self._rows_dropped += self._lost.add(op, "disk")
                continue
            if isinstance(op, CloseSession):
                gap = self._lost.gap(op.session_id)
                if gap is not None:
                    kept.append(gap)
            kept.append(op)
        self._pending = kept
        self._after_pending_change()

    async def _isolate(self, ops: list[WriteOp]) -> None:
        """Apply the operations one by one so one bad operation cannot block the rest."""
        for index, op in enumerate(ops):
            try:
                counts = await self._execute_batch([op])
            except Exception as exc:
                await self._rollback()
                if _is_transient(exc):
                    self._pending = ops[index:]
                    self._on_transient(exc)
                    return
                if isinstance(op, InsertEvents) and len(op.events) > 1:
                    try:
                        self._committed([op], await self._insert_singly(op))
                        continue
                    except Exception as again:
                        await self._rollback()
                        if _is_transient(again):
                            self._pending = ops[index:]
                            self._on_transient(again)
                            return
                        exc = again  # not even row by row: the whole operation is dropped
                if isinstance(op, InsertEvents):
                    self._rows_rejected += len(op.events)
                self._errors += 1
                self._last_error = f"{type(op).__name__}: {exc}"
                logger.error("store: dropped %s that SQLite rejected: %s", type(op).__name__, exc)
                self._fail_reply(op, StoreError(f"{type(op).__name__} rejected: {exc}"))
            else:
                self._committed([op], counts)
        self._pending = []
        self._after_pending_change()

    async def _insert_singly(self, op: InsertEvents) -> _Counts:
        """The rows of ``op`` one statement each in one transaction; refused rows are skipped.

        A refused statement leaves the transaction and the rows before it intact (SQLite
        undoes only that statement); a transient error is raised for the caller to retry.
        """
        inserted = ignored = unfit = cut = 0
        await self._conn.execute("BEGIN IMMEDIATE")
        for event in op.events:
            try:
                added, total, bad, was_cut = await statements.insert_events(
                    self._conn, [InsertEvents(op.session_id, (event,))]
                )
            except Exception as exc:
                if _is_transient(exc):
                    raise
                self._rows_rejected += 1
                self._errors += 1
                self._last_error = f"event row rejected: {type(exc).__name__}: {exc}"
                self._log_bad_row(op.session_id, event.type, event.msg_id, exc)
                continue
            inserted, ignored, unfit = inserted + added, ignored + total - added, unfit + bad
            cut += was_cut
        await self._conn.commit()
        return inserted, ignored, unfit, cut

    def _log_bad_row(self, session_id: int, kind: str, msg_id: str | None, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._bad_rows_logged_at < _BAD_ROW_LOG_EVERY_S:
            return
        self._bad_rows_logged_at = now
        logger.error(
            "store: session %d: dropped a %s event (msg_id %s) that SQLite refused: %s: %s "
            "(the rest of its batch is stored; %d refused so far, reported at most every %.0f s)",
            session_id,
            kind,
            msg_id,
            type(exc).__name__,
            exc,
            self._rows_rejected,
            _BAD_ROW_LOG_EVERY_S,
        )

    def _on_transient(self, exc: BaseException) -> None:
        error = _translate(exc)
        self._errors += 1
        self._last_error = str(error)
        if isinstance(error, DiskFull):
            if not self._disk_full:
                logger.error("store: %s; retrying every %.1f s", error, self._retry_interval)
            self._disk_full = True
            self._disk_full_count += 1
        else:
            logger.warning("store: %s; retrying in %.1f s", error, self._retry_interval)
        self._retry_at = time.monotonic() + self._retry_interval
        self._after_pending_change()
        if self._over_shed_mark():
            self._shed_rows()

    def _committed(self, ops: Sequence[WriteOp], counts: _Counts) -> None:
        for op in ops:
            if isinstance(op, OpenSession | ResumeSession | CloseSession | Drain):
                self._answer(op)
            if isinstance(op, CloseSession):
                self._unknown_counts.pop(op.session_id, None)
        self._rows_written += counts[0]
        self._rows_ignored += counts[1]
        self._rows_truncated += counts[3]
        if counts[2]:
            self._values_out_of_range += counts[2]
            logger.warning(
                "store: %d event time(s) beyond SQLite's 64-bit integers stored as NULL (the "
                "payload keeps the value; %d so far)",
                counts[2],
                self._values_out_of_range,
            )
        if self._disk_full:
            logger.warning("store: writes succeed again")
        self._disk_full = False
        self._retry_at = None
        self._flushes += 1
        self._last_flush = time.monotonic()
        self._after_pending_change()

    def _after_pending_change(self) -> None:
        self._pending_rows = sum(
            len(op.events) for op in self._pending if isinstance(op, InsertEvents)
        )
        self._pending_cost = sum(_cost(op) for op in self._pending)
        if not self._pending:
            self._first_pending_at = None
        self._wake_producers()

    async def _rollback(self) -> None:
        try:
            await self._conn.rollback()
        except sqlite3.Error as exc:  # pragma: no cover - rollback of a failed txn
            logger.warning("store: rollback failed: %s", exc)

    # ------------------------------------------------------------ SQL per operation

    async def _execute_batch(self, ops: Sequence[WriteOp]) -> _Counts:
        """Run the operations in one transaction; (event rows inserted, ignored as dups,
        values out of SQLite's integer range)."""
        inserted = ignored = unfit = cut = 0
        await self._conn.execute("BEGIN IMMEDIATE")
        index = 0
        while index < len(ops):
            op = ops[index]
            if isinstance(op, InsertEvents):
                # Consecutive event batches become one executemany.
                group: list[InsertEvents] = []
                while index < len(ops) and isinstance(ops[index], InsertEvents):
                    group.append(ops[index])  # type: ignore[arg-type]
                    index += 1
                added, total, bad, was_cut = await statements.insert_events(self._conn, group)
                inserted, ignored, unfit = inserted + added, ignored + total - added, unfit + bad
                cut += was_cut
                continue
            result = await statements.apply(self._conn, op)
            if result is not None:
                self._results[id(op)] = result
            index += 1
        await self._conn.commit()
        return inserted, ignored, unfit, cut

    async def _apply_limit(self, max_bytes: int | None) -> None:
        pages = _DEFAULT_MAX_PAGES if max_bytes is None else max(1, max_bytes // self._page_size)
        await self._conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    async def _recover(self) -> None:
        """Close sessions a crash left open as ``daemon_stopped`` at their last activity; orphan
        'writing' segments; list the newest session per broadcaster a stop or crash ended."""
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            stale = await statements.close_crashed_sessions(self._conn)
            await self._conn.commit()
            stopped = await statements.stopped_sessions(self._conn)
        except sqlite3.Error as exc:
            await self._rollback()
            raise _translate(exc) from exc
        if stale:
            logger.warning(
                "store: closed %d session(s) left open by a crash as daemon_stopped", len(stale)
            )
        self.recovered_sessions = stale
        self.stopped_sessions = {s.broadcaster_key: s for s in stopped}

    def _answer(self, op: OpenSession | ResumeSession | CloseSession | Drain) -> None:
        result = self._results.pop(id(op), None)
        if isinstance(op, Drain):
            op.reply.set(None)
        elif isinstance(op, ResumeSession):
            op.reply.set(result)
        elif isinstance(op, OpenSession):
            op.reply.set(int(result))
        else:
            op.reply.set(result)

    @staticmethod
    def _fail_reply(op: WriteOp, error: StoreError) -> None:
        if isinstance(op, OpenSession | ResumeSession | CloseSession | Drain):
            op.reply.fail(error)
