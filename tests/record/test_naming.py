"""File naming: the template, the time zone, and the sanitiser (property tests on a real FS)."""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dylived.errors import RecorderError
from dylived.record.naming import (
    DEFAULT_TEMPLATE,
    MAX_COMPONENT_BYTES,
    NamingFields,
    contain,
    render_relative,
    sanitize_component,
    segment_path,
    template_problems,
)


SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2024-03-01 23:30:05 UTC is already 2024-03-02 in Shanghai
START = datetime(2024, 3, 1, 23, 30, 5, tzinfo=UTC)


def test_default_template_renders_in_the_configured_zone(tmp_path: Path) -> None:
    fields = NamingFields("主播A", START, 7)
    assert render_relative(DEFAULT_TEMPLATE, fields, SHANGHAI) == PurePosixPath(
        "主播A/2024-03-02/主播A_20240302-073005_0007.ts"
    )
    assert render_relative(DEFAULT_TEMPLATE, fields, ZoneInfo("UTC")).parts[1] == "2024-03-01"
    path = segment_path(tmp_path, DEFAULT_TEMPLATE, fields, SHANGHAI)
    assert path == tmp_path.resolve() / "主播A" / "2024-03-02" / "主播A_20240302-073005_0007.ts"


def test_every_field_renders() -> None:
    template = "{room_id}/{quality}/{title}_{seq}.mkv"
    fields = NamingFields("b", START, 3, room_id="7300", title="晚安/直播", quality="origin")
    assert str(render_relative(template, fields, SHANGHAI)) == "7300/origin/晚安_直播_3.mkv"


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        render_relative(DEFAULT_TEMPLATE, NamingFields("b", datetime(2024, 1, 1), 0), SHANGHAI)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("nickname", "expected_first"),
    [
        ("../../etc", "_.._etc"),
        ("..", "_"),
        ("/etc/passwd", "_etc_passwd"),
        ("a\\b", "a_b"),
        ("-rf", "rf"),
        (".hidden", "hidden"),
        ("con", "_con"),
        ("LPT1.txt", "_LPT1.txt"),
        ("tab\tnew\nline\x00nul", "tab_new_line_nul"),
        ("\u202egnp.exe", "_gnp.exe"),
        ("   ", "_"),
        ("trailing. ", "trailing"),
        ('what?<>:"|*', "what_______"),
    ],
)
def test_hostile_nicknames_stay_one_component(
    tmp_path: Path, nickname: str, expected_first: str
) -> None:
    relative = render_relative(DEFAULT_TEMPLATE, NamingFields(nickname, START, 0), SHANGHAI)
    assert relative.parts[0] == expected_first
    assert len(relative.parts) == 3
    path = segment_path(tmp_path, DEFAULT_TEMPLATE, NamingFields(nickname, START, 0), SHANGHAI)
    assert path.is_relative_to(tmp_path.resolve())


def test_300_bytes_of_emoji_are_cut_on_a_character_and_keep_the_extension(tmp_path: Path) -> None:
    emoji = "😀" * 75  # 4 bytes each: 300 bytes
    name = sanitize_component(emoji + ".ts")
    assert len(name.encode()) <= MAX_COMPONENT_BYTES
    assert name.endswith(".ts")
    assert set(name[:-3]) == {"😀"}
    path = segment_path(
        tmp_path, "{title}_{seq:04d}.ts", NamingFields("b", START, 1, title=emoji), SHANGHAI
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")  # the file system accepts it
    assert path.name.endswith("_0001.ts")


def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "evil").symlink_to(outside)
    with pytest.raises(RecorderError, match="outside"):
        contain(root, PurePosixPath("evil/x.ts"))
    with pytest.raises(RecorderError):
        contain(root, PurePosixPath("."))


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("", "empty"),
        ("/abs/{seq}.ts", "relative"),
        ("{nick}/{seq}.ts", "unknown field {nick}"),
        ("{}/{seq}.ts", "positional"),
        ("{broadcaster}.ts", "needs {seq}"),
        ("../{seq}.ts", "'..'"),
        ("{seq:%Y}.ts", "does not render"),
        ("{seq", "cannot parse"),
    ],
)
def test_template_problems(template: str, problem: str) -> None:
    assert any(problem in p for p in template_problems(template))


def test_the_default_template_has_no_problems() -> None:
    assert template_problems(DEFAULT_TEMPLATE) == []


# ---------------------------------------------------------------- properties

hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["/", "\\", "\0", ".", "-", " ", "\n", "\u202e", "😀", "é", "\u0301"]),
    ),
    max_size=300,
)


@given(text=hostile_text, max_bytes=st.integers(min_value=8, max_value=255))
@settings(max_examples=400)
def test_sanitized_components_are_always_safe(text: str, max_bytes: int) -> None:
    name = sanitize_component(text, max_bytes)
    assert name not in ("", ".", "..")
    assert len(name.encode("utf-8")) <= max_bytes
    assert not any(c in name for c in "/\\\0")
    assert not any(unicodedata.category(c) == "Cc" for c in name)
    assert not name.startswith((".", "-", " "))
    assert not name.endswith((".", " "))
    assert sanitize_component(name, max_bytes) == name  # idempotent


@given(nickname=hostile_text, title=hostile_text, seq=st.integers(0, 10**6))
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_rendered_path_is_creatable_inside_the_directory(
    tmp_path: Path, nickname: str, title: str, seq: int
) -> None:
    template = "{broadcaster}/{date}/{title}_{start:%H%M%S}_{seq:04d}.ts"
    fields = NamingFields(nickname, START, seq, title=title)
    path = segment_path(tmp_path, template, fields, SHANGHAI)
    assert path.is_relative_to(tmp_path.resolve())
    assert len(path.relative_to(tmp_path.resolve()).parts) == 3
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")  # the supervisor's in-progress name fits too
    part.write_bytes(b"")
    os.replace(part, path)
    assert path.is_file()
