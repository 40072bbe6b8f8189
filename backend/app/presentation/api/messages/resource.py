"""Problem messages of the resource feature (resources and their files), in every supported
language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "resource.not_found": "This resource does not exist.",
        "resource.version_mismatch": "The resource has changed since you last read it; "
        "fetch it again and retry.",
        "file.not_found": "This file does not exist.",
        "file.too_large": "The file is larger than the {limit} bytes allowed.",
        "file.unsupported_type": "This type of file is not accepted: upload audio (wav, mp3, ogg, "
        "flac), PDF, PNG, JPEG or plain text.",
        "file.missing": "The upload has no file: send it as the multipart field `file`.",
        "file.corrupt": "The stored file failed its integrity check and cannot be served. "
        "Quote the request id if you report it.",
    },
    "fr": {
        "resource.not_found": "Cette ressource n'existe pas.",
        "resource.version_mismatch": "La ressource a changé depuis votre dernière lecture ; "
        "relisez-la et réessayez.",
        "file.not_found": "Ce fichier n'existe pas.",
        "file.too_large": "Le fichier dépasse les {limit} octets autorisés.",
        "file.unsupported_type": "Ce type de fichier n'est pas accepté : envoyez de l'audio (wav, "
        "mp3, ogg, flac), un PDF, un PNG, un JPEG ou du texte brut.",
        "file.missing": "L'envoi ne contient pas de fichier : utilisez le champ multipart `file`.",
        "file.corrupt": "Le fichier stocké a échoué au contrôle d'intégrité et ne peut être servi. "
        "Citez l'identifiant de requête si vous le signalez.",
    },
    "de": {
        "resource.not_found": "Diese Ressource existiert nicht.",
        "resource.version_mismatch": "Die Ressource hat sich seit Ihrem letzten Lesen geändert; "
        "laden Sie sie neu und versuchen Sie es erneut.",
        "file.not_found": "Diese Datei existiert nicht.",
        "file.too_large": "Die Datei ist größer als die erlaubten {limit} Bytes.",
        "file.unsupported_type": "Dieser Dateityp wird nicht angenommen: Audio (wav, mp3, ogg, "
        "flac), PDF, PNG, JPEG oder reiner Text.",
        "file.missing": "Der Upload enthält keine Datei: senden Sie sie im Multipart-Feld `file`.",
        "file.corrupt": "Die gespeicherte Datei hat die Integritätsprüfung nicht bestanden. "
        "Nennen Sie die Anfrage-ID, wenn Sie dies melden.",
    },
}
