"""Listing pages built by hand, for parser tests that need one exact page shape."""

from __future__ import annotations


def nginx_page(*hrefs: str, path: str = "/d/") -> bytes:
    """nginx's autoindex page of ``path``: a 5-byte file row per href, its text always "x"."""
    rows = "".join(
        f'<a href="{h}">x</a>                                                 '
        "14-Nov-2023 22:13                   5\r\n"
        for h in hrefs
    )
    return (
        f"<html>\r\n<head><title>Index of {path}</title></head>\r\n<body>\r\n"
        f'<h1>Index of {path}</h1><hr><pre><a href="../">../</a>\r\n{rows}</pre><hr></body>\r\n'
        "</html>\r\n"
    ).encode()
