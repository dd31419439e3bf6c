"""Many FUSE-like threads on one transport; a server dying in the middle of a body."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from partyfuse.core.errors import NotFound, Transient
from tests.support.transports import transport
from tests.support.wait import wait_for


def test_concurrent_ranges_from_many_threads_are_all_exact(cpp_anon, source_tree):
    t = transport(cpp_anon.url)
    e = next(e for e in t.list_dir("sizes") if e.name == "5m.bin")
    data = source_tree.files["sizes/5m.bin"]
    rng = random.Random(7)
    spans = []
    for _ in range(200):
        start = rng.randrange(len(data))
        spans.append((start, min(len(data), start + rng.choice([1, 4096, 131072, 1 << 20]))))

    def read(span):
        return t.read_range("sizes/5m.bin", span[0], span[1], e)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, spans))
    for (a, b), got in zip(spans, results, strict=True):
        assert got == data[a:b]
    # at most one keep-alive connection per thread, not one per request
    assert t.connections_made <= 9  # the 8 workers and this thread


def test_server_killed_while_a_body_is_streaming_is_eio_then_recovers(scratch_server):
    # copyparty writes 64 KiB every 50 ms, so a 4 MiB body takes ~3 s
    server, tree = scratch_server(
        extra_args=["--no-sendfile", "--s-wr-sz", "65536", "--s-wr-slp", "0.05"]
    )
    data = random.Random(3).randbytes(4 << 20)
    tree.write("slow.bin", data)
    t = transport(server.url)
    (e,) = t.list_dir("")
    before = t.requests
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(t.read_range("slow.bin", 0, len(data), e))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    wait_for(lambda: t.requests > before, what="the response headers")
    server.kill()
    reader.join(30)
    assert not reader.is_alive()
    (result,) = outcome
    assert isinstance(result, Transient), result
    assert "\n" not in str(result)

    server.start(same_port=True)
    assert t.read_range("slow.bin", 0, 100_000, e) == data[:100_000]


@pytest.mark.parametrize("workers", [4])
def test_transport_close_is_idempotent_and_final(cpp_anon, workers):
    t = transport(cpp_anon.url)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: t.list_dir(""), range(workers)))
    t.close()
    t.close()
    with pytest.raises(RuntimeError):
        t.list_dir("")


def test_short_lived_threads_do_not_pile_up_connections(cpp_anon):
    # libfuse retires idle worker threads and starts new ones; connections
    # must be lent per exchange, not pinned to threads that are gone.
    t = transport(cpp_anon.url)
    for _ in range(30):
        th = threading.Thread(target=t.list_dir, args=("",))
        th.start()
        th.join()
    assert t.connections_made == 1


def test_sequential_reads_reuse_one_keep_alive_connection(cpp_anon, monkeypatch):
    from partyfuse.http.wire import WireConnection

    connects = []
    real_connect = WireConnection.connect

    def counting_connect(self):
        connects.append(self)
        return real_connect(self)

    monkeypatch.setattr(WireConnection, "connect", counting_connect)
    t = transport(cpp_anon.url)
    e = next(e for e in t.list_dir("sizes") if e.name == "1m+3.bin")
    for off in range(0, e.size, 65536):
        t.read_range("sizes/1m+3.bin", off, off + 65536, e)
    t.probe_size("sizes/1m+3.bin", e)
    with pytest.raises(NotFound):
        t.read_range("nope", 0, 1, e)  # an error page is drained, not a reason to reconnect
    assert t.list_dir("sizes")
    assert t.requests >= 20
    assert len(connects) == 1
