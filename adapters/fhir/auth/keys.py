"""Private keys for signing client assertions, from PEM or JWK files.

SMART Backend Services registers the client's public key set (JWKS) with the server and
has the client sign with the private half; the ``kid`` in the JWT header tells the server
which key to check. Keys load from PEM (with the ``kid`` given, or the key's RFC 7638
thumbprint) or from a JWK / JWKS file (its own ``kid``). Only RSA (RS384) and P-384 EC
(ES384) keys are accepted: the two algorithms the specification requires servers to take.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from fhir_coder.errors import ConfigurationError

__all__ = ["PrivateKey", "SigningKey", "load_signing_key", "public_jwks"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    """A private key with the algorithm it signs with and the ``kid`` the server knows it by."""

    key: PrivateKey
    kid: str
    algorithm: str

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, algorithm={self.algorithm!r})"

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, with ``kid``, ``alg`` and ``use``: what a server registers."""
        jwk = _public_jwk(self.key)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def _public_jwk(key: PrivateKey) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        return dict(RSAAlgorithm.to_jwk(key.public_key(), as_dict=True))
    return dict(ECAlgorithm.to_jwk(key.public_key(), as_dict=True))


def _signing_key(key: object, kid: str | None, where: str) -> SigningKey:
    """``key`` with the algorithm its type signs with: RS384 for RSA, ES384 for P-384."""
    if isinstance(key, rsa.RSAPrivateKey):
        return SigningKey(key=key, kid=kid or thumbprint(key), algorithm="RS384")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp384r1":
            raise ConfigurationError(f"{where}: ES384 needs a P-384 key, not {key.curve.name}")
        return SigningKey(key=key, kid=kid or thumbprint(key), algorithm="ES384")
    raise ConfigurationError(f"{where}: not an RSA or EC private key")


def thumbprint(key: PrivateKey) -> str:
    """The RFC 7638 thumbprint of the public key: a ``kid`` both sides can work out."""
    jwk = _public_jwk(key)
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def _from_jwk(data: dict[str, Any], where: str) -> tuple[object, str | None]:
    if "keys" in data:
        private = [k for k in data["keys"] if isinstance(k, dict) and "d" in k]
        if not private:
            raise ConfigurationError(f"{where}: the key set holds no private key")
        data = private[0]
    if "d" not in data:
        raise ConfigurationError(f"{where}: the JWK is a public key; signing needs the private")
    text = orjson.dumps(data).decode()
    kty = data.get("kty")
    if kty == "RSA":
        key: object = RSAAlgorithm.from_jwk(text)
    elif kty == "EC":
        key = ECAlgorithm.from_jwk(text)
    else:
        raise ConfigurationError(f"{where}: unsupported key type {kty!r}")
    kid = data.get("kid")
    return key, kid if isinstance(kid, str) else None


def load_signing_key(
    path: Path | str, *, kid: str | None = None, password: bytes | None = None
) -> SigningKey:
    """The private key in ``path`` (PEM, JWK or JWKS), ready to sign client assertions.

    Raises :class:`ConfigurationError` naming the file (never its content) when the file
    is not a usable private key.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read the key file ({exc.strerror})") from exc
    found_kid: str | None = None
    if raw.lstrip().startswith(b"{"):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"{where}: not valid JSON") from exc
        key, found_kid = _from_jwk(data, where)
    else:
        try:
            key = serialization.load_pem_private_key(raw, password=password)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{where}: not a PEM private key") from exc
    return _signing_key(key, kid or found_kid, where)


def public_jwks(*keys: SigningKey) -> dict[str, Any]:
    """A JWKS of the public halves of ``keys``: the document to register with a server."""
    return {"keys": [key.public_jwk() for key in keys]}
