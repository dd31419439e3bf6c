"""``partyfuse --ls`` against the in-memory transport: output shape, exact sizes, errors."""

from __future__ import annotations

import io
import json

from fakes.memory import MemoryTransport
from partyfuse.core.errors import Forbidden, Transient
from partyfuse.lscmd import json_line, run_ls
from tests.support.names import raw_name

BAD_RAW = b"bad\xff.bin"


def ls(t: MemoryTransport, recursive: bool = False) -> tuple[int, list[dict[str, object]], str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run_ls(t, recursive=recursive, out=out, err=err)
    return rc, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def tree() -> MemoryTransport:
    bad = raw_name(BAD_RAW)
    return MemoryTransport(
        {"a.txt": b"hello", "sub dir/inner.txt": b"12345678", f"sub dir/{bad}": b"x" * 3},
        dirs=["empty"],
        mtimes={"a.txt": 1700000000.0},
        unknown_sizes=["a.txt", f"sub dir/{bad}"],
    )


def test_ls_prints_one_json_object_per_entry_with_exact_sizes() -> None:
    t = tree()
    rc, rows, err = ls(t)
    assert rc == 0 and err == ""
    assert rows == [
        {"path": "a.txt", "type": "file", "size": 5, "mtime": 1700000000.0},
        {"path": "empty", "type": "dir", "size": 0, "mtime": 1600000000.0},
        {"path": "sub dir", "type": "dir", "size": 0, "mtime": 1600000000.0},
    ]
    # a.txt's listing gave no size: it was probed, once.
    assert [r.path for r in t.requests("probe")] == ["a.txt"]


def test_ls_recursive_walks_depth_first_and_keeps_undecodable_bytes() -> None:
    rc, rows, _ = ls(tree(), recursive=True)
    assert rc == 0
    assert [r["path"] for r in rows] == [
        "a.txt",
        "empty",
        "sub dir",
        f"sub dir/{raw_name(BAD_RAW)}",
        "sub dir/inner.txt",
    ]
    bad = rows[3]
    assert isinstance(bad["path"], str)
    assert bad["path"].encode("utf-8", "surrogateescape") == b"sub dir/bad\xff.bin"
    assert bad["size"] == 3


def test_json_line_is_valid_utf8_json_even_for_undecodable_names() -> None:
    bad = raw_name(BAD_RAW)
    line = json_line({"path": bad + "/é😀"})
    assert line.encode("utf-8")  # no lone surrogate reaches the stream
    assert "\\udcff" in line and "é😀" in line
    assert json.loads(line)["path"] == bad + "/é😀"


def test_ls_of_an_unreachable_server_is_one_line_and_status_1() -> None:
    t = tree()
    t.fail(Transient("connection refused"), kind="list", times=10)
    rc, rows, err = ls(t)
    assert rc == 1 and rows == []
    assert err.count("\n") == 1 and "connection refused" in err


def test_ls_reports_a_forbidden_subdirectory_and_lists_the_rest() -> None:
    t = tree()
    t.fail(Forbidden("403 Forbidden"), kind="list", path="sub dir", times=10)
    rc, rows, err = ls(t, recursive=True)
    assert rc == 1
    assert [r["path"] for r in rows] == ["a.txt", "empty", "sub dir"]
    assert "sub dir" in err and "403" in err and err.count("\n") == 1


class _ClosedPipe(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_ls_into_a_closed_pipe_stops_quietly() -> None:
    err = io.StringIO()
    assert run_ls(tree(), recursive=True, out=_ClosedPipe(), err=err) == 0
    assert err.getvalue() == ""
