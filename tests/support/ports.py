"""Free loopback ports, and waiting for a server to listen on one.

Every server a test (or tests/listings/capture_samples.py) starts binds
127.0.0.1 on a port picked here; the wait is tests.support.wait.wait_for, so a
server that never comes up fails with what it was waiting for, and one that
dies first fails at once instead of after the whole timeout.
"""

from __future__ import annotations

import socket
import subprocess

from tests.support.wait import wait_for


def free_port() -> int:
    """A port nothing listens on right now (another process may still take it first)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(port: int) -> bool:
    """Whether something accepts a TCP connection on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 15.0
) -> None:
    """Wait until 127.0.0.1:``port`` accepts; RuntimeError at once if ``proc`` exits first."""

    def listening() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        return accepts(port)

    wait_for(listening, timeout, f"something to listen on 127.0.0.1:{port}", interval=0.05)
