"""The tree the real-server samples in tests/listings/data/ were captured from.

tests/listings/capture_samples.py serves it; tests/listings/test_real_samples.py parses them.

name (bytes, as on the server's disk) -> (size or None for a directory, mtime UTC epoch).
Sizes straddle every rounding threshold the servers use (nginx: >9999 gets K/M/G;
Apache: >=973 gets a decimal K; lighttpd rounds everything).
"""

from __future__ import annotations

_T0 = 1700000000  # 2023-11-14 22:13:20 UTC

SUBDIR = b"sub dir"

SAMPLE_TREE: dict[bytes, tuple[int | None, int]] = {
    b"plain.txt": (0, _T0),
    b"with space.txt": (5, _T0 + 1 * 86400 + 7),
    b"pct%41.txt": (972, _T0 + 2 * 86400 + 59),
    b"hash#.txt": (973, _T0 + 3 * 86400),
    b"q?mark.txt": (1001, _T0 + 4 * 86400),
    b"amp&and.txt": (9999, _T0 + 5 * 86400),
    b"plus+.txt": (10000, _T0 + 6 * 86400),
    b'quote"d.txt': (12012, _T0 + 7 * 86400),
    b"apos'd.txt": (5243003, _T0 + 8 * 86400),
    b"lt<gt>.txt": ((1 << 30) + 1, _T0 + 9 * 86400),
    "ünïcødé.txt".encode(): (1, 1577836800),  # 2020-01-01 00:00:00 (midnight)
    "emoji😀.txt".encode(): (2, 1577881800),  # 2020-01-01 12:30:00 (half past noon)
    b"-leading.txt": (3, 1577838600),  # 2020-01-01 00:30:00 (half past midnight)
    b"a" * 60 + b".txt": (4, _T0 + 10 * 86400),
    b"semi;colon.txt": (6, _T0 + 11 * 86400),
    b"back\\slash.txt": (7, _T0 + 12 * 86400),
    b"tab\tname.txt": (8, _T0 + 13 * 86400),
    b"bad\xff\xfe.txt": (9, _T0 + 14 * 86400),
    b"co:lon.txt": (10, _T0 + 15 * 86400),
    "ämp&amp;.txt".encode(): (11, _T0 + 16 * 86400),
    b"x" * 251 + b".bin": (12, _T0 + 17 * 86400),  # 255 bytes, the NAME_MAX
    SUBDIR: (None, _T0 + 18 * 86400),
    b"b" * 70: (None, _T0 + 19 * 86400),
}

SUBDIR_TREE: dict[bytes, tuple[int | None, int]] = {
    b"inner.txt": (2, _T0 + 20 * 86400),
    b"deeper": (None, _T0 + 21 * 86400),
}
