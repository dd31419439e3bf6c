"""Local <-> remote name mapping (partyfuse/core/names.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from partyfuse.core.names import WINDOWS_FORBIDDEN, IdentityNames, WindowsNames
from tests.support.names import name_chars, raw_name

# Remote names as the listing parsers hand them over: any code point but "/"
# and NUL (the awkward ones, all of WINDOWS_FORBIDDEN among them, often), bytes
# that were not UTF-8 as surrogate escapes U+DC80..U+DCFF.
_remote_char = name_chars(any_unicode=True)
remote_names = st.text(_remote_char, min_size=1, max_size=40).filter(
    lambda n: not WindowsNames.is_ambiguous(n)
)


def _windows_safe(name: str) -> bool:
    return not any(c in WINDOWS_FORBIDDEN for c in name) and not any(
        0xD800 <= ord(c) <= 0xDFFF for c in name
    )


@given(remote_names)
def test_windows_names_round_trip(name: str) -> None:
    names = WindowsNames()
    local = names.to_local(name)
    assert _windows_safe(local)
    assert names.to_remote(local) == name
    assert names.to_remote("/dir/" + local) == "/dir/" + name


@given(st.lists(remote_names, min_size=2, max_size=6, unique=True))
def test_windows_names_never_collide(batch: list[str]) -> None:
    names = WindowsNames()
    assert len({names.to_local(n) for n in batch}) == len(batch)


def test_windows_forbidden_characters_become_f0xx() -> None:
    assert WindowsNames().to_local('a<b>c:d"e\\f|g?h*') == (
        "a\uf03cb\uf03ec\uf03ad\uf022e\uf05cf\uf07cg\uf03fh\uf02a"
    )


def test_windows_undecodable_bytes_become_private_use() -> None:
    raw = raw_name(b"caf\xe9.txt")
    assert WindowsNames().to_local(raw) == "caf\uf1e9.txt"


def test_ambiguous_remote_names_are_reported_and_left_alone() -> None:
    assert WindowsNames.is_ambiguous("x\uf03c")
    assert WindowsNames().to_local("x\uf03c") == "x\uf03c"
    assert not WindowsNames.is_ambiguous("plain é name")


@given(st.text(_remote_char, min_size=1))
def test_identity_names_change_nothing(name: str) -> None:
    assert IdentityNames().to_local(name) == name
    assert IdentityNames().to_remote("/" + name) == "/" + name
