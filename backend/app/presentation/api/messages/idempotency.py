"""Problem messages of idempotency keys, in every supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "idempotency.key_reused": "This Idempotency-Key was used with a different request; "
        "use a new key for a new request.",
        "idempotency.in_progress": "A request with this Idempotency-Key is still being processed; "
        "retry when it has finished.",
    },
    "fr": {
        "idempotency.key_reused": "Cette Idempotency-Key a servi pour une autre requête ; "
        "utilisez une nouvelle clé pour une nouvelle requête.",
        "idempotency.in_progress": "Une requête avec cette Idempotency-Key est en cours ; "
        "réessayez quand elle sera terminée.",
    },
    "de": {
        "idempotency.key_reused": "Dieser Idempotency-Key wurde für eine andere Anfrage verwendet; "
        "nehmen Sie für eine neue Anfrage einen neuen Schlüssel.",
        "idempotency.in_progress": "Eine Anfrage mit diesem Idempotency-Key wird noch bearbeitet; "
        "bitte nach ihrem Abschluss erneut versuchen.",
    },
}
