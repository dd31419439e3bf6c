"""Logging flags: -q, -d, --slowterm, --logf, and passwords never in logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from partyfuse import logsetup
from tests.support.wait import wait_for

log = logging.getLogger("partyfuse.test")


@pytest.fixture
def setup() -> Iterator[Callable[..., logsetup.LogSetup]]:
    made: list[logsetup.LogSetup] = []

    def make(**kw: object) -> logsetup.LogSetup:
        s = logsetup.setup(**kw)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def emit_all() -> None:
    log.debug("dbg-line range 0-4096")
    log.info("info-line mounted")
    log.warning("warn-line")
    log.error("err-line")


def test_default_shows_mounts_and_errors_not_debug(setup: Callable[..., logsetup.LogSetup]) -> None:
    out = io.StringIO()
    setup(stream=out)
    emit_all()
    text = out.getvalue()
    assert "info-line" in text and "err-line" in text and "warn-line" in text
    assert "dbg-line" not in text


def test_quiet_shows_only_problems(setup: Callable[..., logsetup.LogSetup]) -> None:
    out = io.StringIO()
    setup(stream=out, quiet=True)
    emit_all()
    text = out.getvalue()
    assert "err-line" in text and "warn-line" in text
    assert "info-line" not in text and "dbg-line" not in text


def test_debug_shows_everything_with_thread(setup: Callable[..., logsetup.LogSetup]) -> None:
    out = io.StringIO()
    setup(stream=out, debug=True)
    emit_all()
    text = out.getvalue()
    assert "dbg-line range 0-4096" in text
    assert "[MainThread]" in text


def test_slowterm_batches_and_drops_old_lines(setup: Callable[..., logsetup.LogSetup]) -> None:
    out = io.StringIO()
    # the timer must not fire mid-flood (it would on a loaded machine): flush by hand
    s = setup(stream=out, slowterm=True, slowterm_interval=3600.0)
    handler = s.handlers[0]
    assert isinstance(handler, logsetup.RecentLinesHandler)
    for i in range(1000):
        log.info("flood %d", i)
    assert out.getvalue() == "", "nothing is written before the batch is flushed"
    handler.flush()
    text = out.getvalue()
    assert f"[{1000 - handler.keep} older log lines dropped]" in text
    assert "flood 0\n" not in text
    kept = [ln for ln in text.splitlines() if "flood" in ln]
    assert len(kept) == handler.keep
    assert kept[0].endswith(f"flood {1000 - handler.keep}") and kept[-1].endswith("flood 999")
    handler.flush()
    assert out.getvalue() == text, "a flush writes each line once"


def test_slowterm_flushes_single_line_without_more_logging(
    setup: Callable[..., logsetup.LogSetup],
) -> None:
    out = io.StringIO()
    setup(stream=out, slowterm=True)
    log.info("lonely line")
    wait_for(lambda: "lonely line" in out.getvalue(), 5.0, "the slow terminal's flush")


def test_logf_writes_file_and_implies_slowterm(
    setup: Callable[..., logsetup.LogSetup], tmp_path: Path
) -> None:
    out = io.StringIO()
    f = tmp_path / "pf.log"
    s = setup(stream=out, logf=str(f))
    assert isinstance(s.handlers[0], logsetup.RecentLinesHandler)
    log.info("to-the-file")
    s.close()
    assert "to-the-file" in f.read_text()
    assert "to-the-file" in out.getvalue()


def test_passwords_never_appear(setup: Callable[..., logsetup.LogSetup], tmp_path: Path) -> None:
    out = io.StringIO()
    f = tmp_path / "pf.log"
    s = setup(stream=out, debug=True, logf=str(f), secrets=["hunter2"])
    s.redact.add("alice:s3cr3t")
    log.info("GET http://bob:pa55word@127.0.0.1:1/ with pw %s", "hunter2")
    log.debug("header PW: %r", "alice:s3cr3t")
    try:
        raise ValueError("bad hunter2")
    except ValueError:
        log.exception("boom")
    s.close()
    for text in (out.getvalue(), f.read_text()):
        assert "hunter2" not in text
        assert "s3cr3t" not in text
        assert "pa55word" not in text
        assert "http://bob:***@127.0.0.1:1/" in text
        assert "ValueError: bad ***" in text


def test_close_gives_the_logger_back() -> None:
    root = logging.getLogger("partyfuse")
    before = (root.level, root.propagate, list(root.handlers))
    s = logsetup.setup(stream=io.StringIO(), debug=True)
    assert root.propagate is False and root.level == logging.DEBUG
    s.close()
    assert (root.level, root.propagate, list(root.handlers)) == before
