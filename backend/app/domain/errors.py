"""Domain errors: each has a stable machine `code`; none knows about HTTP.

Presentation maps the families below to status codes in one table. A message for each `code` lives in
the translation catalogue; `params` fill its placeholders.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"

    def __init__(self, **params: Any) -> None:
        super().__init__(self.code)
        self.params = params


# Families: presentation maps each family (not each error) to a status code.
class NotFoundError(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    code = "conflict"


class InvalidValueError(DomainError):
    """A value breaks a domain rule; `field` names the input it came from."""

    code = "validation_error"

    def __init__(self, field: str, reason: str, **params: Any) -> None:
        super().__init__(field=field, reason=reason, **params)
        self.field = field
        self.reason = reason


class AuthenticationError(DomainError):
    code = "auth.unauthenticated"


class PermissionDeniedError(DomainError):
    code = "auth.forbidden"


class PreconditionFailedError(DomainError):
    code = "precondition_failed"


class MalformedRequestError(DomainError):
    code = "malformed_request"


# Catalog
class ProductNotFoundError(NotFoundError):
    code = "product.not_found"


class UnknownCategoryError(InvalidValueError):
    code = "product.unknown_category"


class ProductVersionMismatchError(PreconditionFailedError):
    code = "product.version_mismatch"


# Identity
class EmailAlreadyRegisteredError(ConflictError):
    code = "user.email_taken"


class UserNotFoundError(NotFoundError):
    code = "user.not_found"


class InvalidCredentialsError(AuthenticationError):
    code = "auth.invalid_credentials"


class InvalidTokenError(AuthenticationError):
    code = "auth.invalid_token"


class AdminRequiredError(PermissionDeniedError):
    code = "auth.admin_required"


class WeakPasswordError(InvalidValueError):
    code = "user.weak_password"


# Pagination
class InvalidCursorError(MalformedRequestError):
    code = "pagination.invalid_cursor"
