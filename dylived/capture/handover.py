"""The hand-over of one capture's rows and store operations to the store writer.

``StoreHandOver`` owns what ``EventCapture`` has produced but the writer has not yet taken:
pending event rows, pending operations (``AddGap``, ``InsertUnknown``, ``UpdateSession``) and
the batch being handed over. A flusher task (``run_flusher``) hands them to the sink as they
come (operations first, then rows as ``InsertEvents`` of at most ``batch_rows``), so a slow
writer never stalls the socket reader until ``max_pending_rows`` are waiting; then the reader
awaits ``wait_drained`` (backpressure). An interrupted hand-over is retried from the same
operation, so a cancelled flush followed by ``flush_all`` loses and repeats nothing.
"""

from __future__ import annotations

from typing import Protocol

import anyio

from dylived.store.ops import EventRecord, InsertEvents, WriteOp


__all__ = ["EventSink", "StoreHandOver"]


class EventSink(Protocol):
    """Where store operations go: the store writer (``Writer.submit``)."""

    async def submit(self, op: WriteOp) -> None: ...


class StoreHandOver:
    """Pending rows and operations of one capture on their way to ``sink``."""

    def __init__(self, sink: EventSink, *, batch_rows: int, max_pending_rows: int) -> None:
        self._sink = sink
        self.batch_rows = batch_rows
        self.max_pending_rows = max_pending_rows
        self.backpressure_waits = 0
        self._pending_rows: list[EventRecord] = []
        self._pending_ops: list[WriteOp] = []
        self._in_flight: list[WriteOp] = []
        self._work = anyio.Event()
        self._drained = anyio.Event()

    def queue_op(self, op: WriteOp) -> None:
        self._pending_ops.append(op)
        self._work.set()

    def queue_rows(self, rows: list[EventRecord]) -> None:
        self._pending_rows.extend(rows)
        self._work.set()

    @property
    def full(self) -> bool:
        """Whether ``max_pending_rows`` rows are waiting (the reader should ``wait_drained``)."""
        return len(self._pending_rows) >= self.max_pending_rows

    async def wait_drained(self) -> None:
        """Wait until the flusher has handed everything pending to the sink."""
        self.backpressure_waits += 1
        self._drained = anyio.Event()
        self._work.set()
        await self._drained.wait()

    async def run_flusher(self, session_id: int) -> None:
        """Hand over whatever is queued, as it is queued, until cancelled."""
        while True:
            await self._work.wait()
            self._work = anyio.Event()
            await self.flush_all(session_id)
            self._drained.set()

    async def flush_all(self, session_id: int) -> None:
        """Hand every pending op and row to the sink (an interrupted hand-over is retried)."""
        while self._in_flight or self._pending_ops or self._pending_rows:
            if not self._in_flight:
                self._in_flight = self._next_ops(session_id)
            while self._in_flight:
                await self._sink.submit(self._in_flight[0])
                del self._in_flight[0]

    def _next_ops(self, session_id: int) -> list[WriteOp]:
        ops, self._pending_ops = self._pending_ops, []
        rows, self._pending_rows = self._pending_rows, []
        size = self.batch_rows
        ops.extend(
            InsertEvents(session_id, rows[start : start + size])
            for start in range(0, len(rows), size)
        )
        return ops
