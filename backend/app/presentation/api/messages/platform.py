"""Problem messages of the platform: the error families, the framework's own errors and
pagination, in every supported language."""

from __future__ import annotations

from typing import Final

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
        "auth.forbidden": "You are not allowed to do this.",
        "pagination.invalid_cursor": "The cursor is not valid: use a `next_cursor` from a previous page.",
        "payment_required": "The payment was refused.",
        "upstream_error": "A service we depend on answered with an error; please retry later.",
        "upstream_timeout": "A service we depend on did not answer in time; please retry.",
        "stored_data_corrupt": "The stored data failed its integrity check and cannot be served. "
        "Quote the request id if you report it.",
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
        "auth.forbidden": "Vous n'êtes pas autorisé à faire ceci.",
        "pagination.invalid_cursor": "Le curseur n'est pas valide : "
        "utilisez un `next_cursor` d'une page précédente.",
        "payment_required": "Le paiement a été refusé.",
        "upstream_error": "Un service dont nous dépendons a répondu par une erreur ; "
        "réessayez plus tard.",
        "upstream_timeout": "Un service dont nous dépendons n'a pas répondu à temps ; réessayez.",
        "stored_data_corrupt": "Les données stockées ont échoué au contrôle d'intégrité et ne peuvent être servies. "
        "Citez l'identifiant de requête si vous le signalez.",
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
        "auth.forbidden": "Sie dürfen das nicht tun.",
        "pagination.invalid_cursor": "Der Cursor ist ungültig: "
        "verwenden Sie einen `next_cursor` einer vorherigen Seite.",
        "payment_required": "Die Zahlung wurde abgelehnt.",
        "upstream_error": "Ein Dienst, von dem wir abhängen, hat mit einem Fehler geantwortet; "
        "bitte später erneut versuchen.",
        "upstream_timeout": "Ein Dienst, von dem wir abhängen, hat nicht rechtzeitig geantwortet; "
        "bitte erneut versuchen.",
        "stored_data_corrupt": "Die gespeicherten Daten haben die Integritätsprüfung nicht bestanden. "
        "Nennen Sie die Anfrage-ID, wenn Sie dies melden.",
    },
}
