"""Push frames from pre-encoded messages: the load generator's cheap path (``pump = "templates"``).

A room whose scenario says ``pump = "templates"`` does not encode every event it pushes: once per
push connection, a sample of the room's scripted events (the rates' mix) is encoded with the
personality's own encoder (``Framing.encode_event``, generated protobuf classes) into one
``Response`` holding that single ``Message``, with placeholder values for the msg_id and the
event time. Each pushed event is then that template's bytes with only the msg_id (9 bytes) and
the time (6 bytes in milliseconds, 5 in seconds) patched in place, the same varint lengths as
the placeholders; a frame is many such templates concatenated (a repeated field's serialized
entries concatenate: protobuf's merge rule) plus the frame's envelope fields, gzip'd, in a
``PushFrame``, exactly as ``Framing.encode_frame`` would have built it from the same events
(a test compares the two byte for byte).

**msg_id carries its send time**: ``msg_id >> MSG_ID_SHIFT`` is the frame's send time in Unix
milliseconds (the low bits a process-wide counter), so a benchmark in another process reads the
latency from the stored row alone. No per-event record is kept (``SentEvent``): the connection
and the observations count events sent instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dylived.sim.framing import FrameContext, Framing
from dylived.sim.script import ScriptedEvent


MSG_ID_SHIFT = 20
_COUNTER_MASK = (1 << MSG_ID_SHIFT) - 1
# Placeholders with the varint lengths of every value they stand for (msg_id: [2**56, 2**63),
# 9 bytes; milliseconds: [2**35, 2**42), 6 bytes, until 2109; seconds: [2**28, 2**35), 5 bytes).
PLACEHOLDER_MSG_ID = 0x5B6A79887766554
PLACEHOLDER_MS = 3_987_654_321_987
PLACEHOLDER_S = PLACEHOLDER_MS // 1000
GZIP_LEVEL = 1  # the daemon inflates any level at the same cost; 1 keeps the simulator cheap
_counter = itertools.count()


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative int."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SLOTS = {
    "msg_id": varint(PLACEHOLDER_MSG_ID),
    "ms": varint(PLACEHOLDER_MS),
    "s": varint(PLACEHOLDER_S),
}
assert [len(v) for v in _SLOTS.values()] == [9, 6, 5]


def next_msg_id(now_ms: int) -> int:
    """A msg_id whose high bits are ``now_ms`` (unique within the process for 2**20 per ms)."""
    return (now_ms << MSG_ID_SHIFT) | (next(_counter) & _COUNTER_MASK)


def sent_ms(msg_id: int) -> int:
    """The send time (Unix ms) a templated msg_id carries."""
    return msg_id >> MSG_ID_SHIFT


@dataclass(frozen=True, slots=True)
class _Template:
    pieces: tuple[bytes, ...]  # the literal bytes around the slots
    slots: tuple[str, ...]  # "msg_id" | "ms" | "s", len(pieces) - 1 of them


def _split(data: bytes) -> _Template:
    pieces: list[bytes] = []
    slots: list[str] = []
    start = 0
    while True:
        found = [(data.find(v, start), k) for k, v in _SLOTS.items()]
        found = [(at, k) for at, k in found if at >= 0]
        if not found:
            break
        at, kind = min(found)
        pieces.append(data[start:at])
        slots.append(kind)
        start = at + len(_SLOTS[kind])
    pieces.append(data[start:])
    return _Template(tuple(pieces), tuple(slots))


class FrameTemplates:
    """A sample of events pre-encoded once; ``frame`` builds PushFrames of ``count`` events."""

    def __init__(self, framing: Framing, sample: Sequence[ScriptedEvent]) -> None:
        if type(framing).encode_frame is not Framing.encode_frame:
            raise ValueError("template frames need the shared PushFrame framing")
        if not sample:
            raise ValueError("template frames need a sample of events")
        self.framing = framing
        schema = framing.schema
        self._templates: list[_Template] = []
        for event in sample:
            placeholder = replace(event, msg_id=PLACEHOLDER_MSG_ID, create_time_ms=PLACEHOLDER_MS)
            message = schema.message(
                method=event.method,
                payload=framing.encode_event(placeholder),
                msg_id=PLACEHOLDER_MSG_ID,
            )
            data = bytes(schema.response(messages_list=[message]).SerializeToString())
            self._templates.append(_split(data))
        self._next = 0

    def messages(self, count: int, now_ms: int) -> tuple[bytes, list[int]]:
        """``count`` serialized ``Response.messages_list`` entries (the sample in turn) and
        their msg_ids."""
        assert 2**35 <= now_ms < 2**42
        ms, s = varint(now_ms), varint(now_ms // 1000)
        templates, n = self._templates, len(self._templates)
        index = self._next
        parts: list[bytes] = []
        ids: list[int] = []
        for _ in range(count):
            template = templates[index]
            index = index + 1 if index + 1 < n else 0
            msg_id = next_msg_id(now_ms)
            ids.append(msg_id)
            mid = varint(msg_id)
            pieces = template.pieces
            parts.append(pieces[0])
            for slot, piece in zip(template.slots, pieces[1:], strict=True):
                parts.append(mid if slot == "msg_id" else ms if slot == "ms" else s)
                parts.append(piece)
        self._next = index
        return b"".join(parts), ids

    def frame(self, count: int, ctx: FrameContext) -> tuple[bytes, list[int]]:
        """One complete server→client binary message of ``count`` events, and their msg_ids."""
        messages, ids = self.messages(count, ctx.now_ms)
        return self.framing.wrap(messages, ctx, compresslevel=GZIP_LEVEL), ids
