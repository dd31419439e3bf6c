"""https through the command line: what a user sees when a certificate is refused.

A self-signed server is refused by default, accepted with ``-te`` of its
certificate, and refused with ``-te -teh`` when the URL's name is not the one
the certificate is for.  A refusal says what is wrong and names the fix, with
no unrelated hint (before: "is the server running and the URL right?").
"""

from __future__ import annotations

from pathlib import Path

from tests.support.copyparty import HttpsServer, SourceTree
from tests.support.mounts import Mounter, run_partyfuse

UNRELATED = ("is the server running", "URL right", "password")


def _error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("partyfuse: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_self_signed_server_is_refused_by_default(cpp_https: HttpsServer, tmp_path: Path) -> None:
    r = run_partyfuse([cpp_https.server.url, str(tmp_path)])
    assert r.returncode != 0
    line = _error_line(r.stderr)
    assert "certificate verification failed" in line and "self-signed" in line
    assert "-te" in line  # the fix
    assert not any(u in line for u in UNRELATED), line
    assert "BEGIN CERTIFICATE" in r.stderr  # what to pass to -te
    assert "Traceback" not in r.stderr


def test_te_with_its_certificate_is_accepted(
    cpp_https: HttpsServer, source_tree: SourceTree, mounter: Mounter
) -> None:
    m = mounter(cpp_https.server.url, "-te", str(cpp_https.cert))
    assert set(source_tree.visible("")) <= {p.name for p in m.path.iterdir()}


def test_te_teh_refuses_a_name_the_certificate_is_not_for(
    cpp_https: HttpsServer, tmp_path: Path
) -> None:
    # the certificate is for "localhost"; the URL says 127.0.0.1
    r = run_partyfuse([cpp_https.server.url, str(tmp_path), "-te", str(cpp_https.cert), "-teh"])
    assert r.returncode != 0
    line = _error_line(r.stderr)
    assert "mismatch" in line and "drop -teh" in line
    assert not any(u in line for u in UNRELATED), line
    assert "-td" not in line  # turning every check off is not the fix for a name


def test_te_teh_accepts_the_right_name(
    cpp_https: HttpsServer, source_tree: SourceTree, mounter: Mounter
) -> None:
    url = f"https://localhost:{cpp_https.server.port}/"
    m = mounter(url, "-te", str(cpp_https.cert), "-teh")
    assert set(source_tree.visible("")) <= {p.name for p in m.path.iterdir()}
