"""scripts/linkemu.py, the link emulator, with real sockets on 127.0.0.1.

Timing is only ever bounded from below (a link can be slower on a loaded machine,
never faster): a request/answer takes at least the round trip, two streams together
take at least their bytes over the shared rate (less a generous margin).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from linkemu import PROFILES, LinkEmulator, LinkSpec, spec_for  # noqa: E402

from tests.support.raw_servers import SocketServer  # noqa: E402

MiB = 1 << 20


def _recv_all(s: socket.socket) -> bytes:
    out = bytearray()
    while chunk := s.recv(1 << 16):
        out += chunk
    return bytes(out)


def backend(handler: Callable[[socket.socket], None]) -> SocketServer:
    """A threaded TCP server on 127.0.0.1 running ``handler(conn)`` per connection."""
    return SocketServer(lambda conn, _n: handler(conn))


@contextlib.contextmanager
def link(handler: Callable[[socket.socket], None], spec: LinkSpec) -> Iterator[int]:
    server = backend(handler)
    emu = LinkEmulator(spec, server.addr)
    try:
        yield emu.start()
    finally:
        emu.stop()
        server.stop()
    assert server.errors == []


def echo(conn: socket.socket) -> None:
    while data := conn.recv(1 << 16):
        conn.sendall(data)


def test_profiles_are_the_issue_links() -> None:
    assert spec_for("loopback") is None
    assert spec_for("lan") == LinkSpec(rtt_ms=1.0, mbit=1000.0)
    assert spec_for("wan") == LinkSpec(rtt_ms=30.0, mbit=100.0)
    assert set(PROFILES) == {"lan", "wan"}
    with pytest.raises(ValueError, match="unknown link profile 'moon'"):
        spec_for("moon")


def test_a_request_and_its_answer_take_at_least_one_round_trip() -> None:
    spec = LinkSpec(rtt_ms=40.0, mbit=1000.0)
    with link(echo, spec) as port, socket.create_connection(("127.0.0.1", port)) as s:
        t0 = time.perf_counter()
        s.sendall(b"ping")
        assert s.recv(16) == b"ping"
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        s.sendall(b"pong")
        assert s.recv(16) == b"pong"
        second = time.perf_counter() - t0
    # a fresh connection also pays the handshake: two round trips before the answer
    assert first >= 2 * 0.040 * 0.95
    assert second >= 0.040 * 0.95


def test_bytes_are_exact_both_ways() -> None:
    payload = random.Random(7).randbytes(3 * MiB + 17)
    spec = LinkSpec(rtt_ms=2.0, mbit=2000.0)
    with link(echo, spec) as port, socket.create_connection(("127.0.0.1", port)) as s:
        sender = threading.Thread(
            target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)), daemon=True
        )
        sender.start()
        got = _recv_all(s)  # the backend's echo ends when our half-close reaches it
        sender.join(10)
    assert got == payload


def test_two_connections_share_one_downstream_rate() -> None:
    size = MiB

    def download(conn: socket.socket) -> None:
        conn.recv(16)
        conn.sendall(b"z" * size)

    spec = LinkSpec(rtt_ms=2.0, mbit=20.0)  # 2.5 MB/s shared
    got: list[int] = []
    with link(download, spec) as port:

        def fetch() -> None:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"go")
                got.append(len(_recv_all(s)))

        threads = [threading.Thread(target=fetch) for _ in range(2)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        elapsed = time.perf_counter() - t0
    assert got == [size, size]
    # 2 MiB over 2.5 MB/s is 0.84 s; separate pipes would take half that
    assert elapsed >= 2 * size / spec.bytes_per_s * 0.8


def test_half_close_reaches_the_server_and_the_answer_still_comes_back() -> None:
    seen_eof = threading.Event()

    def upper_after_eof(conn: socket.socket) -> None:
        data = _recv_all(conn)  # returns only once the client's FIN came through
        seen_eof.set()
        conn.sendall(data.upper())

    with (
        link(upper_after_eof, LinkSpec(rtt_ms=4.0, mbit=100.0)) as port,
        socket.create_connection(("127.0.0.1", port)) as s,
    ):
        s.sendall(b"hello")
        s.shutdown(socket.SHUT_WR)
        assert _recv_all(s) == b"HELLO"  # then EOF: the server's close came through
    assert seen_eof.is_set()


def test_server_close_ends_the_client_stream_after_the_last_byte() -> None:
    def say_and_close(conn: socket.socket) -> None:
        conn.sendall(b"bye" * 1000)

    with (
        link(say_and_close, LinkSpec(rtt_ms=4.0, mbit=100.0)) as port,
        socket.create_connection(("127.0.0.1", port)) as s,
    ):
        s.settimeout(10)
        assert _recv_all(s) == b"bye" * 1000


def test_a_refused_backend_closes_the_client_connection() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead = free.getsockname()
    emu = LinkEmulator(LinkSpec(rtt_ms=1.0, mbit=100.0), dead)
    port = emu.start()
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(10)
            with contextlib.suppress(ConnectionResetError):
                assert s.recv(16) == b""
    finally:
        emu.stop()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
def test_stop_leaves_no_thread_and_no_socket_even_with_open_connections() -> None:
    def hold(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(1 << 16):
                pass

    server = backend(hold)
    threads0, fds0 = threading.active_count(), _fds()
    emu = LinkEmulator(LinkSpec(rtt_ms=2.0, mbit=100.0), server.addr)
    port = emu.start()
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    for c in clients:
        c.sendall(b"x" * 1000)
    time.sleep(0.05)
    emu.stop()
    for c in clients:
        c.settimeout(10)
        with contextlib.suppress(ConnectionResetError):
            assert _recv_all(c) == b""  # the emulator closed its end
        c.close()
    server.stop()
    assert threading.active_count() == threads0 - 1  # the backend's accept thread is gone too
    assert _fds() == fds0 - 1  # ... and its listening socket
    assert emu.stats()["open_connections"] == 0


def _start_process(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "linkemu.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("PORT "):
            return proc, int(line.split()[1])
    proc.wait(10)
    raise AssertionError(f"linkemu did not start: {proc.stderr.read() if proc.stderr else ''}")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be caught on Windows")
def test_process_serves_until_sigterm_then_reports_bytes_and_frees_the_port() -> None:
    server = backend(echo)
    proc, port = _start_process(
        "--target", f"127.0.0.1:{server.port}", "--rtt-ms", "2", "--mbit", "100"
    )
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"abc" * 100)
            got = b""
            while len(got) < 300:
                got += s.recv(1024)
        assert got == b"abc" * 100
        os.kill(proc.pid, signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.stop()
    assert proc.returncode == 0
    stats = json.loads(err.strip().splitlines()[-1])
    assert stats["up_bytes"] == 300 and stats["down_bytes"] == 300
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "example.com:80", "--profile", "wan"], "target must be 127.0.0.1:PORT"),
        (["--target", "127.0.0.1:1"], "give --profile, or both --rtt-ms and --mbit"),
        (["--target", "127.0.0.1:1", "--profile", "moon"], "invalid choice: 'moon'"),
        (["--target", "127.0.0.1:1", "--rtt-ms", "5", "--mbit", "0"], "--mbit > 0"),
    ],
)
def test_bad_arguments_get_one_clear_line(args: list[str], message: str) -> None:
    r = subprocess.run(
        [sys.executable, str(SCRIPTS / "linkemu.py"), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
