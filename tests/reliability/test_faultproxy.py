"""fakes/faultproxy.py against a plain server: each fault kind, seen by a plain
http.client, hits the exchange it was scheduled for -- on a kept-alive
connection as well as on a new one -- and is counted."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from fakes.faultproxy import Fault, FaultProxy, Schedule, Script
from tests.support.plain_server import DATA, PlainServer


@pytest.fixture
def upstream() -> Iterator[PlainServer]:
    server = PlainServer()
    yield server
    server.stop()


@pytest.fixture
def proxied(upstream: PlainServer) -> Iterator[Callable[..., FaultProxy]]:
    made: list[FaultProxy] = []

    def make(schedule: Schedule, **kw: float) -> FaultProxy:
        p = FaultProxy(("127.0.0.1", upstream.port), schedule, **kw).start()
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


def client(proxy: FaultProxy, timeout: float = 5.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout)


def get(
    conn: http.client.HTTPConnection, path: str = "/f.bin", rng: tuple[int, int] | None = None
) -> http.client.HTTPResponse:
    headers = {"Range": f"bytes={rng[0]}-{rng[1]}"} if rng else {}
    conn.request("GET", path, headers=headers)
    return conn.getresponse()


def test_without_faults_it_forwards_every_framing_on_one_kept_alive_connection(proxied):
    proxy = proxied(Script([]))
    c = client(proxy)
    for _ in range(3):
        r = get(c, rng=(100, 4999))
        assert (r.status, r.read()) == (206, DATA[100:5000])
        assert get(c).read() == DATA
        assert get(c, "/chunked").read() == DATA
        c.request("HEAD", "/f.bin")
        r = c.getresponse()
        assert (r.status, r.getheader("Content-Length"), r.read()) == (200, str(len(DATA)), b"")
    r = get(c, "/close")
    assert r.read() == DATA
    assert proxy.connections == 1 and proxy.total() == 0


def test_reset_before_the_answer_hits_a_kept_alive_connection(proxied, upstream):
    proxy = proxied(Script([None, "reset_before"]))
    c = client(proxy)
    assert get(c, rng=(0, 99)).read() == DATA[:100]
    with pytest.raises(ConnectionResetError):
        get(c, rng=(0, 99))
    assert proxy.counts() == {"reset_before": 1} and proxy.on_kept_alive == 1
    assert upstream.requests == 1  # the server never saw the reset request


def test_reset_mid_body_sends_a_true_prefix_then_rst(proxied):
    proxy = proxied(Script(["reset_mid_body"]))
    c = client(proxy)
    r = get(c, rng=(0, 9999))
    assert r.status == 206
    got = b""
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        while chunk := r.read(100):
            got += chunk
    assert len(got) < 10000 and DATA[: len(got)] == got
    assert proxy.counts() == {"reset_mid_body": 1} and proxy.on_kept_alive == 0


def test_a_short_body_keeps_the_true_length_and_ends_early(proxied):
    proxy = proxied(Script([None, "short_body", "short_body"]))
    c = client(proxy)
    assert get(c).read() == DATA
    r = get(c)
    assert r.getheader("Content-Length") == str(len(DATA))
    with pytest.raises(http.client.IncompleteRead) as e:
        r.read()
    assert DATA.startswith(e.value.partial) and len(e.value.partial) < len(DATA)
    c.close()
    r = get(c, "/chunked")  # a chunked body is cut as well
    with pytest.raises(http.client.IncompleteRead):
        r.read()
    assert proxy.counts() == {"short_body": 2}


def test_a_lying_content_length_is_shorter_or_longer_than_the_body(proxied):
    proxy = proxied(Script(["lying_length"] * 12, seed=3))
    seen = set()
    for _ in range(12):
        c = client(proxy)
        r = get(c, rng=(0, 4095))
        said = int(r.getheader("Content-Length"))
        assert said != 4096
        try:
            body = r.read()
        except http.client.IncompleteRead as e:
            body = e.partial
            seen.add("longer")
            assert said > 4096
        else:
            seen.add("shorter")
            assert said < 4096
        assert DATA.startswith(body)
        c.close()
    assert seen == {"longer", "shorter"}
    assert proxy.counts() == {"lying_length": 12}


def test_a_wrong_content_range_labels_other_bytes(proxied):
    proxy = proxied(Script([None, "wrong_range", "wrong_range"]))
    c = client(proxy)
    r = get(c, rng=(10, 19))
    assert r.getheader("Content-Range") == f"bytes 10-19/{len(DATA)}" and r.read() == DATA[10:20]
    for _ in range(2):
        r = get(c, rng=(10, 19))
        assert r.getheader("Content-Range") != f"bytes 10-19/{len(DATA)}"
        assert r.read() == DATA[10:20]  # the connection stays usable
    assert proxy.counts() == {"wrong_range": 2}


@pytest.mark.parametrize(
    ("status", "retry_after"), [(503, "1"), (503, None), (429, "2"), (500, None), (502, None)]
)
def test_a_status_burst_answers_for_the_server(proxied, upstream, status, retry_after):
    proxy = proxied(Script([None, Fault("status", status, retry_after, burst=3)]))
    c = client(proxy)
    assert get(c, rng=(0, 9)).read() == DATA[:10]
    for _ in range(3):
        r = get(c, rng=(0, 9))
        assert r.status == status and r.getheader("Retry-After") == retry_after
        r.read()
    assert get(c, rng=(0, 9)).read() == DATA[:10]
    kind = f"status_{status}" + ("_retry_after" if retry_after else "")
    assert proxy.counts() == {kind: 3}
    assert upstream.requests == 2 and proxy.connections == 1


def test_a_stall_outlasts_the_read_timeout_then_hangs_up(proxied):
    proxy = proxied(Script([None, "stall", "stall"]), stall=1.0)
    c = client(proxy, timeout=0.3)
    assert get(c, rng=(0, 9)).read() == DATA[:10]
    with pytest.raises(TimeoutError):
        get(c, rng=(0, 9))
    c.close()
    c = client(proxy, timeout=10)
    t0 = time.monotonic()
    with pytest.raises(http.client.RemoteDisconnected):
        get(c, rng=(0, 9))
    assert time.monotonic() - t0 >= 0.9
    assert proxy.counts() == {"stall": 2}


def test_a_trickle_sends_the_exact_answer_a_byte_per_recv(proxied):
    proxy = proxied(Script([None, "trickle"]), trickle_delay=0.002)
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    req = b"GET /f.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-199\r\n\r\n"
    s.sendall(req)
    time.sleep(0.2)
    first = s.recv(65536)  # the untouched answer comes in one piece
    assert first.endswith(DATA[:200])
    s.sendall(req)
    got, recvs = b"", 0
    while not got.endswith(DATA[:200]):
        chunk = s.recv(65536)
        assert chunk
        got += chunk
        recvs += 1
    assert got.split(b"\r\n\r\n", 1)[1] == DATA[:200]
    assert got.startswith(b"HTTP/1.1 206 ")
    assert recvs > len(got) // 4  # it came in dribbles, not in one piece
    s.close()
    assert proxy.counts() == {"trickle": 1}


def test_the_server_goes_away_and_comes_back_on_the_same_port(proxied):
    proxy = proxied(Script([None, None, "server_away"]), outage=1.0)
    port = proxy.port
    kept = client(proxy)
    assert get(kept, rng=(0, 9)).read() == DATA[:10]
    other = client(proxy)
    assert get(other, rng=(0, 9)).read() == DATA[:10]  # a second kept-alive connection
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        get(kept, rng=(0, 9))
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        get(other, rng=(0, 9))  # reset as well
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    deadline = time.monotonic() + 10
    while True:
        try:
            c = client(proxy)
            assert get(c, rng=(5, 9)).read() == DATA[5:10]
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "the proxy did not come back"
            time.sleep(0.05)
    assert proxy.port == port
    assert proxy.counts() == {"server_away": 1}


def test_a_seeded_schedule_repeats_itself_and_keeps_its_rate():
    draws = [Schedule(7, rate=0.3).next() for _ in range(1)]
    a = Schedule(7, rate=0.3)
    b = Schedule(7, rate=0.3)
    seq_a = [a.next() for _ in range(2000)]
    assert seq_a == [b.next() for _ in range(2000)]
    assert draws[0] == seq_a[0]
    faults = [f for f in seq_a if f is not None]
    assert 0.25 < len(faults) / len(seq_a) < 0.35
    assert {f.kind for f in faults} == {
        "reset_before", "reset_mid_body", "short_body", "lying_length", "wrong_range",
        "status", "stall", "trickle", "server_away",
    }  # fmt: skip
    assert {f.retry_after for f in faults if f.kind == "status"} >= {None, "1"}
    with pytest.raises(ValueError, match="unknown"):
        Schedule(1, weights={"meteor": 1.0})


def test_faults_off_forwards_cleanly_and_stop_wakes_idle_connections(proxied):
    proxy = proxied(Schedule(1, rate=1.0))
    proxy.enabled.clear()
    c = client(proxy)
    for _ in range(20):
        assert get(c, rng=(0, 99)).read() == DATA[:100]
    idle = socket.create_connection(("127.0.0.1", proxy.port))  # sends nothing, ever
    t0 = time.monotonic()
    proxy.stop()  # raises if a thread blocked in recv() was not woken
    assert time.monotonic() - t0 < 5
    assert proxy.total() == 0
    idle.close()


def test_answers_never_cross_between_connections_while_the_server_comes_and_goes(proxied):
    # closing another thread's socket lets the kernel hand its number to a new
    # socket while that thread is about to recv() on it: one client would then
    # read another's answer.  Under outages every answer must still be its own.
    proxy = proxied(Schedule(5, rate=0.03, weights={"server_away": 1.0}), outage=0.05)
    crossed: list[str] = []
    done = 0

    def client_loop(n: int) -> None:
        nonlocal done
        for i in range(150):
            path = f"/echo/{n}/{i}"
            try:
                c = client(proxy, timeout=5)
                r = get(c, path)
                body = r.read()
                c.close()
            except (OSError, http.client.HTTPException):
                time.sleep(0.01)  # away: wait for it to come back
                continue
            if r.status != 200 or body != path.encode() * 50:
                crossed.append(f"{path}: {r.status} {body[:40]!r}")
            done += 1

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not crossed, crossed[:5]
    assert proxy.counts().get("server_away", 0) >= 5
    assert done > 300
