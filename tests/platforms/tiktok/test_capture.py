"""Every real TikTok payload of tiktok-events-2023.jsonl decodes to a row with the values that
PROVENANCE.md says were decoded from its bytes (skipped when the capture is absent)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from dylived.platforms.tiktok.decode import KNOWN_METHODS, decode_message
from dylived.platforms.tiktok.streaks import GiftStreaks
from tests.conftest import CAPTURES_DIR, capture_path


CAPTURE = "tiktok-events-2023.jsonl"

# the capture's key → the row's key, where the row uses the dataset's name
RENAMES: dict[str, dict[str, str]] = {
    "WebcastGiftMessage": {"diamond_count": "gift_diamond_count"},
    "WebcastSocialMessage": {"action": "action_code"},
    "WebcastRoomUserSeqMessage": {"viewer_count": "current_viewers", "total_user": "total_users"},
    "WebcastControlMessage": {"action": "status"},
    "WebcastLinkMicBattle": {"action": "action_code"},
    "WebcastGoalUpdateMessage": {"contributor_display_id": "contributor_handle"},
    "WebcastBarrageMessage": {"duration": "duration_ms"},
}
# present only on some lines; 0 (proto3's default) on the row when the line lacks it
ZERO_WHEN_ABSENT = {"follow_count", "share_count", "diamond_count", "people_count"}


def capture_lines() -> list[Any]:
    path = CAPTURES_DIR / CAPTURE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _matches(actual: Any, expected: Any) -> bool:
    """``expected`` is a projection of ``actual``: dicts compare on expected's keys only."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            _matches(actual.get(k), v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and bool(actual == expected)  # 1 is not True


def _row(line: dict[str, Any]) -> dict[str, Any]:
    return decode_message(line["method"], base64.b64decode(line["payload_b64"]))


def test_the_capture_holds_the_methods_provenance_lists() -> None:
    capture_path(CAPTURE)  # skips when absent
    lines = capture_lines()
    assert len(lines) == 48
    assert {line["method"] for line in lines} <= KNOWN_METHODS
    assert len({line["method"] for line in lines}) == 24


_ABSENT = pytest.param(None, marks=pytest.mark.skip(reason=f"{CAPTURE} absent"))


@pytest.mark.parametrize(
    "line",
    capture_lines() or [_ABSENT],
    ids=lambda line: f"{line['method']}-{line['expect']['msg_id']}" if line else "absent",
)
def test_real_payload_decodes_to_its_values(line: dict[str, Any]) -> None:
    assert_row_has_its_values(_row(line), line)


def assert_row_has_its_values(row: dict[str, Any], line: dict[str, Any]) -> None:
    """``row`` (what the decoder made of ``line``'s payload) carries every value the line
    records, under the row's names (also used by the ``dylived decode`` tests)."""
    expect = dict(line["expect"])
    method = line["method"]
    assert row["platform"] == "tiktok"
    assert row["type"] not in ("unknown", "undecodable")
    assert row["server_time_ms"] == expect.pop("create_time", None)
    assert row["display_key"] == expect.pop("display_key", None)
    for key in ZERO_WHEN_ABSENT - expect.keys():
        if key in row:
            assert row[key] == 0, key
    if method == "WebcastLinkMicArmies":  # a map on the wire: the row is sorted by anchor id
        expect["scores"] = sorted(expect["scores"], key=lambda s: int(s["anchor_id"]))
    renames: dict[str, str] = RENAMES.get(method, {})
    for key, value in expect.items():
        name = renames.get(key) or key
        assert _matches(row[name], value), (name, row[name], value)


def test_real_gift_streak_closer_is_kept_and_a_mid_streak_row_is_held() -> None:
    capture_path(CAPTURE)  # skips when absent
    gifts = [_row(line) for line in capture_lines() if line["method"] == "WebcastGiftMessage"]
    mid, closer = sorted(gifts, key=lambda r: r["repeat_end"])
    assert (mid["streakable"], mid["repeat_end"], mid["streak_final"]) == (True, 0, False)
    assert (closer["repeat_end"], closer["streak_final"], closer["diamond_total"]) == (1, True, 1)
    streaks = GiftStreaks()
    assert streaks.feed(mid) == []  # a different gift (5827) from the closer (7096): held
    kept = streaks.feed(closer)
    assert [r["msg_id"] for r in kept] == [closer["msg_id"]]
    assert [r["gift_name"] for r in streaks.flush()] == ["Ice Cream Cone"]
