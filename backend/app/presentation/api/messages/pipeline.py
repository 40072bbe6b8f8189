"""Problem messages of the pipeline feature, in every supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "pipeline.finished": "The run has finished (it is {status}): nothing more runs in it.",
        "pipeline.step_not_runnable": "The step {step} is not the one this run runs next.",
        "pipeline.step_not_in_run": "The step {step} is not part of this run.",
        "pipeline.not_found": "This pipeline run does not exist.",
        "pipeline.unsupported_media": "No pipeline reads files of type {media_type}: audio "
        "(WAV, FLAC, OGG, MP3), PDF and text are read.",
        "pipeline.invalid_steps": "The steps are not valid: they {reason}.",
        "pipeline.not_finished": "The run has not succeeded (it is {status}): its result is "
        "not there yet.",
        "pipeline.not_retryable": "Only a failed run can be retried; this one is {status}.",
        "pipeline.unreadable_media": "The file cannot be read: {reason}.",
        "pipeline.model_unavailable": "The model server is unavailable; retry in "
        "{retry_after_seconds} seconds.",
    },
    "fr": {
        "pipeline.finished": "L'exécution est terminée (elle est {status}) : plus rien n'y tourne.",
        "pipeline.step_not_runnable": "L'étape {step} n'est pas la prochaine de cette exécution.",
        "pipeline.step_not_in_run": "L'étape {step} ne fait pas partie de cette exécution.",
        "pipeline.not_found": "Cette exécution de pipeline n'existe pas.",
        "pipeline.unsupported_media": "Aucun pipeline ne lit les fichiers de type "
        "{media_type} : l'audio (WAV, FLAC, OGG, MP3), le PDF et le texte sont lus.",
        "pipeline.invalid_steps": "Les étapes ne sont pas valides : elles {reason}.",
        "pipeline.not_finished": "L'exécution n'a pas réussi (elle est {status}) : son "
        "résultat n'est pas encore là.",
        "pipeline.not_retryable": "Seule une exécution en échec peut être relancée ; celle-ci "
        "est {status}.",
        "pipeline.unreadable_media": "Le fichier ne peut pas être lu : {reason}.",
        "pipeline.model_unavailable": "Le serveur de modèles est indisponible ; réessayez dans "
        "{retry_after_seconds} secondes.",
    },
    "de": {
        "pipeline.finished": "Die Ausführung ist beendet (Status {status}): darin läuft "
        "nichts mehr.",
        "pipeline.step_not_runnable": "Der Schritt {step} ist nicht der nächste dieser Ausführung.",
        "pipeline.step_not_in_run": "Der Schritt {step} gehört nicht zu dieser Ausführung.",
        "pipeline.not_found": "Diese Pipeline-Ausführung existiert nicht.",
        "pipeline.unsupported_media": "Keine Pipeline liest Dateien des Typs {media_type}: "
        "gelesen werden Audio (WAV, FLAC, OGG, MP3), PDF und Text.",
        "pipeline.invalid_steps": "Die Schritte sind ungültig: sie {reason}.",
        "pipeline.not_finished": "Die Ausführung ist nicht erfolgreich abgeschlossen (Status "
        "{status}): ihr Ergebnis liegt noch nicht vor.",
        "pipeline.not_retryable": "Nur eine fehlgeschlagene Ausführung kann wiederholt werden; "
        "diese ist {status}.",
        "pipeline.unreadable_media": "Die Datei kann nicht gelesen werden: {reason}.",
        "pipeline.model_unavailable": "Der Modellserver ist nicht erreichbar; in "
        "{retry_after_seconds} Sekunden erneut versuchen.",
    },
}
