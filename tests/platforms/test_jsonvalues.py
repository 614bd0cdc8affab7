"""platforms/jsonvalues.py: the readers both status parsers share."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from dylived.platforms.jsonvalues import embedded_json, integer, mapping, text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        ("42", 42),
        (" -7 ", -7),
        ("٣", 3),
        ("²", None),
        ("--5", None),
        ("-", None),
        (True, None),
        (None, None),
        (1.5, None),
        ("1.5", None),
        ("", None),
    ],
)
def test_integer_reads_ints_and_decimal_strings_only(value: object, expected: int | None) -> None:
    assert integer(value) == expected


@given(st.text(max_size=6) | st.integers() | st.none() | st.booleans() | st.floats())
def test_integer_never_raises(value: object) -> None:
    result = integer(value)
    assert result is None or isinstance(result, int)


def test_text_mapping_and_embedded_json() -> None:
    assert [text(v) for v in (5, "a", "", True, None, 1.5)] == ["5", "a", None, None, None, None]
    assert mapping({"a": 1}) == {"a": 1}
    assert mapping([1]) == {}
    assert mapping(None) == {}
    assert embedded_json(json.dumps({"k": [1]})) == {"k": [1]}
    assert embedded_json({"k": 1}) == {"k": 1}
    assert embedded_json("{not json") == {} == embedded_json("[1]") == embedded_json(3)
