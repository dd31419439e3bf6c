#!/usr/bin/env python3
"""A userspace link emulator: a TCP proxy that behaves like a slow network link.

Why: this kernel has no netem, and a filesystem client's worth shows on real links,
where every round trip costs milliseconds and connections share one pipe.  The proxy
sits on 127.0.0.1 in front of a server and

- delays each direction by half the round trip, per chunk, using the chunk's own
  timestamp, so a stream keeps the pipe full (bandwidth-delay product in flight),
  never stop-and-wait;
- serializes every connection's bytes onto ONE shared downstream wire (server to
  client) and ONE shared upstream wire at the given rate, so parallel connections
  split the bandwidth instead of multiplying it;
- charges a new connection one round trip before its first byte reaches the server,
  as TCP's handshake does (the local connect to the proxy completes at once).

Not modelled: packet loss, TCP slow start, per-packet header overhead.

Run it as its own process (``--print-port`` says where it listens, SIGTERM stops
it and prints byte counts as JSON on stderr; bench.py and measure_tar.py do,
through bench_procs.LinkProc), or in-process with ``LinkEmulator`` (tests).

One module of some 480 lines, past the project's ~400: the wires, pipes and
connection bookkeeping are one mechanism, read together, and a standalone
tool is simplest to copy elsewhere as a single file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

KiB = 1 << 10


@dataclass(frozen=True)
class LinkSpec:
    """A symmetric link: round-trip time and bandwidth in each direction."""

    rtt_ms: float
    mbit: float

    @property
    def one_way_s(self) -> float:
        return self.rtt_ms / 2000.0

    @property
    def bytes_per_s(self) -> float:
        return self.mbit * 1e6 / 8

    def describe(self) -> str:
        return f"{self.rtt_ms:g} ms RTT, {self.mbit:g} Mbit/s"


# loopback has no entry: it means "no proxy at all"
PROFILES: dict[str, LinkSpec] = {
    "lan": LinkSpec(rtt_ms=1.0, mbit=1000.0),
    "wan": LinkSpec(rtt_ms=30.0, mbit=100.0),
}
PROFILE_NAMES = ("loopback", *PROFILES)


def spec_for(profile: str) -> LinkSpec | None:
    """The link of a profile name; None for loopback. Raises ValueError on unknown names."""
    if profile == "loopback":
        return None
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"unknown link profile {profile!r}; choose from {', '.join(PROFILE_NAMES)}"
        ) from None


class Wire:
    """One direction of the shared link: a serialization queue at a fixed rate.

    ``free_at`` is when the wire finishes sending what it was given so far; a chunk
    handed over at ``now`` starts at max(now, free_at) and arrives one-way delay after
    its last byte left. Every connection goes through the same Wire, so they share it.
    """

    def __init__(self, spec: LinkSpec) -> None:
        self.rate = spec.bytes_per_s
        self.delay = spec.one_way_s
        self.free_at = 0.0
        self.bytes = 0

    def arrival(self, now: float, nbytes: int) -> float:
        start = max(now, self.free_at)
        self.free_at = start + nbytes / self.rate
        self.bytes += nbytes
        return self.free_at + self.delay


_EOF = b""  # queue marker: half-close the destination
_CLOSE = None  # queue marker: the source is gone, close the destination


@dataclass
class _Pipe:
    """One direction of one connection: chunks waiting for their arrival time."""

    loop: asyncio.AbstractEventLoop
    wire: Wire
    limit: int
    piece: int
    not_before: float = 0.0  # handshake: nothing arrives before this
    queue: deque[tuple[float, bytes | None]] = field(default_factory=deque)
    queued: int = 0
    src: asyncio.Transport | None = None
    dst: asyncio.Transport | None = None
    dst_blocked: bool = False
    src_paused: bool = False
    timer: asyncio.TimerHandle | None = None
    last_at: float = 0.0
    done: bool = False  # EOF or close delivered (or the destination is gone)
    on_done: Callable[[], None] | None = None

    def feed(self, data: bytes) -> None:
        now = self.loop.time()
        view = memoryview(data)
        for i in range(0, len(data), self.piece):
            chunk = view[i : i + self.piece]
            at = max(self.wire.arrival(now, len(chunk)), self.not_before, self.last_at)
            self.queue.append((at, chunk))  # type: ignore[arg-type]
            self.queued += len(chunk)
            self.last_at = at
        self._throttle()
        self._arm()

    def feed_end(self, marker: bytes | None) -> None:
        """EOF or close, delivered after everything already queued."""
        at = max(self.loop.time() + self.wire.delay, self.last_at, self.not_before)
        self.last_at = at
        self.queue.append((at, marker))
        self._arm()

    def drop(self) -> None:
        """The destination is gone: nothing more can be delivered."""
        self.done = True
        self.queue.clear()
        self.queued = 0
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def set_dst(self, dst: asyncio.Transport) -> None:
        self.dst = dst
        self._arm()

    def _throttle(self) -> None:
        """Stop reading the source while the link holds enough of its bytes: the
        backlog then waits in the sender's socket buffers, as on a real link."""
        if self.src is None:
            return
        full = self.queued >= self.limit or self.dst_blocked
        if full and not self.src_paused:
            self.src_paused = True
            with contextlib.suppress(RuntimeError):
                self.src.pause_reading()
        elif not full and self.src_paused:
            self.src_paused = False
            with contextlib.suppress(RuntimeError):
                self.src.resume_reading()

    def _arm(self) -> None:
        if self.timer is None and self.queue and self.dst is not None and not self.done:
            self.timer = self.loop.call_at(self.queue[0][0], self._flush)

    def _flush(self) -> None:
        self.timer = None
        dst = self.dst
        if dst is None or self.done:
            return
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            _, item = self.queue.popleft()
            if item is _CLOSE:
                self.done = True
                self.queue.clear()
                dst.close()
                break
            if item is _EOF:
                self.done = True
                if dst.can_write_eof() and not dst.is_closing():
                    dst.write_eof()
                break
            self.queued -= len(item)
            if not dst.is_closing():
                dst.write(item)
        self._throttle()
        if self.done:
            if self.on_done is not None:
                self.on_done()
        else:
            self._arm()


