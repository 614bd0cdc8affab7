"""The stored JSON text (store/statements.py ``dumps``): msgspec's text is json.dumps' text.

Rows are compared byte for byte with ``json.dumps(row, ensure_ascii=False, separators=(",",
":"))`` (what was stored before): every event type the Douyin codec builds from the simulator's
frames, and any JSON value without floats; with floats, the same numbers to a JSON reader.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

from hypothesis import given, strategies as st

from dylived.model import EVENT_TYPES, LiveStatus
from dylived.platforms.douyin.push import CODEC
from dylived.sim.douyin.messages import FRAMING
from dylived.sim.framing import FrameContext
from dylived.sim.script import EventScript, SimUser
from dylived.store.statements import dumps


def old_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_every_event_row_is_stored_as_before() -> None:
    script = EventScript(
        room_id=7300000000000000001,
        anchor=SimUser(7, 7, '主播\u2028"q"\\', "MS4wLjABAAAAx", "200000000001"),
        rates={},
        seed=3,
        msg_ids=itertools.count(7390000000000000001),
    )
    events = [script.make_event(kind) for kind in EVENT_TYPES for _ in range(5)]
    events.append(script.make_event("chat", content='控制\x00\x1f\t\n"\\ 🎵 \u2029 \x7f'))
    frame = FRAMING.encode_frame(events, FrameContext(7300000000000000001, 1, 5, 1796197341384))
    session = CODEC.new_session()
    session.receive_data(frame)
    status = LiveStatus(live=True, handle="200000000001")
    rows = [
        CODEC.event_row(e, status, received_at_ms=1796197341400, stream_offset_s=12.25)
        for e in session.events_received()
    ]
    assert {row["type"] for row in rows} == set(EVENT_TYPES)
    for row in rows:
        assert dumps(row) == old_dumps(row)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_value_without_floats_is_the_same_text(value: Any) -> None:
    assert dumps(value) == old_dumps(value)


def test_what_msgspec_refuses_goes_through_json_dumps() -> None:
    value = {"nickname": "a\ud800b", "n": 2**70}  # a lone surrogate: msgspec raises
    assert dumps(value) == old_dumps(value)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=8))
def test_floats_are_the_same_numbers(values: list[float]) -> None:
    text = dumps({"v": values})
    assert json.loads(text) == json.loads(old_dumps({"v": values}))
    assert all(
        math.copysign(1, a) == math.copysign(1, b)
        for a, b in zip(json.loads(text)["v"], values, strict=True)
    )
