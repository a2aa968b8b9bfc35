"""Private keys written as a SMART client keeps them: PKCS#8 PEM files, unencrypted."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def write_pem(path: Path, key: PrivateKeyTypes | None = None) -> Path:
    """``key`` (a new RSA 2048 key if None) written to ``path`` as PKCS#8 PEM; the path."""
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path