class _Side(asyncio.Protocol):
    """One socket of a proxied connection (the client's or the server's)."""

    def __init__(self, conn: _Connection, name: str) -> None:
        self.conn, self.name = conn, name
        self.transport: asyncio.Transport | None = None

    # out: the pipe this side's incoming bytes go into; into: the pipe writing to it
    @property
    def out(self) -> _Pipe:
        return self.conn.up if self.name == "client" else self.conn.down

    @property
    def into(self) -> _Pipe:
        return self.conn.down if self.name == "client" else self.conn.up

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.out.src = transport
        self.conn.opened(self)

    def data_received(self, data: bytes) -> None:
        self.out.feed(data)

    def eof_received(self) -> bool:
        self.out.feed_end(_EOF)
        self.conn.maybe_finish()
        return True  # keep the other direction open (half-close)

    def pause_writing(self) -> None:
        self.into.dst_blocked = True
        self.into._throttle()

    def resume_writing(self) -> None:
        self.into.dst_blocked = False
        self.into._throttle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.into.drop()
        if not self.out.done and not any(m is _EOF for _, m in self.out.queue):
            self.out.feed_end(_CLOSE)
        self.out.src = None
        self.conn.closed(self)


class _Connection:
    def __init__(self, emu: _Emulator) -> None:
        self.emu = emu
        loop = emu.loop
        spec = emu.spec
        now = loop.time()
        # the local connect completed at once; over a real link the client sends its
        # first byte a round trip later (SYN, SYN-ACK), so it lands 1.5 round trips in
        first = now + spec.rtt_ms / 1000 + spec.one_way_s
        self.up = _Pipe(loop, emu.up, emu.limit, emu.piece, first, on_done=self.maybe_finish)
        self.down = _Pipe(loop, emu.down, emu.limit, emu.piece, on_done=self.maybe_finish)
        self.client = _Side(self, "client")
        self.server: _Side | None = None
        self.open_sides: set[str] = set()
        self.connecting = True

    def opened(self, side: _Side) -> None:
        self.open_sides.add(side.name)
        if side.name == "client":
            self.emu.conns.add(self)
            self.emu.tasks.add(t := self.emu.loop.create_task(self._connect()))
            t.add_done_callback(self.emu.tasks.discard)
        else:
            assert side.transport is not None and self.client.transport is not None
            self.up.set_dst(side.transport)
            self.down.set_dst(self.client.transport)

    async def _connect(self) -> None:
        server = self.server = _Side(self, "server")
        try:
            await self.emu.loop.create_connection(
                lambda: server, self.emu.target_host, self.emu.target_port
            )
        except OSError:
            if self.client.transport is not None:
                self.client.transport.abort()
        finally:
            self.connecting = False
            if not self.open_sides:
                self.emu.conns.discard(self)

    def maybe_finish(self) -> None:
        """Both directions half-closed and delivered: close both sockets."""
        if self.up.done and self.down.done:
            for side in (self.client, self.server):
                if side is not None and side.transport is not None:
                    side.transport.close()

    def closed(self, side: _Side) -> None:
        self.open_sides.discard(side.name)
        if not self.open_sides and not self.connecting:
            self.emu.conns.discard(self)
        # a finished pipe may be what the other side was waiting for
        self.maybe_finish()

    def abort(self) -> None:
        for side in (self.client, self.server):
            if side is not None and side.transport is not None:
                side.transport.abort()


