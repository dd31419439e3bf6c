"""https against a real copyparty with a self-signed certificate: -te, -teh, -td."""

from __future__ import annotations

import logging

import pytest

from partyfuse.core.errors import Transient
from partyfuse.http import TlsOptions
from tests.support.transports import transport


def names(t) -> set[str]:
    return {e.name for e in t.list_dir("")}


def test_untrusted_certificate_fails_with_one_line_and_logs_the_cert(cpp_https, caplog):
    caplog.set_level(logging.WARNING)
    t = transport(cpp_https.server.url)
    with pytest.raises(Transient) as e:
        t.check()
    assert "certificate verification failed" in str(e.value)
    assert "self-signed" in str(e.value)
    assert "\n" not in str(e.value)
    pem = cpp_https.cert.read_text().strip()
    assert pem in caplog.text  # so the user can pin it with -te


def test_te_trusts_the_servers_own_certificate(cpp_https, source_tree):
    # the certificate names "localhost" only; without -teh the name is not checked
    t = transport(cpp_https.server.url, tls=TlsOptions(trust_file=str(cpp_https.cert)))
    t.check()
    assert names(t) == set(source_tree.visible(""))
    e = next(e for e in t.list_dir("sizes") if e.name == "1m+3.bin")
    assert t.read_range("sizes/1m+3.bin", 0, e.size, e) == source_tree.files["sizes/1m+3.bin"]


def test_teh_rejects_a_certificate_for_another_name(cpp_https):
    tls = TlsOptions(trust_file=str(cpp_https.cert), check_hostname=True)
    t = transport(cpp_https.server.url, tls=tls)  # https://127.0.0.1:port/
    with pytest.raises(Transient, match="mismatch.*drop -teh"):
        t.check()


def test_teh_accepts_the_right_name(cpp_https, source_tree):
    tls = TlsOptions(trust_file=str(cpp_https.cert), check_hostname=True)
    t = transport(f"https://localhost:{cpp_https.server.port}/", tls=tls)
    t.check()
    assert names(t) == set(source_tree.visible(""))


def test_te_with_another_certificate_fails(cpp_https, tmp_path):
    from tests.support.copyparty import make_self_signed

    _, other = make_self_signed(tmp_path, hosts=("localhost",))
    t = transport(cpp_https.server.url, tls=TlsOptions(trust_file=str(other)))
    with pytest.raises(Transient, match="certificate verification failed"):
        t.check()


def test_td_skips_verification_with_a_warning(cpp_https, source_tree, caplog):
    caplog.set_level(logging.WARNING)
    t = transport(cpp_https.server.url, tls=TlsOptions(insecure=True))
    t.check()
    assert names(t) == set(source_tree.visible(""))
    assert "verification is disabled" in caplog.text


def test_unreadable_te_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot load -te"):
        TlsOptions(trust_file=str(tmp_path / "missing.pem")).context()


def test_openssl_fallback_makes_a_usable_certificate(tmp_path):
    import ssl

    from tests.support.copyparty import _self_signed_openssl

    server, cert = _self_signed_openssl(tmp_path, hosts=("localhost",), ips=("127.0.0.1",))
    ssl.create_default_context(cafile=str(cert))  # loads as a trust anchor
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(server))  # key and certificate in one file, as copyparty wants
    info = ssl._ssl._test_decode_cert(str(cert))  # type: ignore[attr-defined]
    assert ("DNS", "localhost") in info["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in info["subjectAltName"]


def test_default_context_checks_names_and_falls_back_to_certifi(monkeypatch):
    import ssl

    from partyfuse.http import tls

    ctx = tls.default_context()
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    # a Python without a system CA file (python.org on macOS) gets certifi's bundle
    monkeypatch.setattr(
        tls.ssl, "create_default_context", lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    )
    bare = tls.default_context()
    assert bare.check_hostname and bare.verify_mode == ssl.CERT_REQUIRED
    try:
        import certifi  # noqa: F401
    except ImportError:
        assert bare.cert_store_stats()["x509_ca"] == 0
    else:
        assert bare.cert_store_stats()["x509_ca"] > 0
