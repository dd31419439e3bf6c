"""What the transport logs: a -d debug line per exchange worth reading, and no
chatter at INFO that would sit above a mount's one error line."""

from __future__ import annotations

import logging
import re

from fakes.tree import Tree, patterned
from tests.support.transports import transport

LOGGER = "partyfuse.http"


def test_each_get_logs_range_status_bytes_and_time(real_server, caplog):
    tree = Tree()
    data = patterned(100_000, seed=5)
    tree.add_file("f.bin", data)
    server = real_server("nginx", tree, variant="json")
    t = transport(server.url("/"))
    (e,) = t.list_dir("")
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert t.read_range("f.bin", 1000, 3000, e) == data[1000:3000]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("GET ")]
    assert len(lines) == 1, lines
    line = lines[0]
    assert server.url("/f.bin") in line
    assert "bytes=1000-2999" in line
    assert re.search(r"\b206\b", line) and re.search(r"\b2000 bytes\b", line)
    assert re.search(r"\b\d+ ms\b", line)
    assert "\n" not in line


def test_listing_get_logs_status_and_bytes_without_a_range(real_server, caplog):
    tree = Tree()
    tree.add_file("a.txt", b"a\n")
    server = real_server("nginx", tree, variant="json")
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    transport(server.url("/")).list_dir("")
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("GET ")]
    assert re.search(r"\b200\b", line) and re.search(r"\b[1-9]\d* bytes\b", line)
    assert "Range" not in line and "bytes=" not in line


def test_server_dialect_is_not_said_at_info(real_server, caplog):
    tree = Tree()
    tree.add_file("a.txt", b"a\n")
    server = real_server("python", tree)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    transport(server.url("/")).check()
    said = [r for r in caplog.records if "looks like" in r.getMessage()]
    assert said and all(r.levelno == logging.DEBUG for r in said)
