"""Problem messages in the caller's language, chosen from `Accept-Language` (English by default).

Each error `code` has a message per language; `{placeholders}` are filled from the error's params.
"""

from __future__ import annotations

from typing import Any, Final

from app.presentation.api.messages import access, credentials, payment, resource, session

DEFAULT_LANGUAGE: Final = "en"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "not_found": "The requested resource does not exist.",
        "method_not_allowed": "This method is not allowed on this resource.",
        "validation_error": "The request is not valid: see `errors` for each field.",
        "malformed_request": "The request could not be read.",
        "request_too_large": "The request body is larger than the {limit} bytes allowed.",
        "unsupported_media_type": "This content type is not supported here.",
        "conflict": "The request conflicts with the current state of the resource.",
        "precondition_failed": "The resource has changed since you last read it.",
        "internal_error": "Something went wrong on our side. Quote the request id if you report it.",
        "service_unavailable": "A service we depend on is unavailable; please retry shortly.",
        "retry_later": "Please retry in {retry_after_seconds} seconds.",
        "rate_limited": "Too many requests: retry in {retry_after_seconds} seconds.",
        "http_error": "The request could not be served.",
        "auth.unauthenticated": "Authentication is required: send a bearer access token.",
        "auth.invalid_credentials": "The e-mail address or password is incorrect.",
        "auth.invalid_token": "The access token is invalid or has expired.",
        "auth.forbidden": "You are not allowed to do this.",
        "auth.admin_required": "Only an administrator may do this.",
        "user.email_taken": "An account with this e-mail address already exists.",
        "user.not_found": "This user does not exist.",
        "user.weak_password": "The password is too weak: it {reason}.",
        "product.not_found": "This product does not exist.",
        "product.unknown_category": "Unknown category: it {reason}.",
        "product.version_mismatch": "The product has changed since you last read it; "
        "fetch it again and retry.",
        "pagination.invalid_cursor": "The cursor is not valid: use a `next_cursor` from a previous page.",
    },
    "fr": {
        "not_found": "La ressource demandée n'existe pas.",
        "method_not_allowed": "Cette méthode n'est pas permise sur cette ressource.",
        "validation_error": "La requête n'est pas valide : voir `errors` pour chaque champ.",
        "malformed_request": "La requête n'a pas pu être lue.",
        "request_too_large": "Le corps de la requête dépasse les {limit} octets permis.",
        "unsupported_media_type": "Ce type de contenu n'est pas pris en charge ici.",
        "conflict": "La requête est en conflit avec l'état actuel de la ressource.",
        "precondition_failed": "La ressource a changé depuis votre dernière lecture.",
        "internal_error": "Une erreur s'est produite de notre côté. "
        "Citez l'identifiant de requête si vous la signalez.",
        "service_unavailable": "Un service dont nous dépendons est indisponible ; réessayez bientôt.",
        "retry_later": "Veuillez réessayer dans {retry_after_seconds} secondes.",
        "rate_limited": "Trop de requêtes : réessayez dans {retry_after_seconds} secondes.",
        "http_error": "La requête n'a pas pu être servie.",
        "auth.unauthenticated": "Authentification requise : envoyez un jeton d'accès bearer.",
        "auth.invalid_credentials": "L'adresse e-mail ou le mot de passe est incorrect.",
        "auth.invalid_token": "Le jeton d'accès est invalide ou a expiré.",
        "auth.forbidden": "Vous n'êtes pas autorisé à faire ceci.",
        "auth.admin_required": "Seul un administrateur peut faire ceci.",
        "user.email_taken": "Un compte existe déjà avec cette adresse e-mail.",
        "user.not_found": "Cet utilisateur n'existe pas.",
        "user.weak_password": "Le mot de passe est trop faible ({reason}).",
        "product.not_found": "Ce produit n'existe pas.",
        "product.unknown_category": "Catégorie inconnue ({reason}).",
        "product.version_mismatch": "Le produit a changé depuis votre dernière lecture ; "
        "relisez-le et réessayez.",
        "pagination.invalid_cursor": "Le curseur n'est pas valide : "
        "utilisez un `next_cursor` d'une page précédente.",
    },
    "de": {
        "not_found": "Die angeforderte Ressource existiert nicht.",
        "method_not_allowed": "Diese Methode ist für diese Ressource nicht erlaubt.",
        "validation_error": "Die Anfrage ist ungültig: siehe `errors` für jedes Feld.",
        "malformed_request": "Die Anfrage konnte nicht gelesen werden.",
        "request_too_large": "Der Anfragekörper ist größer als die erlaubten {limit} Bytes.",
        "unsupported_media_type": "Dieser Inhaltstyp wird hier nicht unterstützt.",
        "conflict": "Die Anfrage steht im Konflikt mit dem aktuellen Zustand der Ressource.",
        "precondition_failed": "Die Ressource hat sich seit Ihrem letzten Lesen geändert.",
        "internal_error": "Bei uns ist ein Fehler aufgetreten. "
        "Nennen Sie die Anfrage-ID, wenn Sie ihn melden.",
        "service_unavailable": "Ein benötigter Dienst ist nicht verfügbar; bitte später erneut versuchen.",
        "retry_later": "Bitte in {retry_after_seconds} Sekunden erneut versuchen.",
        "rate_limited": "Zu viele Anfragen: bitte in {retry_after_seconds} Sekunden erneut versuchen.",
        "http_error": "Die Anfrage konnte nicht bedient werden.",
        "auth.unauthenticated": "Anmeldung erforderlich: senden Sie ein Bearer-Zugriffstoken.",
        "auth.invalid_credentials": "E-Mail-Adresse oder Passwort ist falsch.",
        "auth.invalid_token": "Das Zugriffstoken ist ungültig oder abgelaufen.",
        "auth.forbidden": "Sie dürfen das nicht tun.",
        "auth.admin_required": "Nur ein Administrator darf das tun.",
        "user.email_taken": "Ein Konto mit dieser E-Mail-Adresse existiert bereits.",
        "user.not_found": "Dieser Benutzer existiert nicht.",
        "user.weak_password": "Das Passwort ist zu schwach ({reason}).",
        "product.not_found": "Dieses Produkt existiert nicht.",
        "product.unknown_category": "Unbekannte Kategorie ({reason}).",
        "product.version_mismatch": "Das Produkt hat sich seit Ihrem letzten Lesen geändert; "
        "laden Sie es neu und versuchen Sie es erneut.",
        "pagination.invalid_cursor": "Der Cursor ist ungültig: "
        "verwenden Sie einen `next_cursor` einer vorherigen Seite.",
    },
}

for _context in (session, credentials, access, resource, payment):
    for _language, _messages in _context.MESSAGES.items():
        MESSAGES[_language].update(_messages)

SUPPORTED_LANGUAGES: Final = frozenset(MESSAGES)


def negotiate_language(accept_language: str | None) -> str:
    """The supported language the caller prefers most (RFC 9110 quality values), else English."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().split("-")[0].lower()
        if language in SUPPORTED_LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def translate(code: str, language: str, params: dict[str, Any] | None = None) -> str:
    catalogue = MESSAGES.get(language, MESSAGES[DEFAULT_LANGUAGE])
    template = catalogue.get(code) or MESSAGES[DEFAULT_LANGUAGE].get(code)
    if template is None:
        template = catalogue["http_error"]
    try:
        return template.format(**(params or {}))
    except (KeyError, IndexError, ValueError):
        return template
