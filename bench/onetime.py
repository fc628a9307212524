"""Single-use credentials for the benchmark, made ahead of time: private_key_jwt client
assertions (RFC 7523) and DPoP proofs (RFC 9449), ES256, each with a fresh jti."""

import base64
import json
import os
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Es256Key:
    def __init__(self, kid):
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.public_jwk = {"kty": "EC", "crv": "P-256", "x": b64(nums.x.to_bytes(32, "big")),
                           "y": b64(nums.y.to_bytes(32, "big"))}

    def jwks(self):
        return json.dumps({"keys": [dict(self.public_jwk, kid=self.kid, use="sig", alg="ES256")]})

    def sign(self, header, claims):
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def client_assertions(key, client_id, audience, n):
    now = int(time.time())
    header = {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    return [key.sign(header, {"iss": client_id, "sub": client_id, "aud": audience, "jti": b64(os.urandom(16)),
                              "iat": now, "exp": now + 600}) for _ in range(n)]


def dpop_proofs(key, url, n):
    now = int(time.time())
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk}
    return [key.sign(header, {"jti": b64(os.urandom(16)), "htm": "POST", "htu": url, "iat": now}) for _ in range(n)]
