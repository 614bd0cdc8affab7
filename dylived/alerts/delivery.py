"""Delivery of alerts to the ``[[notify]]`` targets, never in the way of recording.

:meth:`Dispatcher.offer` (an ``AlertBus`` subscriber; sync, O(targets)) puts one item per
target that wants the alert on a bounded queue (``queue_size`` items; when full the oldest is
dropped and counted as ``dropped``). The same ``(target, alert.key)`` is queued at most once
per daemon run: a session's ``live`` or ``ended`` is never sent twice. :meth:`Dispatcher.run`
(a task in the daemon's service group) takes items in order and delivers up to
``concurrency`` at once, each attempt bounded by the target's ``timeout``; a failed attempt is
retried ``retries`` times after 1, 2, 4 … (at most ``BACKOFF_MAX``) seconds, then given up
(``failed``, logged as a WARNING). Counts per ``(event, result)`` feed ``/metrics``.
:meth:`Dispatcher.send_test` is ``dylivectl notify test``: one attempt per target, now,
outside the queue. Targets come from the running config each time (a reload applies).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import anyio
import anyio.abc

from dylived.alerts.events import Alert
from dylived.alerts.targets import DeliveryFailed, Target, label_of, make_target
from dylived.config.notify import NotifyTarget, url_problem
from dylived.net.http import HttpClient


logger = logging.getLogger(__name__)

QUEUE_SIZE = 256
CONCURRENCY = 4
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
SEEN_KEYS = 10_000  # dedup memory (oldest forgotten first)


@dataclass(frozen=True, slots=True)
class _Item:
    target: NotifyTarget
    alert: Alert


class Dispatcher:
    def __init__(
        self,
        targets: Callable[[], Sequence[NotifyTarget]],
        http: HttpClient,
        *,
        queue_size: int = QUEUE_SIZE,
        concurrency: int = CONCURRENCY,
        backoff_first: float = BACKOFF_FIRST,
    ) -> None:
        self._targets = targets
        self._http = http
        self._queue: collections.deque[_Item] = collections.deque()
        self._queue_size = queue_size
        self._slots = anyio.Semaphore(concurrency)
        self._backoff_first = backoff_first
        self._wake = anyio.Event()
        self._seen: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._clients: dict[str, Target] = {}
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    # ---------------------------------------------------------------- in (sync)

    def offer(self, alert: Alert) -> None:
        """Queue ``alert`` for every target that wants it (at most once per target and key)."""
        for target in self._targets():
            if not target.wants(alert.event, alert.broadcaster):
                continue
            seen = (target.url, alert.key)
            if seen in self._seen:
                continue
            self._seen[seen] = None
            if len(self._seen) > SEEN_KEYS:
                self._seen.popitem(last=False)
            if len(self._queue) >= self._queue_size:
                dropped = self._queue.popleft()
                self.counts[(dropped.alert.event, "dropped")] += 1
                logger.warning(
                    "notification queue full: dropped the oldest (%s to %s)",
                    dropped.alert.event,
                    label_of(dropped.target.url),
                )
            self._queue.append(_Item(target, alert))
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    # ---------------------------------------------------------------- out (the task)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        async with anyio.create_task_group() as tg:
            task_status.started()
            while True:
                while not self._queue:
                    await self._wake.wait()
                    self._wake = anyio.Event()
                await self._slots.acquire()
                if not self._queue:  # dropped meanwhile? (only ever by offer, which appends)
                    self._slots.release()
                    continue
                tg.start_soon(self._deliver, self._queue.popleft())

    async def _deliver(self, item: _Item) -> None:
        alert, target = item.alert, item.target
        try:
            error = ""
            for attempt in range(target.retries + 1):
                if attempt:
                    await anyio.sleep(min(self._backoff_first * 2 ** (attempt - 1), BACKOFF_MAX))
                error = await self._attempt(target, alert)
                if not error:
                    self.counts[(alert.event, "sent")] += 1
                    logger.info("notified %s of %s", label_of(target.url), alert.key)
                    return
                logger.info(
                    "notification %s to %s failed (attempt %d of %d): %s",
                    alert.key,
                    label_of(target.url),
                    attempt + 1,
                    target.retries + 1,
                    error,
                )
            self.counts[(alert.event, "failed")] += 1
            logger.warning(
                "gave up notifying %s of %s after %d attempts: %s",
                label_of(target.url),
                alert.key,
                target.retries + 1,
                error,
            )
        finally:
            self._slots.release()

    async def _attempt(self, target: NotifyTarget, alert: Alert) -> str:
        """One delivery; "" on success, else why not."""
        try:
            client = self._client(target.url)
            with anyio.fail_after(target.timeout):
                await client.send(alert)
        except TimeoutError:
            return f"no answer within {target.timeout:g} s"
        except DeliveryFailed as exc:
            return str(exc)
        except Exception as exc:  # a target's bug (Apprise plugin, odd details) is a failure
            logger.exception("notification to %s failed unexpectedly", label_of(target.url))
            return f"{type(exc).__name__}: {exc}"
        return ""

    def _client(self, url: str) -> Target:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = make_target(url, self._http)
        return client

    # ---------------------------------------------------------------- dylivectl notify test

    async def send_test(self, alert: Alert, url: str | None = None) -> list[dict[str, object]]:
        """One attempt per target (``url`` alone when given), at once; a result per target:
        ``target`` is ``notify[N] scheme://host`` (the given URL: its scheme and host)."""
        if url is not None:
            if (why := url_problem(url)) is not None:
                return [{"target": label_of(url), "ok": False, "error": why}]
            targets = [(label_of(url), NotifyTarget(url))]
        else:
            targets = [
                (f"notify[{i}] {label_of(t.url)}", t) for i, t in enumerate(self._targets(), 1)
            ]
        results: list[dict[str, object]] = []

        async def one(label: str, target: NotifyTarget) -> None:
            # within the control API's handler time, whatever the target's own timeout
            error = await self._attempt(replace(target, timeout=min(target.timeout, 30.0)), alert)
            self.counts[(alert.event, "failed" if error else "sent")] += 1
            results.append({"target": label, "ok": not error, "error": error})

        async with anyio.create_task_group() as tg:
            for label, target in targets:
                tg.start_soon(one, label, target)
        return sorted(results, key=lambda r: str(r["target"]))


__all__ = ["Dispatcher"]
