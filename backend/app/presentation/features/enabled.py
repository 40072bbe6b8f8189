"""The features this app serves, in order: adding or removing a feature is one line here.

The order is the order of the GDPR export's sections; erasure goes the other way round, so a
feature that points at another (a session at its user) comes after it.
"""

ENABLED_FEATURES = (
    "health",
    "event",
    "job",
    "user",
    "session",
    "credentials",
    "access",
    "product",
    "resource",
    "pipeline",
    "payment",
    "audit",
    "idempotency",
    "privacy",
)
