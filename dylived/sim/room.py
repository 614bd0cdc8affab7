"""One simulated broadcaster at runtime: live state, push clients, media clock, active faults.

``SimRoom`` is what tests drive (``go_live``, ``go_offline``, ``push``, ``inject``, ``flood``) and
what the server asks (``view``, ``take_fault``, ``size_for``, ``media_ms``). Its ``run`` task
plays the scenario schedule and timed faults and pumps scripted events to connected push clients
at the configured rates (with ``pump = "templates"``, built from pre-encoded messages:
``sim/templates.py``). Calling ``go_live``/``go_offline`` yourself takes the room off its
schedule (timed faults still fire).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from dylived.model import EVENT_TYPES
from dylived.sim.media import CLIP_MS
from dylived.sim.scenario import FAULT_KINDS, FaultSpec, RoomSpec, Scenario
from dylived.sim.script import EventScript, KindMaker, ScriptedEvent, SimUser
from dylived.sim.view import QUALITY_BY_KEY, RoomView, StreamLinks


if TYPE_CHECKING:
    from dylived.sim.push import PushSession


PUMP_TICK = 0.05
TEMPLATE_SAMPLE = 200  # events encoded once per live session in the "templates" pump
BULK_FRAME_MAX = 200  # events per frame at most in the "templates" pump
PREROLL_MS = 6000  # the media clock starts this far "before" going live (HLS window, GOP burst)
REQUEST_FAULTS = ("ws_reject", "http_5xx", "http_429", "risk_control", "waf_page")
FLOOD_KINDS = tuple(kind for kind in EVENT_TYPES if kind != "control")


@dataclass(slots=True)
class ActiveFault:
    spec: FaultSpec
    until: float | None  # monotonic; None = counted
    remaining: int | None


class SimRoom:
    """A broadcaster the simulator serves; see the module docstring."""

    def __init__(
        self,
        spec: RoomSpec,
        platform: str,
        scenario: Scenario,
        *,
        msg_ids: itertools.count[int],
        room_ids: itertools.count[int],
        links: Callable[[SimRoom], dict[str, StreamLinks]],
        kinds: Mapping[str, KindMaker] | None = None,
    ) -> None:
        self.spec = spec.with_identity()
        self.kinds = dict(kinds or {})  # the personality's own event kinds
        self.platform = platform  # whose personality serves this room
        self.scenario = scenario
        self._msg_ids = msg_ids
        self._room_ids = room_ids
        self._links = links
        self._rng = random.Random(f"{scenario.seed}:{spec.web_rid}")
        self.live = False
        self.title = self.spec.title
        self.room_id = ""
        self.stream_id = ""
        self.session_id = ""
        self.live_since = 0.0  # monotonic
        self.created_at = 0  # unix seconds
        self.finished_at = 0
        self.url_epoch = 0
        self.script: EventScript | None = None
        self.sessions: set[PushSession] = set()
        self.media_scopes: set[anyio.CancelScope] = set()
        self.faults: list[ActiveFault] = []
        self.stall_until = 0.0
        self.variant_changes: list[tuple[int, int]] = [(0, 0)]  # (from loop, variant)
        self.manual = False
        self.live_sessions = 0
        # Media seams for tests (read on every status answer and media request):
        self.stream_url_override: str | None = None  # every quality's flv and hls URL
        self.hls_segment_url: str | None = None  # the URL the live playlist names ({seq})
        self.media_metadata: dict[str, str] = {}  # onMetaData strings each FLV viewer gets
        # Platform states a personality renders (e.g. "paused", "restricted"); the core keeps
        # the media and the push going whatever they say.
        self.modes: set[str] = set()
        self.anchor = SimUser(
            id=self.spec.uid,
            short_id=self.spec.uid % 10**9,
            nickname=self.spec.nickname,
            sec_uid=self.spec.sec_uid,
            display_id=self.spec.web_rid,
        )

    # ------------------------------------------------------------ identity

    @property
    def web_rid(self) -> str:
        return self.spec.web_rid

    @property
    def nickname(self) -> str:
        return self.spec.nickname

    @property
    def sec_uid(self) -> str:
        return self.spec.sec_uid

    @property
    def uid(self) -> int:
        return self.spec.uid

    # ------------------------------------------------------------ control (tests call these)

    def go_live(self, title: str | None = None) -> str:
        """Start a broadcast now (a new room_id and stream); returns the room_id."""
        self.manual = True
        return self._start(title)

    def go_offline(self, *, control: bool = True) -> None:
        """End the broadcast: ControlMessage action 3 then close (or just close, control=False)."""
        self.manual = True
        self._stop(control=control)

    def push(self, kind: str, **fields: Any) -> ScriptedEvent:
        """Send one event of row type ``kind`` to every push client now; fields override."""
        if self.script is None or not self.live:
            raise RuntimeError(f"room {self.web_rid} is not live")
        event = self.script.make_event(kind, **fields)
        for session in list(self.sessions):
            session.offer((event,))
        return event

    async def flood(self, count: int, *, batch: int = 100) -> int:
        """Send ``count`` events of every type but control as fast as clients take them."""
        if self.script is None or not self.live:
            raise RuntimeError(f"room {self.web_rid} is not live")
        sent = 0
        now_ms = int(time.time() * 1000)
        while sent < count:
            events = self.script.burst(FLOOD_KINDS, min(batch, count - sent), now_ms)
            for session in list(self.sessions):
                await session.send(events)
            sent += len(events)
        return sent

    def inject(
        self,
        kind: str,
        *,
        duration: float | None = None,
        count: int | None = None,
        status: int = 503,
        retry_after: int = 5,
    ) -> None:
        """Inject a fault now; ``duration`` is in scenario seconds (see scenario.FAULT_KINDS)."""
        self.apply_fault(FaultSpec(kind, None, duration, count, status, retry_after))

    def apply_fault(self, fault: FaultSpec) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}")
        now = time.monotonic()
        wall = self.scenario.wall(fault.duration) if fault.duration is not None else None
        kind = fault.kind
        if kind in REQUEST_FAULTS:
            remaining = fault.count if fault.count is not None else (None if wall else 1)
            self.faults.append(ActiveFault(fault, now + wall if wall else None, remaining))
        elif kind == "ws_drop":
            for session in list(self.sessions):
                session.drop("ws_drop")
        elif kind == "stream_cut":
            self._cut_media()
        elif kind == "url_expire":
            self.url_epoch += 1
            self._cut_media()
        elif kind == "stream_stall":
            self.stall_until = now + (wall if wall is not None else 5.0)
        elif kind == "resolution_change":
            if self.live:
                loop = self.media_ms() // CLIP_MS + 1
                self.variant_changes.append((loop, 1 - self.variant_for_loop(loop)))
                self.push("stream_adaptation")
        elif kind == "stream_end_without_control":
            self._stop(control=False)

    # ------------------------------------------------------------ server side

    def take_fault(self, kinds: tuple[str, ...]) -> FaultSpec | None:
        """The request fault that applies to this request, consuming one count."""
        now = time.monotonic()
        for active in list(self.faults):
            if active.until is not None and now >= active.until:
                self.faults.remove(active)
                continue
            if active.spec.kind not in kinds:
                continue
            if active.remaining is not None:
                active.remaining -= 1
                if active.remaining <= 0:
                    self.faults.remove(active)
            return active.spec
        return None

    def stalled(self) -> bool:
        return time.monotonic() < self.stall_until

    def stall_remaining(self) -> float:
        return max(0.0, self.stall_until - time.monotonic())

    def media_ms(self) -> int:
        return int((time.monotonic() - self.live_since) * 1000) + PREROLL_MS

    def media_origin(self) -> float:
        """The monotonic time of media timestamp 0."""
        return self.live_since - PREROLL_MS / 1000

    def variant_for_loop(self, loop: int) -> int:
        variant = 0
        for start, value in self.variant_changes:
            if start <= loop:
                variant = value
        return variant

    def size_for(self, quality: str, loop: int) -> tuple[int, int]:
        q = QUALITY_BY_KEY[quality]
        if self.variant_for_loop(loop):
            return q.height, q.width
        return q.width, q.height

    def view(self) -> RoomView:
        script = self.script
        return RoomView(
            web_rid=self.web_rid,
            uid=self.uid,
            sec_uid=self.sec_uid,
            nickname=self.nickname,
            title=self.title,
            live=self.live,
            room_id=self.room_id,
            stream_id=self.stream_id,
            viewers=script.viewers if script else 0,
            total_users=script.total_users if script else 0,
            now_ms=int(time.time() * 1000),
            ended_style=self.spec.ended_style,
            links=self._links(self) if self.live else {},
            session_id=self.session_id,
            create_time=self.created_at,
            finish_time=self.finished_at,
            modes=frozenset(self.modes),
        )

    # ------------------------------------------------------------ lifecycle

    def _start(self, title: str | None) -> str:
        if self.live:
            return self.room_id
        self.live_sessions += 1
        self.room_id = str(next(self._room_ids))
        self.stream_id = str(self._rng.randrange(10**17, 10**18))
        self.session_id = f"037-{time.strftime('%Y%m%d%H%M%S')}{self._rng.randrange(16**20):020X}"
        self.title = title or self.spec.title
        self.live_since = time.monotonic()
        self.created_at = int(time.time())
        self.finished_at = 0
        self.variant_changes = [(0, 0)]
        self.stall_until = 0.0
        self.script = EventScript(
            room_id=int(self.room_id),
            anchor=self.anchor,
            rates=self.spec.rates,
            seed=self._rng.randrange(2**32),
            msg_ids=self._msg_ids,
            kinds=self.kinds,
        )
        self.live = True
        return self.room_id

    def _stop(self, *, control: bool) -> None:
        if not self.live:
            return
        self.live = False
        self.finished_at = int(time.time())
        control_event = (
            self.script.make_event("control") if control and self.script is not None else None
        )
        for session in list(self.sessions):
            if control_event is not None:
                session.end("stream_ended", control=control_event)
            else:
                session.drop("stream_end_without_control")
        self._cut_media(clean=True)

    def _cut_media(self, *, clean: bool = False) -> None:
        for scope in list(self.media_scopes):
            scope.cancel()
        if clean:
            self.media_scopes.clear()

    async def run(self) -> None:
        """The room's background work: schedule, timed faults, event pump."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._play_schedule)
            for fault in self.spec.faults:
                tg.start_soon(self._fire_at, fault)
            await self._pump()

    async def _play_schedule(self) -> None:
        for step in self.spec.schedule:
            if self.manual:
                return
            if step.state == "live":
                self._start(None)
            else:
                self._stop(control=True)
            if step.duration is None:
                return
            await anyio.sleep(self.scenario.wall(step.duration))

    async def _fire_at(self, fault: FaultSpec) -> None:
        await anyio.sleep(self.scenario.wall(fault.at or 0.0))
        self.apply_fault(fault)

    async def _pump(self) -> None:
        last = time.monotonic()
        credit = 0.0
        sample: tuple[ScriptedEvent, ...] = ()
        sample_of: EventScript | None = None
        templates = self.scenario.pump == "templates"
        while True:
            await anyio.sleep(PUMP_TICK)
            now = time.monotonic()
            elapsed, last = now - last, now
            script = self.script
            if not self.live or script is None or not self.sessions or not script.rates:
                continue
            if not templates:
                events = script.due(elapsed)
                if events:
                    for session in list(self.sessions):
                        session.offer(events)
                continue
            if sample_of is not script:  # a new live session: a new sample of its mix
                total = sum(script.rates.values())
                sample = tuple(script.due(TEMPLATE_SAMPLE / total)) if total > 0 else ()
                sample_of, credit = script, 0.0
            if not sample:
                continue
            credit += sum(script.rates.values()) * elapsed
            count = int(credit)
            credit -= count
            while count > 0:
                chunk = min(count, BULK_FRAME_MAX)
                for session in list(self.sessions):
                    session.offer_bulk(sample, chunk)
                count -= chunk


def seconds_or_inf(value: float) -> float:
    return value if value > 0 else math.inf
