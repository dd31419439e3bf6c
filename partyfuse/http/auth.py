"""The ``-a`` password: where it comes from and how it is sent.

copyparty takes the password in a ``PW`` header ("user:password" when the
server runs with --usernames) and also accepts HTTP Basic auth, where it tries
both halves as the password when --usernames is off.  Other servers (nginx,
Apache with auth_basic) only know Basic.  A ``PW`` header wins over Basic in
copyparty even when it is wrong, so the header is only sent to copyparty.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass


class PasswordError(ValueError):
    """The -a argument could not be turned into a password (one line)."""


def read_password(arg: str) -> str:
    """The password an ``-a`` argument stands for.

    ``-a $FILE`` (upstream spells it ``-a $~/.copyparty-pass``) reads the
    first line of FILE, so a password never has to appear in ``ps`` output.
    """
    if not arg.startswith("$"):
        return arg
    path = os.path.expanduser(arg[1:])
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PasswordError(f"cannot read password file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise PasswordError(f"password file {path} is not UTF-8 text") from None
    pw = text.splitlines()[0] if text else ""
    if not pw:
        raise PasswordError(f"password file {path} is empty")
    return pw


@dataclass(frozen=True)
class Credentials:
    password: str

    def __post_init__(self) -> None:
        # A newline would let the password end the header early (http.client
        # refuses it, with the value in the message).
        if any(ord(c) < 32 or ord(c) == 127 for c in self.password):
            raise PasswordError("the password contains control characters")

    def __repr__(self) -> str:  # never let a password reach a log line
        return "Credentials(<hidden>)"

    def basic_header(self) -> str:
        """``Authorization: Basic`` value; "user:pass" splits at the first colon,
        a bare password goes with an empty user (copyparty accepts that)."""
        user, sep, pw = self.password.partition(":")
        pair = f"{user}:{pw}" if sep else f":{self.password}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def headers(self, *, copyparty: bool) -> dict[str, str | bytes]:
        out: dict[str, str | bytes] = {"Authorization": self.basic_header()}
        if copyparty:
            # UTF-8 bytes: http.client would encode a str as latin-1 and fail
            # on any other character; copyparty decodes the header as UTF-8.
            out["PW"] = self.password.encode("utf-8")
        return out


AUTH_HEADERS = ("Authorization", "PW", "Cookie")
