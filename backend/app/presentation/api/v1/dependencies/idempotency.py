"""Composition of the idempotency feature: the key service payment use cases claim keys with."""

from __future__ import annotations

from app.application.idempotency import IdempotencyKeys
from app.presentation.container import Provider, ProviderKey

IDEMPOTENCY_KEYS = ProviderKey[IdempotencyKeys]("idempotency.keys")

PROVIDERS = (
    Provider(key=IDEMPOTENCY_KEYS, build=lambda container: IdempotencyKeys(container.secret_box)),
)
