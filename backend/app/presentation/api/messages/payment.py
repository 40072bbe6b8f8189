"""Problem messages of the payment feature (the provider, its webhooks), in every supported
language."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
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
        "webhook.invalid_signature": "The webhook signature is missing, invalid or too old.",
        "webhook.malformed": "The webhook body is not a Stripe event.",
    },
    "fr": {
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
        "webhook.invalid_signature": "La signature du webhook est absente, invalide ou trop "
        "ancienne.",
        "webhook.malformed": "Le corps du webhook n'est pas un événement Stripe.",
    },
    "de": {
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
        "webhook.invalid_signature": "Die Webhook-Signatur fehlt, ist ungültig oder zu alt.",
        "webhook.malformed": "Der Webhook-Inhalt ist kein Stripe-Ereignis.",
    },
}