class _Emulator:
    """The asyncio part: one listening socket, shared wires, live connections."""

    def __init__(self, spec: LinkSpec, target: tuple[str, int]) -> None:
        self.spec = spec
        self.target_host, self.target_port = target
        self.loop = asyncio.get_running_loop()
        self.up, self.down = Wire(spec), Wire(spec)
        bdp = int(spec.bytes_per_s * spec.rtt_ms / 1000)
        # per-connection backlog on the link: twice the bandwidth-delay product keeps
        # one stream at full rate, and 8 ms of wire time rides out a stall of this
        # Python loop (below that, 1 Gbit/s measured 86% of the rate); more would only
        # add queueing delay for the other connections
        self.limit = max(256 * KiB, 2 * bdp, int(spec.bytes_per_s * 0.008))
        # arrival granularity: about 1 ms of wire time per piece
        self.piece = int(min(64 * KiB, max(8 * KiB, spec.bytes_per_s / 1000)))
        self.conns: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        def factory() -> _Side:
            return _Connection(self).client

        self.server = await self.loop.create_server(factory, host, port)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for conn in list(self.conns):
            conn.abort()
        for t in list(self.tasks):
            t.cancel()
        if self.server is not None:
            await self.server.wait_closed()
        for _ in range(200):  # aborted transports report connection_lost on later turns
            if not self.conns and not self.tasks:
                break
            await asyncio.sleep(0.005)

    def stats(self) -> dict[str, float]:
        return {
            "up_bytes": self.up.bytes,
            "down_bytes": self.down.bytes,
            "open_connections": len(self.conns),
        }


class LinkEmulator:
    """The emulator on its own event loop in a background thread (tests, scripts).

    ``start()`` returns the port; ``stop()`` closes every socket and joins the thread.
    """

    def __init__(self, spec: LinkSpec, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.spec, self.target, self.host = spec, target, host
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._emu: _Emulator | None = None
        self._thread: threading.Thread | None = None
        self._final: dict[str, float] = {}

    def start(self) -> int:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:

                async def boot() -> None:
                    self._emu = _Emulator(self.spec, self.target)
                    self.port = await self._emu.start(self.host, 0)

                loop.run_until_complete(boot())
            except BaseException as e:  # noqa: BLE001 - reported to start()
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="linkemu", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self.port

    def stats(self) -> dict[str, float]:
        if self._emu is None:
            return dict(self._final)
        return self._emu.stats()

    def stop(self) -> None:
        loop, emu, thread = self._loop, self._emu, self._thread
        if loop is None or emu is None or thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(emu.stop(), loop)
        with contextlib.suppress(Exception):
            fut.result(10)
        self._final = emu.stats()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._emu = self._thread = None

    def __enter__(self) -> LinkEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _serve(spec: LinkSpec, target: tuple[str, int], host: str, port: int) -> None:
    emu = _Emulator(spec, target)
    bound = await emu.start(host, port)
    print(f"linkemu: listening on {host}:{bound} -> {target[0]}:{target[1]} ({spec.describe()})")
    print(f"PORT {bound}", flush=True)
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Windows has no loop signal handlers: there SIGTERM ends the process outright
        with contextlib.suppress(NotImplementedError):
            emu.loop.add_signal_handler(sig, done.set)
    await done.wait()
    await emu.stop()
    print(json.dumps(emu.stats()), file=sys.stderr, flush=True)


def _target(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise argparse.ArgumentTypeError(f"target must be 127.0.0.1:PORT, got {s!r}")
    return "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", type=_target, required=True, help="127.0.0.1:PORT of the server")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ap.add_argument("--profile", choices=sorted(PROFILES), default=None)
    ap.add_argument("--rtt-ms", type=float, default=None, help="round trip (overrides profile)")
    ap.add_argument("--mbit", type=float, default=None, help="bandwidth (overrides profile)")
    a = ap.parse_args(argv)
    base = PROFILES[a.profile] if a.profile else None
    rtt = a.rtt_ms if a.rtt_ms is not None else (base.rtt_ms if base else None)
    mbit = a.mbit if a.mbit is not None else (base.mbit if base else None)
    if rtt is None or mbit is None:
        ap.error("give --profile, or both --rtt-ms and --mbit")
    if rtt < 0 or mbit <= 0:
        ap.error("--rtt-ms must be >= 0 and --mbit > 0")
    try:
        asyncio.run(_serve(LinkSpec(rtt, mbit), a.target, "127.0.0.1", a.port))
    except OSError as e:
        print(f"linkemu: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
