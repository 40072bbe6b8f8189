"""Problem messages of the session feature (log-in, tokens, the session list), in every
supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "auth.invalid_credentials": "The e-mail address or password is incorrect.",
        "auth.invalid_token": "The access token is invalid or has expired.",
        "auth.invalid_refresh_token": "The refresh token is invalid, expired or already used; "
        "log in again.",
        "session.not_found": "This session does not exist.",
    },
    "fr": {
        "auth.invalid_credentials": "L'adresse e-mail ou le mot de passe est incorrect.",
        "auth.invalid_token": "Le jeton d'accès est invalide ou a expiré.",
        "auth.invalid_refresh_token": "Le jeton de rafraîchissement est invalide, expiré ou déjà "
        "utilisé ; reconnectez-vous.",
        "session.not_found": "Cette session n'existe pas.",
    },
    "de": {
        "auth.invalid_credentials": "E-Mail-Adresse oder Passwort ist falsch.",
        "auth.invalid_token": "Das Zugriffstoken ist ungültig oder abgelaufen.",
        "auth.invalid_refresh_token": "Das Aktualisierungstoken ist ungültig, abgelaufen oder "
        "bereits verwendet; bitte erneut anmelden.",
        "session.not_found": "Diese Sitzung existiert nicht.",
    },
}
