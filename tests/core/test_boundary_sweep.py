"""Every combination of odd sizes around block and read boundaries returns the model's bytes.

In the spirit of copyparty's scripts/fusefuzz.py (which does this through a
real mount): files of 2 MiB +-3 bytes, reads of 64 KiB +-2, offsets near 0 and
near EOF shifted by -3..+2, forwards, backwards and front to back; here in
memory, so the whole grid runs in seconds and a failure names its case.
"""

from __future__ import annotations

import os

import pytest

from tests.support.fs import KiB, MiB, memory_fs, payload

FILE_SIZES = [2 * MiB + d for d in range(-3, 4)]
READ_SIZES = [64 * KiB + d for d in range(-2, 3)]
SHIFTS = range(-3, 3)


def _offsets(file_size: int, read_size: int, shift: int) -> list[int]:
    near_start = [k * read_size + shift for k in range(3)]
    near_end = [file_size - k * read_size + shift for k in (2, 1, 0)]
    return [o for o in near_start + near_end if o >= 0]


@pytest.mark.parametrize("file_blocks", [0, 1, 12])
def test_boundary_sweep_matches_model_bytes(file_blocks: int) -> None:
    cases = 0
    for file_size in FILE_SIZES:
        data = payload(file_size, file_size)
        for read_size in READ_SIZES:
            # one fs per (size, read size): later shifts meet blocks cached by
            # earlier ones at odd offsets, i.e. partial hits at both ends
            fs, t, _ = memory_fs({"f": data}, file_blocks=file_blocks)
            for shift in SHIFTS:
                offsets = _offsets(file_size, read_size, shift)
                for order in (offsets, offsets[::-1]):
                    fh = fs.open("/f", os.O_RDONLY)
                    for off in order:
                        got = fs.read("/f", read_size, off, fh)
                        want = data[off : off + read_size]
                        assert got == want, (file_size, read_size, shift, off, len(got))
                        cases += 1
                    fs.release("/f", fh)
            # front to back and back to front with this read size
            fh = fs.open("/f", os.O_RDONLY)
            pos, out = 0, bytearray()
            while piece := fs.read("/f", read_size, pos, fh):
                out += piece
                pos += len(piece)
            assert out == data, (file_size, read_size, "forward")
            end, parts = file_size, []
            while end > 0:
                start = max(0, end - read_size)
                parts.append(fs.read("/f", end - start, start, fh))
                end = start
            assert b"".join(reversed(parts)) == data, (file_size, read_size, "backward")
            fs.release("/f", fh)
            assert all(0 <= r.start < r.end <= file_size for r in t.requests("range"))
            assert fs.cached_bytes <= file_blocks * MiB
    assert cases > 1000
