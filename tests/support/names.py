"""Awkward file names for tests: the one place they are made.

* :data:`AWKWARD_NAMES`: fixed names that break naive URL handling, one file each
  in copyparty's source tree (tests/support/copyparty.py).
* :func:`name_chars`: the characters hypothesis builds names from, for the
  listing round trips (tests/listings/test_roundtrip.py) and the local/remote
  name mapping (tests/cli/test_names.py).
* :func:`raw_name`: the name for on-disk bytes that are not UTF-8.

Names are ``str``; a byte that is not UTF-8 is carried as its surrogate escape
(U+DC80..U+DCFF), what ``os.fsdecode`` gives on Linux, but decoded explicitly so
it is the same on every OS.  Such names are built when a test asks, never at
import: Windows' file system codec is strict UTF-8, and a module that made one
with ``os.fsdecode`` at import took every module importing it down there.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: Names that break naive URL handling; each becomes a file in copyparty's tree.
AWKWARD_NAMES = [
    "plain.txt",
    "with space.txt",
    "hash#tag",
    "question?mark",
    "per%cent%20not-an-escape",
    "amp&ersand=x",
    "plus+sign",
    "single'quote",
    'double"quote',
    "semi;colon,comma",
    "brackets[1](2){3}",
    "tilde~and`backtick",
    "ünïcödé-ñame.txt",
    "日本語のファイル",
    "emoji-🎉🐍.bin",
    "-leading-dash",
    "trailing.dot.",
    "a" * 200 + ".long",
    "L" * 255,
]

#: copyparty's tree also has a file of this name, which is not UTF-8 (Linux only).
NON_UTF8_RAW = b"latin1-caf\xe9.txt"


def raw_name(raw: bytes) -> str:
    """The name of the file whose on-disk name is ``raw`` (surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")


def non_utf8_name() -> str:
    """The name of copyparty's file :data:`NON_UTF8_RAW`."""
    return raw_name(NON_UTF8_RAW)


# -- characters for hypothesis ------------------------------------------------

#: Characters that break naive parsers: URL and HTML metacharacters, quotes,
#: whitespace, non-ASCII, an emoji, a zero-width space.  Line breaks and other
#: control characters (TAB aside) are dropped by design (tests/listings/test_hostile.py).
AWKWARD_CHARS = list(" %#?&+\"'<>;:\\=,!@$()[]{}~^`|*\t-._") + list("éüß日本😀\u200b\u00a0")
#: What NTFS (so IIS) can hold: no <>:"/\\|?* or control characters.
IIS_AWKWARD_CHARS = [c for c in AWKWARD_CHARS if c not in '<>:"/\\|?*' and ord(c) >= 32]
PLAIN_CHARS = list("abcXYZ019")
#: Bytes that are not UTF-8 on their own (a Linux file name can hold them): a
#: continuation byte, a lead byte, bytes that never occur in UTF-8.
RAW_BYTES = bytes((0x80, 0xA9, 0xC3, 0xFE, 0xFF))


def _escape(byte: int) -> str:
    return chr(0xDC00 + byte)


def name_chars(
    *, raw_bytes: bool = True, iis: bool = False, any_unicode: bool = False
) -> st.SearchStrategy[str]:
    """One character of an awkward name.

    Drawn from the awkward and plain characters above and (``raw_bytes``) the
    escapes of :data:`RAW_BYTES`; ``iis`` keeps to what NTFS can hold;
    ``any_unicode`` adds every other code point but "/" and NUL and, with
    ``raw_bytes``, the escape of every byte 0x80..0xFF.
    """
    chars = (IIS_AWKWARD_CHARS if iis else AWKWARD_CHARS) + PLAIN_CHARS
    if raw_bytes:
        chars += [_escape(b) for b in RAW_BYTES]
    choices = [st.sampled_from(chars)]
    if any_unicode:
        choices.append(st.characters(exclude_categories=("Cs",), exclude_characters="/\x00"))
        if raw_bytes:
            choices.append(st.integers(0x80, 0xFF).map(_escape))
    return st.one_of(choices)
