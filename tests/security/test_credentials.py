"""The -a password never leaks: not in logs at any level (``-d`` included), not in
error messages, not in ``ps`` (/proc/PID/cmdline) with ``-a $FILE``, not in
``mount``/``df`` (/proc/self/mountinfo), and not to another host after a
cross-origin redirect.  Checked against a real copyparty with a password and
pytest-httpserver pages that redirect elsewhere.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from partyfuse.http import BadUrl, HttpTransport, PasswordError
from partyfuse.http.auth import Credentials
from tests.support.copyparty import PASSWORD, USER, CopypartyServer, SourceTree
from tests.support.mounts import Mount, Mounter, run_partyfuse

#: Every spelling of the secret that could reach a log: as typed, as the
#: Basic-auth header carries it (both ways partyfuse may pair it), and as bytes.
SECRET = "s3cr3t-Pa55word"


def spellings(password: str) -> list[str]:
    pairs = [f":{password}", password]
    if ":" in password:
        user, _, pw = password.partition(":")
        pairs.append(f"{user}:{pw}")
    return [password, *(base64.b64encode(p.encode()).decode() for p in pairs)]


def assert_absent(password: str, text: str, where: str) -> None:
    for s in spellings(password):
        assert s not in text, f"{s!r} found in {where}"


def _mountinfo() -> str:
    return Path("/proc/self/mountinfo").read_text(errors="replace")


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _exercise(m: Mount) -> None:
    """What a user does: list, read, stat something missing."""
    for top, _dirs, files in os.walk(m.path):
        for f in files[:2]:
            (Path(top) / f).read_bytes()
    assert not (m.path / "no such file").exists()


@pytest.fixture
def pwfile(tmp_path: Path) -> Path:
    f = tmp_path / "pass"
    f.write_text(PASSWORD + "\n")
    f.chmod(0o600)
    return f


def test_password_from_a_file_is_in_no_log_ps_or_mount_table(
    cpp_password: CopypartyServer, source_tree: SourceTree, mounter: Mounter, pwfile: Path
) -> None:
    logf = pwfile.parent / "log"
    m = mounter(cpp_password.url, "-a", f"${pwfile}", "-d", "--logf", str(logf))
    assert set(source_tree.visible("")) <= set(os.listdir(m.path))  # the password works
    _exercise(m)
    assert_absent(PASSWORD, _cmdline(m.proc.pid), "/proc/PID/cmdline (ps)")
    assert_absent(PASSWORD, _mountinfo(), "/proc/self/mountinfo (mount, df)")
    # df of this mount only: another mount on the machine may be stalled
    df = subprocess.run(["df", str(m.path)], capture_output=True, text=True, timeout=30).stdout
    assert "partyfuse" in df
    assert_absent(PASSWORD, df, "df")
    m.unmount()
    debug_log = m.stderr + logf.read_text(errors="replace")
    assert " D " in debug_log  # -d really logged at debug level
    assert_absent(PASSWORD, debug_log, "the -d log")


def test_password_on_the_command_line_is_in_no_log(
    cpp_password: CopypartyServer, mounter: Mounter
) -> None:
    # -a PASSWORD is visible in ps by nature (use -a $FILE); the logs must not show it
    m = mounter(cpp_password.url, "-a", PASSWORD, "-d")
    _exercise(m)
    assert_absent(PASSWORD, _mountinfo(), "/proc/self/mountinfo")
    m.unmount()
    assert_absent(PASSWORD, m.stderr, "the -d log")


def test_a_wrong_password_is_refused_without_echoing_it(
    cpp_password: CopypartyServer, tmp_path: Path
) -> None:
    wrong = "wr0ng-" + SECRET
    r = run_partyfuse([cpp_password.url, str(tmp_path), "-a", wrong, "-d"])
    assert r.returncode != 0
    assert "password" in r.stderr
    assert_absent(wrong, r.stdout + r.stderr, "the error output")


def test_a_password_in_the_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    r = run_partyfuse([f"http://{USER}:{SECRET}@127.0.0.1:9/", str(tmp_path), "-d"])
    assert r.returncode != 0
    assert "-a" in r.stderr
    assert_absent(SECRET, r.stdout + r.stderr, "the error output")


@pytest.mark.parametrize(
    "arg", [f"{SECRET}\n", f"\x00{SECRET}", f"{SECRET}\r\nX: y"], ids=["lf", "nul", "crlf"]
)
def test_password_errors_do_not_quote_the_password(arg: str) -> None:
    with pytest.raises(PasswordError) as e:
        Credentials(arg)
    assert SECRET not in str(e.value)
    assert SECRET not in repr(Credentials(SECRET))


def test_bad_url_errors_do_not_quote_the_password() -> None:
    with pytest.raises(BadUrl) as e:
        HttpTransport(f"http://{USER}:{SECRET}@127.0.0.1:9/")
    assert SECRET not in str(e.value)


def test_a_failed_exchange_does_not_quote_the_password() -> None:
    from partyfuse.core.errors import TransportError

    t = HttpTransport("http://127.0.0.1:9/", password=SECRET)  # nothing listens on port 9
    try:
        with pytest.raises(TransportError) as e:
            t.check()
    finally:
        t.close()
    assert_absent(SECRET, f"{e.value} {e.value!r}", "the exception")


# ---- cross-origin redirects ---------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another origin (another port): must never be asked anything."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/", method="GET").respond_with_data("caught", status=200)
    server.start()
    try:
        yield server
    finally:
        server.stop()


NGINX_PAGE = (
    "<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n"
    '<h1>Index of /</h1><hr><pre><a href="../">../</a>\r\n'
    '<a href="honest.txt">honest.txt</a>          14-Nov-2023 22:13                   7\r\n'
    '<a href="moved.txt">moved.txt</a>          14-Nov-2023 22:13                   5\r\n'
    '<a href="away/">away/</a>          14-Nov-2023 22:13                   -\r\n'
    "</pre><hr></body>\r\n</html>\r\n"
)


@pytest.fixture
def redirecting(elsewhere: HTTPServer) -> Iterator[HTTPServer]:
    """An nginx-like server behind Basic auth whose file and folder redirect elsewhere."""
    server = HTTPServer(host="127.0.0.1", port=0)
    want = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()

    def authed(body: str | bytes, ctype: str) -> object:
        def handler(request: Request) -> Response:
            if request.headers.get("Authorization") != want:
                return Response("who are you", status=401)
            return Response(body, content_type=ctype)

        return handler

    server.expect_request("/").respond_with_handler(authed(NGINX_PAGE, "text/html"))
    server.expect_request("/honest.txt").respond_with_handler(authed(b"honest\n", "text/plain"))
    for path in ("/moved.txt", "/away/"):
        server.expect_request(path).respond_with_data(
            "", status=302, headers={"Location": elsewhere.url_for(path)}
        )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_redirect_to_another_host_is_not_followed_with_the_password(
    redirecting: HTTPServer, elsewhere: HTTPServer, mounter: Mounter
) -> None:
    m = mounter(redirecting.url_for("/"), "-a", f"{USER}:{SECRET}", "-d")
    assert (m.path / "honest.txt").read_bytes() == b"honest\n"
    with pytest.raises(OSError):
        (m.path / "moved.txt").read_bytes()
    with pytest.raises(OSError):
        os.listdir(m.path / "away")
    m.unmount()
    assert elsewhere.log == [], "a request reached the other host"
    assert any(r.headers.get("Authorization") for r, _ in redirecting.log), (
        "the password was sent to the mount's own host"
    )
    assert "redirects to another site" in m.stderr
    assert_absent(SECRET, m.stderr, "the -d log")


def test_the_log_filter_redacts_the_password_in_every_spelling_a_request_carries() -> None:
    import io
    import logging

    from partyfuse.logsetup import setup

    out = io.StringIO()
    logs = setup(debug=True, stream=out)
    try:
        logs.redact.add(f"{USER}:{SECRET}")
        log = logging.getLogger("partyfuse.test")
        creds = Credentials(f"{USER}:{SECRET}")
        log.debug("headers %s", creds.headers(copyparty=True))
        log.warning("url http://%s:%s@127.0.0.1/ pw=%s", USER, SECRET, SECRET)
        log.error("boom", exc_info=ValueError(f"exception with {SECRET}"))
    finally:
        logs.close()
    text = out.getvalue()
    assert "headers" in text and "boom" in text
    assert_absent(f"{USER}:{SECRET}", text, "the log")
    assert_absent(SECRET, text, "the log")
