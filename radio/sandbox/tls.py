"""A self-signed TLS certificate made at run time for the emulator's voice endpoint.

discord.py always dials the voice WebSocket as ``wss://{endpoint}/?v=8``, so the
emulator must speak TLS there. The certificate is made fresh for each emulator,
valid for ``127.0.0.1`` and ``localhost``, and never written anywhere but a
temporary directory the caller owns.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificate:
    """PEM files of a self-signed certificate and its private key."""

    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """Return a server-side context presenting this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a client-side context that trusts this certificate (and verifies it)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.load_verify_locations(cafile=str(self.cert_path))
        return context


def make_certificate(directory: Path, now: datetime.datetime) -> Certificate:
    """Make a self-signed certificate for 127.0.0.1/localhost, valid one day from ``now``.

    Writes ``sandbox-cert.pem`` and ``sandbox-key.pem`` into ``directory`` (which
    must exist) and returns their paths.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "radio sandbox")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "sandbox-cert.pem"
    key_path = directory / "sandbox-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return Certificate(cert_path=cert_path, key_path=key_path)
