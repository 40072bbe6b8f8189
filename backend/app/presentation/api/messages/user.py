"""Problem messages of the user feature (accounts and their administration), in every
supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "auth.admin_required": "Only an administrator may do this.",
        "user.email_taken": "An account with this e-mail address already exists.",
        "user.not_found": "This user does not exist.",
        "user.weak_password": "The password is too weak: it {reason}.",
        "user.version_mismatch": "The account has changed since you last read it; read it again.",
        "user.own_access_change": "You cannot change your own role or deactivate your own account.",
        "user.changed_concurrently": "The account changed while you were updating it; retry.",
    },
    "fr": {
        "auth.admin_required": "Seul un administrateur peut faire ceci.",
        "user.email_taken": "Un compte existe déjà avec cette adresse e-mail.",
        "user.not_found": "Cet utilisateur n'existe pas.",
        "user.weak_password": "Le mot de passe est trop faible ({reason}).",
        "user.version_mismatch": "Le compte a changé depuis votre dernière lecture ; relisez-le.",
        "user.own_access_change": "Vous ne pouvez pas changer votre propre rôle ni désactiver "
        "votre propre compte.",
        "user.changed_concurrently": "Le compte a changé pendant votre modification ; réessayez.",
    },
    "de": {
        "auth.admin_required": "Nur ein Administrator darf das tun.",
        "user.email_taken": "Ein Konto mit dieser E-Mail-Adresse existiert bereits.",
        "user.not_found": "Dieser Benutzer existiert nicht.",
        "user.weak_password": "Das Passwort ist zu schwach ({reason}).",
        "user.version_mismatch": "Das Konto hat sich seit Ihrem letzten Lesen geändert; "
        "bitte neu laden.",
        "user.own_access_change": "Sie können weder Ihre eigene Rolle ändern noch Ihr eigenes "
        "Konto deaktivieren.",
        "user.changed_concurrently": "Das Konto wurde während Ihrer Änderung geändert; "
        "bitte erneut versuchen.",
    },
}
