"""Problem messages of payments, in every supported language (merged by `i18n`)."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "payment_required": "The payment was refused.",
        "upstream_error": "A service we depend on answered with an error; please retry later.",
        "upstream_timeout": "A service we depend on did not answer in time; please retry.",
        "payment.not_found": "This payment does not exist.",
        "payment.not_configured": "Payments are not configured on this server: {setting} is not set.",
        "payment.provider_unavailable": "The payment provider is unavailable; "
        "retry in {retry_after_seconds} seconds.",
        "payment.declined": "The card was declined ({decline_code}).",
        "payment.request_rejected": "The payment provider refused the request ({provider_code}).",
        "payment.provider_error": "The payment provider failed to answer properly; "
        "please retry with the same Idempotency-Key.",
        "payment.provider_timeout": "The payment provider did not answer in time; "
        "retry with the same Idempotency-Key to get its result.",
        "payment.amount_mismatch": "The amount does not match the product: it {reason}.",
        "idempotency.key_reused": "This Idempotency-Key was used with a different request; "
        "use a new key for a new request.",
        "idempotency.in_progress": "A request with this Idempotency-Key is still being processed; "
        "retry when it has finished.",
        "webhook.invalid_signature": "The webhook signature is missing, invalid or too old.",
        "webhook.malformed": "The webhook body is not a Stripe event.",
    },
    "fr": {
        "payment_required": "Le paiement a été refusé.",
        "upstream_error": "Un service dont nous dépendons a répondu par une erreur ; "
        "réessayez plus tard.",
        "upstream_timeout": "Un service dont nous dépendons n'a pas répondu à temps ; réessayez.",
        "payment.not_found": "Ce paiement n'existe pas.",
        "payment.not_configured": "Les paiements ne sont pas configurés sur ce serveur : "
        "{setting} n'est pas défini.",
        "payment.provider_unavailable": "Le prestataire de paiement est indisponible ; "
        "réessayez dans {retry_after_seconds} secondes.",
        "payment.declined": "La carte a été refusée ({decline_code}).",
        "payment.request_rejected": "Le prestataire de paiement a refusé la requête "
        "({provider_code}).",
        "payment.provider_error": "Le prestataire de paiement n'a pas répondu correctement ; "
        "réessayez avec la même Idempotency-Key.",
        "payment.provider_timeout": "Le prestataire de paiement n'a pas répondu à temps ; "
        "réessayez avec la même Idempotency-Key pour obtenir son résultat.",
        "payment.amount_mismatch": "Le montant ne correspond pas au produit : il {reason}.",
        "idempotency.key_reused": "Cette Idempotency-Key a servi pour une autre requête ; "
        "utilisez une nouvelle clé pour une nouvelle requête.",
        "idempotency.in_progress": "Une requête avec cette Idempotency-Key est en cours ; "
        "réessayez quand elle sera terminée.",
        "webhook.invalid_signature": "La signature du webhook est absente, invalide ou trop "
        "ancienne.",
        "webhook.malformed": "Le corps du webhook n'est pas un événement Stripe.",
    },
    "de": {
        "payment_required": "Die Zahlung wurde abgelehnt.",
        "upstream_error": "Ein Dienst, von dem wir abhängen, hat mit einem Fehler geantwortet; "
        "bitte später erneut versuchen.",
        "upstream_timeout": "Ein Dienst, von dem wir abhängen, hat nicht rechtzeitig geantwortet; "
        "bitte erneut versuchen.",
        "payment.not_found": "Diese Zahlung existiert nicht.",
        "payment.not_configured": "Zahlungen sind auf diesem Server nicht eingerichtet: "
        "{setting} ist nicht gesetzt.",
        "payment.provider_unavailable": "Der Zahlungsanbieter ist nicht erreichbar; "
        "bitte in {retry_after_seconds} Sekunden erneut versuchen.",
        "payment.declined": "Die Karte wurde abgelehnt ({decline_code}).",
        "payment.request_rejected": "Der Zahlungsanbieter hat die Anfrage abgelehnt "
        "({provider_code}).",
        "payment.provider_error": "Der Zahlungsanbieter hat nicht korrekt geantwortet; "
        "bitte mit demselben Idempotency-Key erneut versuchen.",
        "payment.provider_timeout": "Der Zahlungsanbieter hat nicht rechtzeitig geantwortet; "
        "mit demselben Idempotency-Key erneut versuchen, um das Ergebnis zu erhalten.",
        "payment.amount_mismatch": "Der Betrag passt nicht zum Produkt: er {reason}.",
        "idempotency.key_reused": "Dieser Idempotency-Key wurde für eine andere Anfrage verwendet; "
        "nehmen Sie für eine neue Anfrage einen neuen Schlüssel.",
        "idempotency.in_progress": "Eine Anfrage mit diesem Idempotency-Key wird noch bearbeitet; "
        "bitte nach ihrem Abschluss erneut versuchen.",
        "webhook.invalid_signature": "Die Webhook-Signatur fehlt, ist ungültig oder zu alt.",
        "webhook.malformed": "Der Webhook-Inhalt ist kein Stripe-Ereignis.",
    },
}
