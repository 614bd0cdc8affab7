"""The hand-over of one capture's rows and store operations to the store writer.

``StoreHandOver`` holds only what the frame being handled produced (its event rows, an
``AddGap``/``UpdateSession``/``InsertUnknown``) until :meth:`StoreHandOver.deliver` submits it
to the writer, in order, with the frame's rows as one ``InsertEvents``. It batches nothing and
caps nothing: the writer is the one place rows are batched into transactions and its
``max_pending_rows`` the one cap; ``deliver`` waits while the writer is full (back-pressure,
``store/writer.py``). An interrupted ``deliver`` resumes at the operation it was submitting,
so a cancelled delivery followed by another loses and repeats nothing.
"""

from __future__ import annotations

from typing import Protocol

import anyio

from dylived.store.ops import EventRecord, InsertEvents, WriteOp


__all__ = ["EventSink", "StoreHandOver"]


class EventSink(Protocol):
    """Where store operations go: the store writer (``Writer.submit``, ``submit_nowait``)."""

    async def submit(self, op: WriteOp) -> None: ...

    def submit_nowait(self, op: WriteOp) -> bool: ...


class StoreHandOver:
    """The operations of one capture not yet taken by ``sink``, in order."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._ops: list[WriteOp] = []
        self.waits = 0  # deliveries that found the writer full
        self.waited_s = 0.0  # seconds deliveries spent waiting for it

    def queue_op(self, op: WriteOp) -> None:
        self._ops.append(op)

    def queue_rows(self, session_id: int, rows: list[EventRecord]) -> None:
        self._ops.append(InsertEvents(session_id, rows))

    async def deliver(self) -> None:
        """Submit everything queued, oldest first; waits while the writer is full."""
        while self._ops:
            if not self._sink.submit_nowait(self._ops[0]):
                self.waits += 1
                started = anyio.current_time()
                try:
                    await self._sink.submit(self._ops[0])
                finally:
                    self.waited_s += anyio.current_time() - started
            del self._ops[0]
