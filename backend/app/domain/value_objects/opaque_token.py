"""Opaque bearer secrets (refresh tokens, one-time links): random, and stored only as a hash.

They carry 256 bits of randomness, so a fast hash (SHA-256) is enough: nobody can guess a preimage,
and a stolen table of hashes gives an attacker nothing to present.
"""

from __future__ import annotations

import hashlib
import secrets

SECRET_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secrets_match(secret: str, expected_hash: str) -> bool:
    """Compare in constant time, so the time taken does not tell how much of a guess was right."""
    return secrets.compare_digest(hash_secret(secret), expected_hash)
