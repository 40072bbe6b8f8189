"""Problem messages of the access feature (the policy's rules), in every supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "policy.exists": "This rule is already in the policy.",
        "policy.not_found": "There is no such rule in the policy.",
        "policy.lockout": "This rule is the last one that lets administrators manage the policy; "
        "it cannot be removed.",
    },
    "fr": {
        "policy.exists": "Cette règle fait déjà partie de la politique.",
        "policy.not_found": "Cette règle ne fait pas partie de la politique.",
        "policy.lockout": "Cette règle est la dernière qui permet aux administrateurs de gérer "
        "la politique ; elle ne peut pas être supprimée.",
    },
    "de": {
        "policy.exists": "Diese Regel ist bereits Teil der Richtlinie.",
        "policy.not_found": "Diese Regel ist nicht Teil der Richtlinie.",
        "policy.lockout": "Diese Regel ist die letzte, mit der Administratoren die Richtlinie "
        "verwalten können; sie kann nicht entfernt werden.",
    },
}
