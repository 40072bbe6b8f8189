"""Problem messages of the credentials feature (passwords, e-mail links, MFA), in every
supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "auth.invalid_one_time_token": "This link is invalid, has expired or was already used; "
        "ask for a new one.",
        "auth.invalid_mfa_code": "The code is wrong or was already used.",
        "auth.wrong_mfa_code": "A current authenticator code (or a recovery code) is required, "
        "and this one is wrong or was already used.",
        "auth.wrong_password_or_code": "The password or the authenticator code (or recovery "
        "code) is wrong.",
        "mfa.already_enabled": "Two-factor authentication is already on.",
        "mfa.not_enabled": "Two-factor authentication is not on.",
        "mfa.setup_missing": "Start with /auth/mfa/setup, then confirm a code from that secret.",
        "auth.wrong_password": "The password is not correct.",
    },
    "fr": {
        "auth.invalid_one_time_token": "Ce lien est invalide, a expiré ou a déjà servi ; "
        "demandez-en un nouveau.",
        "auth.invalid_mfa_code": "Le code est faux ou a déjà servi.",
        "auth.wrong_mfa_code": "Un code d'authentification actuel (ou un code de secours) est "
        "requis, et celui-ci est faux ou a déjà servi.",
        "auth.wrong_password_or_code": "Le mot de passe ou le code d'authentification (ou de "
        "secours) est faux.",
        "mfa.already_enabled": "L'authentification à deux facteurs est déjà activée.",
        "mfa.not_enabled": "L'authentification à deux facteurs n'est pas activée.",
        "mfa.setup_missing": "Commencez par /auth/mfa/setup, puis confirmez un code de ce secret.",
        "auth.wrong_password": "Le mot de passe est incorrect.",
    },
    "de": {
        "auth.invalid_one_time_token": "Dieser Link ist ungültig, abgelaufen oder wurde bereits "
        "verwendet; fordern Sie einen neuen an.",
        "auth.invalid_mfa_code": "Der Code ist falsch oder wurde bereits verwendet.",
        "auth.wrong_mfa_code": "Ein aktueller Authentifizierungscode (oder ein Wiederherstellungs"
        "code) ist erforderlich, und dieser ist falsch oder wurde bereits verwendet.",
        "auth.wrong_password_or_code": "Das Passwort oder der Authentifizierungscode (oder "
        "Wiederherstellungscode) ist falsch.",
        "mfa.already_enabled": "Die Zwei-Faktor-Authentifizierung ist bereits aktiv.",
        "mfa.not_enabled": "Die Zwei-Faktor-Authentifizierung ist nicht aktiv.",
        "mfa.setup_missing": "Beginnen Sie mit /auth/mfa/setup und bestätigen Sie dann einen Code.",
        "auth.wrong_password": "Das Passwort ist nicht korrekt.",
    },
}
