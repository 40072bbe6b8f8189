"""Problem messages of background jobs, in every supported language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "job.not_found": "There is no such job.",
        "job.not_retryable": "Only a failed, dead or canceled job can be run again.",
        "job.not_cancelable": "Only a queued or failed job can be canceled.",
        "job.changed": "The job changed while you asked; read it again and decide.",
        # Met by workers only, never by a client: worded for the logs.
        "job.not_startable": "The job is not due, or another worker runs it.",
        "job.out_of_attempts": "The job has used all its attempts.",
        "job.lease_lost": "The job's lease expired and another worker took it over.",
    },
    "fr": {
        "job.not_found": "Cette tâche n'existe pas.",
        "job.not_retryable": "Seule une tâche échouée, morte ou annulée peut être relancée.",
        "job.not_cancelable": "Seule une tâche en attente ou échouée peut être annulée.",
        "job.changed": "La tâche a changé entre-temps ; relisez-la puis décidez.",
        "job.not_startable": "La tâche n'est pas due, ou un autre worker l'exécute.",
        "job.out_of_attempts": "La tâche a épuisé toutes ses tentatives.",
        "job.lease_lost": "Le bail de la tâche a expiré et un autre worker l'a reprise.",
    },
    "de": {
        "job.not_found": "Diesen Job gibt es nicht.",
        "job.not_retryable": "Nur ein fehlgeschlagener, toter oder abgebrochener Job kann erneut "
        "laufen.",
        "job.not_cancelable": "Nur ein wartender oder fehlgeschlagener Job kann abgebrochen werden.",
        "job.changed": "Der Job hat sich inzwischen geändert; lesen Sie ihn neu und entscheiden "
        "Sie dann.",
        "job.not_startable": "Der Job ist nicht fällig, oder ein anderer Worker führt ihn aus.",
        "job.out_of_attempts": "Der Job hat alle Versuche aufgebraucht.",
        "job.lease_lost": "Die Sperre des Jobs ist abgelaufen; ein anderer Worker hat ihn übernommen.",
    },
}
