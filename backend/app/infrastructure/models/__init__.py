"""Every table, imported here so that `Base.metadata` (Alembic, tests) knows them all."""

from app.infrastructure.models.access import AccessPolicyVersionModel, CasbinRuleModel
from app.infrastructure.models.audit import AuditEventModel
from app.infrastructure.models.credentials import OneTimeTokenModel, RecoveryCodeModel
from app.infrastructure.models.payment import IdempotencyKeyModel, PaymentModel, WebhookEventModel
from app.infrastructure.models.product import ProductModel
from app.infrastructure.models.resource import ResourceFileModel, ResourceModel
from app.infrastructure.models.session import SessionModel
from app.infrastructure.models.user import UserModel

__all__ = [
    "AccessPolicyVersionModel",
    "AuditEventModel",
    "CasbinRuleModel",
    "IdempotencyKeyModel",
    "OneTimeTokenModel",
    "PaymentModel",
    "ProductModel",
    "RecoveryCodeModel",
    "ResourceFileModel",
    "ResourceModel",
    "SessionModel",
    "UserModel",
    "WebhookEventModel",
]
