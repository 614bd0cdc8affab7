"""app/logs.py: the journald line format (in a real child process), plain lines, the adapter."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dylived.app.logs import (
    FOLD,
    broadcaster_logger,
    is_journal_stream,
    setup_logging,
    syslog_priority,
)
from tests.conftest import REPO_ROOT


ISO_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) "
)

CHILD = textwrap.dedent(
    """
    import logging
    from dylived.app.logs import broadcaster_logger, setup_logging

    setup_logging("debug")
    log = logging.getLogger("dylived.test")
    log.debug("debug %d", 7)
    log.info("hello %s", "世界")
    log.warning("two\\nlines")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("it failed")
    watch = broadcaster_logger("主播A", logger="dylived.watch")
    watch.info("checking")
    watch.room = "7630361251285076745"
    watch.info("went live: %s", "标题")
    """
)


def run_child(tmp_path: Path, journal_stream: str | None) -> list[str]:
    """Run CHILD with stderr on a file; JOURNAL_STREAM is that file's dev:ino unless given."""
    err_path = tmp_path / "stderr.txt"
    with err_path.open("wb") as err:
        st = os.fstat(err.fileno())
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        env["JOURNAL_STREAM"] = journal_stream or f"{st.st_dev}:{st.st_ino}"
        child = subprocess.run(
            [sys.executable, "-c", CHILD], stderr=err, env=env, cwd=REPO_ROOT, timeout=60
        )
    assert child.returncode == 0, err_path.read_text()
    return err_path.read_text(encoding="utf-8").splitlines()


def test_journald_lines_have_priority_prefixes_and_one_line_per_record(tmp_path: Path) -> None:
    lines = run_child(tmp_path, journal_stream=None)
    assert len(lines) == 6, lines
    assert lines[0] == "<7>dylived.test: debug 7"
    assert lines[1] == "<6>dylived.test: hello 世界"
    assert lines[2] == f"<4>dylived.test: two{FOLD}lines"
    assert lines[3].startswith(
        f"<3>dylived.test: it failed{FOLD}Traceback (most recent call last):"
    )
    assert lines[3].endswith(f"{FOLD}ZeroDivisionError: division by zero")
    assert lines[4] == "<6>dylived.watch: broadcaster=主播A room=- checking"
    assert (
        lines[5] == "<6>dylived.watch: broadcaster=主播A room=7630361251285076745 went live: 标题"
    )
    assert not any(ISO_LINE.match(line) for line in lines)


def test_a_journal_stream_of_another_file_means_plain_lines(tmp_path: Path) -> None:
    lines = run_child(tmp_path, journal_stream="1:2")
    assert len(lines) > 6  # the traceback keeps its own lines here
    assert ISO_LINE.match(lines[0])
    assert lines[0].endswith(" DEBUG dylived.test: debug 7")
    assert lines[1].endswith(" INFO dylived.test: hello 世界")
    assert any(line.startswith("ZeroDivisionError") for line in lines)
    assert lines[-1].endswith(
        " INFO dylived.watch: broadcaster=主播A room=7630361251285076745 went live: 标题"
    )
    assert not any(line.startswith("<") for line in lines)


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx")}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, lvl in chatty.items():
        logging.getLogger(name).setLevel(lvl)
    logging.captureWarnings(False)


@pytest.mark.usefixtures("restore_root")
def test_setup_logging_replaces_its_own_handler_and_filters_by_level() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("info", first, journal=True)
    setup_logging("WARNING", second, journal=True)
    log = logging.getLogger("dylived.unit")
    log.info("not shown")
    log.warning("shown")
    assert first.getvalue() == ""
    assert second.getvalue() == "<4>dylived.unit: shown\n"
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert sum(1 for h in ours if getattr(h, "stream", None) in (first, second)) == 1
    assert logging.getLogger("apscheduler").level == logging.WARNING


@pytest.mark.usefixtures("restore_root")
def test_debug_lets_library_loggers_speak() -> None:
    setup_logging("debug", io.StringIO(), journal=False)
    assert logging.getLogger("httpx").level == logging.NOTSET
    assert logging.getLogger().level == logging.DEBUG


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        setup_logging("loud", io.StringIO())


def test_journal_stream_detection(tmp_path: Path) -> None:
    assert not is_journal_stream(io.StringIO(), {"JOURNAL_STREAM": "1:2"})
    with (tmp_path / "out").open("w") as out:
        st = os.fstat(out.fileno())
        assert is_journal_stream(out, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not is_journal_stream(out, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not is_journal_stream(out, {})


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
        (logging.DEBUG, 7),
        (5, 7),
    ],
)
def test_syslog_priorities(level: int, priority: int) -> None:
    assert syslog_priority(level) == priority


def test_the_adapter_sets_record_fields(caplog: pytest.LogCaptureFixture) -> None:
    log = broadcaster_logger("k1", logger="dylived.adapter")
    with caplog.at_level(logging.INFO, logger="dylived.adapter"):
        log.info("a %s", "b", extra={"other": 1})
        log.room = "42"
        log.warning("c")
        log.room = None
        log.error("d")
    rooms = [(r.broadcaster, r.room, r.getMessage()) for r in caplog.records]  # type: ignore[attr-defined]
    assert rooms == [("k1", "-", "a b"), ("k1", "42", "c"), ("k1", "-", "d")]
    assert caplog.records[0].other == 1  # type: ignore[attr-defined]
