"""First proof that RemoteFS answers with the server's bytes (detailed tests live beside it)."""

from __future__ import annotations

import os
import random

from fakes.memory import MemoryTransport
from tests.support.fs import make_fs


def test_sequential_read_returns_exact_bytes_of_every_size() -> None:
    rnd = random.Random(1)
    sizes = [0, 1, 65535, 65536, 65537, 2 << 20, (2 << 20) + 3, 9 << 20]
    files = {f"d/f{i}": rnd.randbytes(s) for i, s in enumerate(sizes)}
    fs = make_fs(MemoryTransport(files))
    for path, data in files.items():
        fh = fs.open("/" + path, os.O_RDONLY)
        out = b""
        while chunk := fs.read("/" + path, 131072, len(out), fh):
            out += chunk
        fs.release("/" + path, fh)
        assert out == data
