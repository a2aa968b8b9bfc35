"""A CDS client (an EHR) as the tests play it: its signing key, its JWK Set, its JWTs."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from adapters.service.cds import SERVICE_ID

EHR_ISSUER = "https://ehr.test/cds-client"


class CdsClient:
    """Signs CDS Hooks JWTs with its own P-384 key (ES384, as the specification names)."""

    def __init__(self, iss: str = EHR_ISSUER, kid: str = "ehr-key-1") -> None:
        self.iss = iss
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP384R1())

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set the EHR publishes."""
        jwk = dict(ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES384", "use": "sig"}]}

    def write_jwks(self, path: Path) -> Path:
        """The JWK Set as a file (handed over out of band); the path."""
        path.write_bytes(orjson.dumps(self.jwks()))
        return path

    def token(self, audience: str, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A JWT for ``audience``; ``claims`` override (``aud`` too) or, as None, remove."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.iss,
            "sub": "ehr-client",
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(
            body,
            self.key,
            algorithm="ES384",
            headers={"kid": self.kid, "typ": "JWT", **(header or {})},
        )

    def headers(self, service_base: str, **claims: Any) -> dict[str, str]:
        """The Authorization header of a call to the discharge service at ``service_base``."""
        aud = f"{service_base.rstrip('/')}/cds-services/{SERVICE_ID}"
        return {"Authorization": f"Bearer {self.token(aud, **claims)}"}
