"""Self-signed certificates for the HTTPS tests (copyparty's --cert and partyfuse's -te).

Made with the ``cryptography`` package, or the ``openssl`` command without it.
"""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path


def make_self_signed(
    directory: Path, *, hosts: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """(server PEM with key+cert for copyparty, cert-only PEM for clients).

    Uses the ``cryptography`` package, or the ``openssl`` CLI without it."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _self_signed_openssl(directory, hosts=hosts, ips=ips)
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    directory.mkdir(parents=True, exist_ok=True)
    server = directory / "server.pem"
    server.write_bytes(key_pem + cert_pem)
    client = directory / "cert.pem"
    client.write_bytes(cert_pem)
    return server, client


def _self_signed_openssl(
    directory: Path, *, hosts: tuple[str, ...], ips: tuple[str, ...]
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    key, client = directory / "key.pem", directory / "cert.pem"
    alt = ",".join([f"DNS:{h}" for h in hosts] + [f"IP:{i}" for i in ips])
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(client), "-days", "30",
         "-subj", f"/CN={hosts[0] if hosts else 'test'}", "-addext", f"subjectAltName={alt}"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = directory / "server.pem"
    server.write_bytes(key.read_bytes() + client.read_bytes())
    return server, client
