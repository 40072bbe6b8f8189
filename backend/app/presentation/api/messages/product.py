"""Problem messages of the product feature, in every supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "product.not_found": "This product does not exist.",
        "product.unknown_category": "Unknown category: it {reason}.",
        "product.version_mismatch": "The product has changed since you last read it; "
        "fetch it again and retry.",
    },
    "fr": {
        "product.not_found": "Ce produit n'existe pas.",
        "product.unknown_category": "Catégorie inconnue ({reason}).",
        "product.version_mismatch": "Le produit a changé depuis votre dernière lecture ; "
        "relisez-le et réessayez.",
    },
    "de": {
        "product.not_found": "Dieses Produkt existiert nicht.",
        "product.unknown_category": "Unbekannte Kategorie ({reason}).",
        "product.version_mismatch": "Das Produkt hat sich seit Ihrem letzten Lesen geändert; "
        "laden Sie es neu und versuchen Sie es erneut.",
    },
}
