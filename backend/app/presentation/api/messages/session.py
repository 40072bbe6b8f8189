"""Problem messages of sessions and account administration, in every supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "user.version_mismatch": "The account has changed since you last read it; read it again.",
        "auth.invalid_refresh_token": "The refresh token is invalid, expired or already used; "
        "log in again.",
        "session.not_found": "This session does not exist.",
        "user.own_access_change": "You cannot change your own role or deactivate your own account.",
        "user.changed_concurrently": "The account changed while you were updating it; retry.",
        "auth.wrong_password": "The password is not correct.",
    },
    "fr": {
        "user.version_mismatch": "Le compte a changé depuis votre dernière lecture ; relisez-le.",
        "auth.invalid_refresh_token": "Le jeton de rafraîchissement est invalide, expiré ou déjà "
        "utilisé ; reconnectez-vous.",
        "session.not_found": "Cette session n'existe pas.",
        "user.own_access_change": "Vous ne pouvez pas changer votre propre rôle ni désactiver "
        "votre propre compte.",
        "user.changed_concurrently": "Le compte a changé pendant votre modification ; réessayez.",
        "auth.wrong_password": "Le mot de passe est incorrect.",
    },
    "de": {
        "user.version_mismatch": "Das Konto hat sich seit Ihrem letzten Lesen geändert; "
        "bitte neu laden.",
        "auth.invalid_refresh_token": "Das Aktualisierungstoken ist ungültig, abgelaufen oder "
        "bereits verwendet; bitte erneut anmelden.",
        "session.not_found": "Diese Sitzung existiert nicht.",
        "user.own_access_change": "Sie können weder Ihre eigene Rolle ändern noch Ihr eigenes "
        "Konto deaktivieren.",
        "user.changed_concurrently": "Das Konto wurde während Ihrer Änderung geändert; "
        "bitte erneut versuchen.",
        "auth.wrong_password": "Das Passwort ist nicht korrekt.",
    },
}
