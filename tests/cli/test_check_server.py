"""The mount-time check turns transport errors into one line with one hint."""

from __future__ import annotations

import pytest

from partyfuse.cli import CliError, check_server
from partyfuse.core.errors import Forbidden, NotFound, Transient


class _Refusing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def check(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (Forbidden("http://h/: access denied"), "check the password"),
        (NotFound("http://h/x/: 404"), "it must name a folder"),
        (Transient("http://h/: connection refused"), "is the server running"),
    ],
)
def test_each_transport_error_gets_its_hint(error: Exception, hint: str) -> None:
    with pytest.raises(CliError) as info:
        check_server(_Refusing(error))
    assert str(error) in str(info.value)
    assert hint in str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_url_is_not_told_twice_to_name_a_folder() -> None:
    msg = "http://h/f.txt: the URL must name a folder, not a file"
    with pytest.raises(CliError) as info:
        check_server(_Refusing(NotFound(msg)))
    assert str(info.value).count("must name a folder") == 1
