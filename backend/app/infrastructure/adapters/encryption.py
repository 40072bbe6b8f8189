"""Master keys and authenticated encryption (AES-256-GCM, from `cryptography`).

The master keys come from FILE_ENCRYPTION_KEY. They never encrypt bulk data themselves: each file
gets its own random data key, which a master key wraps (envelope encryption), and small secrets are
sealed under the current master key. Every wrapped or sealed value names the key id that made it,
so a new key can be put first (it encrypts from then on) while the old ones still decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce
_SEALED_PREFIX = "v1"
_SECRET_BOX_CONTEXT = b"strata:secret-box:v1"


class DecryptionError(Exception):
    """Ciphertext that was altered, truncated, or made with a key we do not hold."""


class InvalidMasterKeyError(ValueError):
    """FILE_ENCRYPTION_KEY cannot be read (the message never contains the key)."""


@dataclass(frozen=True, slots=True)
class WrappedKey:
    key_id: str
    wrapped: bytes  # nonce + AES-GCM(master, data key)


class MasterKeyRing:
    """The master keys by id; the first one of the setting is the one that encrypts."""

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in keys:
            raise InvalidMasterKeyError("the current key id is not among the keys")
        for key in keys.values():
            if len(key) != KEY_BYTES:
                raise InvalidMasterKeyError(f"each master key must be {KEY_BYTES} bytes")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_key_id = current_key_id

    @classmethod
    def from_setting(cls, value: str) -> MasterKeyRing:
        """Read `base64key` (its id is derived from the key) or `id:base64key,id:base64key,...`."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            key_id, separator, encoded = item.rpartition(":")
            key = _decode_key(encoded)
            if not separator:
                key_id = hashlib.sha256(key).hexdigest()[:8]
            if not key_id or key_id in keys:
                raise InvalidMasterKeyError("master key ids must be present and distinct")
            keys[key_id] = key
            order.append(key_id)
        if not order:
            raise InvalidMasterKeyError("FILE_ENCRYPTION_KEY holds no key")
        return cls(keys, order[0])

    def encrypt(self, plaintext: bytes, *, context: bytes) -> tuple[str, bytes]:
        """(key id, nonce + ciphertext) under the current key; `context` is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current_key_id].encrypt(nonce, plaintext, context)
        return self.current_key_id, nonce + sealed

    def decrypt(self, key_id: str, data: bytes, *, context: bytes) -> bytes:
        cipher = self._keys.get(key_id)
        if cipher is None or len(data) < NONCE_BYTES:
            raise DecryptionError()
        try:
            return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], context)
        except InvalidTag as exc:
            raise DecryptionError() from exc

    def wrap(self, data_key: bytes, *, context: bytes) -> WrappedKey:
        key_id, wrapped = self.encrypt(data_key, context=context)
        return WrappedKey(key_id=key_id, wrapped=wrapped)

    def unwrap(self, wrapped_key: WrappedKey, *, context: bytes) -> bytes:
        return self.decrypt(wrapped_key.key_id, wrapped_key.wrapped, context=context)


class AesGcmSecretBox:
    """`SecretBox` port: `v1.<key id>.<base64url(nonce + ciphertext)>` under the current master key."""

    def __init__(self, key_ring: MasterKeyRing) -> None:
        self._key_ring = key_ring

    def seal(self, plaintext: str) -> str:
        key_id, data = self._key_ring.encrypt(plaintext.encode(), context=_SECRET_BOX_CONTEXT)
        encoded = base64.urlsafe_b64encode(data).decode("ascii")
        return f"{_SEALED_PREFIX}.{key_id}.{encoded}"

    def open(self, sealed: str) -> str:
        try:
            prefix, key_id, encoded = sealed.split(".")
            if prefix != _SEALED_PREFIX:
                raise DecryptionError()
            data = base64.urlsafe_b64decode(encoded.encode("ascii"))
        except (ValueError, binascii.Error) as exc:
            raise DecryptionError() from exc
        return self._key_ring.decrypt(key_id, data, context=_SECRET_BOX_CONTEXT).decode()


def _decode_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise InvalidMasterKeyError("a master key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise InvalidMasterKeyError(f"each master key must be {KEY_BYTES} bytes of base64")
    return key
