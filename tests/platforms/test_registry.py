"""The platform seam: the registry, and no module outside platforms/ and sim/ imports a platform
or names one in its code."""

from __future__ import annotations

import ast
from pathlib import Path

import anyio
import pytest

from dylived.config.load import loads_config
from dylived.model import LiveStatus
from dylived.net.http import HttpClient
from dylived.platforms import registry
from tests.conftest import REPO_ROOT


PACKAGE = REPO_ROOT / "dylived"
# A platform's own package and the simulator's personalities may name it; nothing else may.
ALLOWED = (PACKAGE / "platforms", PACKAGE / "sim")


def _outside_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if not any(p.is_relative_to(a) for a in ALLOWED))


def test_no_module_outside_platforms_and_sim_imports_a_platform_package() -> None:
    offenders = []
    for path in _outside_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                seam = parts[:2] == ["dylived", "platforms"] and len(parts) > 2
                if seam and parts[2] not in ("base", "registry"):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}: {name}")
    assert _outside_modules()  # the walk saw the daemon's modules
    assert offenders == []


def _documentation(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are documentation: a statement of its own (module,
    class and function docstrings, and the strings documenting an attribute)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _names_in_code(source: str, word: str) -> list[str]:
    """Every identifier, attribute, argument, import and string of ``source`` that contains
    ``word`` (any case), outside documentation; comments are not in the syntax tree."""
    tree = ast.parse(source)
    docs = _documentation(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in docs:
            continue
        for field, value in ast.iter_fields(node):
            values = value if isinstance(value, list) else [value]
            for text in (v for v in values if isinstance(v, str)):
                if word in text.lower():
                    found.append(f"line {getattr(node, 'lineno', '?')}: {field} {text!r}")
    return found


def test_the_name_check_sees_code_and_skips_documentation() -> None:
    source = (
        '"""Douyin in the module docstring."""\n'
        "import dylived.platforms.douyin as d  # douyin in a comment\n"
        "def f(douyin_arg: int) -> str:\n"
        '    """Douyin in a docstring."""\n'
        '    return f"{douyin_arg} on DOUYIN" + d.douyin_name\n'
        'X = "tiktok"\n'
        '"""Douyin documenting X."""\n'
    )
    found = _names_in_code(source, "douyin")
    assert sorted(found) == [
        "line 2: name 'dylived.platforms.douyin'",
        "line 3: arg 'douyin_arg'",
        "line 5: attr 'douyin_name'",
        "line 5: id 'douyin_arg'",
        "line 5: value ' on DOUYIN'",
    ]


def test_no_module_outside_platforms_and_sim_names_a_platform_in_code() -> None:
    offenders = {}
    for path in _outside_modules():
        for name in registry.names():
            found = _names_in_code(path.read_text(encoding="utf-8"), name)
            if found:
                offenders[f"{path.relative_to(REPO_ROOT)} ({name})"] = found
    assert offenders == {}


@pytest.mark.parametrize(
    ("target", "platform"),
    [
        ("https://live.douyin.com/261378947940", "douyin"),
        ("https://v.douyin.com/iRNBho6u/", "douyin"),
        ("www.douyin.com/user/MS4wLjABAAAAOMC6z5OYdk5GziCLRHbsYCyNKkCZ9a", "douyin"),
        ("261378947940", "douyin"),
        ("uid:123456", "douyin"),
        ("看直播 https://v.douyin.com/iRNBho6u/ 复制此链接", "douyin"),
        ("https://www.tiktok.com/@someone/live", "tiktok"),
        ("@some.one", "tiktok"),
        ("7300000000000000001", "douyin"),  # a bare number: Douyin's unless platform = says
        ("https://example.com/261378947940", None),
        ("two words", None),
    ],
)
def test_platform_of_a_target_is_the_platform_that_claims_its_form(
    target: str, platform: str | None
) -> None:
    assert registry.platform_of(target) == platform


def test_unknown_platform_names_the_known_ones() -> None:
    assert registry.names() == ("douyin", "tiktok")
    assert registry.DEFAULT == "douyin"
    assert registry.known() == ("douyin", "tiktok")
    assert registry.planned_of("https://www.tiktok.com/@someone/live") is None  # none planned
    with pytest.raises(ValueError, match="unknown platform 'myspace' \\(known: douyin, tiktok\\)"):
        registry.get("myspace")


def test_the_spec_makes_a_platform_whose_event_source_reads_the_section() -> None:
    config = loads_config(
        '[douyin]\nws_hosts = ["ws://127.0.0.1:9"]\nweb_base = "http://127.0.0.1:8"\n'
    )
    spec = registry.get("douyin")
    assert type(config.section("douyin")) is spec.section
    assert spec.section().ws_hosts != ("ws://127.0.0.1:9",)  # the file's value, not a default

    async def main() -> None:
        async with HttpClient(user_agent="UA", timeout=1.0) as http:
            platform = spec.create(http, config.section("douyin"), None)
            assert platform.name == "douyin"
            assert dict(platform.media_headers())["Referer"] == "http://127.0.0.1:8/"
            source = platform.event_source(config.section("douyin"))
            assert source.hosts == ("ws://127.0.0.1:9",)
            status = LiveStatus(live=True, room_id="7300000000000000001", handle="1")
            row = source.room_info_row(status, raw_url="1", received_at_ms=5)
            assert (row["type"], row["web_rid"], row["room_id"]) == (
                "room_info",
                "1",
                "7300000000000000001",
            )

    anyio.run(main)
