"""Domain errors: each has a stable machine `code`; none knows about HTTP.

Presentation maps the families below to status codes in one table. A message for each `code` lives in
the translation catalogue; `params` fill its placeholders.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    # Params the client may see as members of the problem body (the rest only fill the message).
    public_params: ClassVar[tuple[str, ...]] = ()

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


class PayloadTooLargeError(DomainError):
    code = "request_too_large"


class UnsupportedMediaTypeError(DomainError):
    code = "unsupported_media_type"


class RetryLaterError(DomainError):
    """The request may succeed later; `retry_after_seconds` says when (answered as `Retry-After`)."""

    code = "retry_later"

    def __init__(self, retry_after_seconds: int, **params: Any) -> None:
        super().__init__(retry_after_seconds=retry_after_seconds, **params)
        self.retry_after_seconds = max(1, retry_after_seconds)


class RateLimitedError(RetryLaterError):
    code = "rate_limited"


class DependencyUnavailableError(RetryLaterError):
    """A service we depend on (Redis, a provider) cannot answer: fail closed, never open."""

    code = "service_unavailable"


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


# Sessions (refresh tokens, logout, session list)
class InvalidRefreshTokenError(AuthenticationError):
    """Unknown, spent, expired or revoked: one answer, so a probe learns nothing."""

    code = "auth.invalid_refresh_token"


class SessionNotFoundError(NotFoundError):
    code = "session.not_found"


class OwnAccessChangeError(ConflictError):
    """An administrator may not demote or deactivate themselves (and lock everyone out)."""

    code = "user.own_access_change"


class UserChangedConcurrentlyError(ConflictError):
    code = "user.changed_concurrently"


class UserVersionMismatchError(PreconditionFailedError):
    """`If-Match` names a version of the account other than the stored one."""

    code = "user.version_mismatch"


class WrongPasswordError(PermissionDeniedError):
    """The caller is authenticated, but the password they confirmed a sensitive step with is not
    theirs (403: their token stays valid, unlike a 401)."""

    code = "auth.wrong_password"


# (errors of the sessions work go above this line)


# Credentials (passwords, e-mail verification and reset, MFA)
class InvalidOneTimeTokenError(InvalidValueError):
    """An e-mail verification or password reset token that is unknown, used or expired."""

    code = "auth.invalid_one_time_token"

    def __init__(self) -> None:
        super().__init__(field="token", reason="is invalid, expired or already used")


class InvalidMfaCodeError(AuthenticationError):
    """The second factor at login was wrong: no tokens."""

    code = "auth.invalid_mfa_code"


class WrongSecondFactorError(PermissionDeniedError):
    """A signed-in user confirmed a sensitive step with a wrong or missing TOTP/recovery code."""

    code = "auth.wrong_mfa_code"


class WrongPasswordOrCodeError(PermissionDeniedError):
    """With MFA on, a sensitive step's password or code is wrong: one answer for either, so a
    guess at the password cannot be confirmed without the second factor."""

    code = "auth.wrong_password_or_code"


class MfaAlreadyEnabledError(ConflictError):
    code = "mfa.already_enabled"


class MfaNotEnabledError(ConflictError):
    code = "mfa.not_enabled"


class MfaSetupMissingError(ConflictError):
    code = "mfa.setup_missing"


# (errors of the credentials work go above this line)


# Access (policies, audit)
class PolicyRuleExistsError(ConflictError):
    code = "policy.exists"


class PolicyRuleNotFoundError(NotFoundError):
    code = "policy.not_found"


class PolicyLockoutError(ConflictError):
    """Removing the rule would leave no administrator able to manage the policy."""

    code = "policy.lockout"


# (errors of the access work go above this line)


# Resources and files
class ResourceNotFoundError(NotFoundError):
    code = "resource.not_found"


class ResourceVersionMismatchError(PreconditionFailedError):
    code = "resource.version_mismatch"


class FileNotFoundInResourceError(NotFoundError):
    code = "file.not_found"


class FileTooLargeError(PayloadTooLargeError):
    code = "file.too_large"


class UnsupportedFileTypeError(UnsupportedMediaTypeError):
    code = "file.unsupported_type"


class MissingFileError(InvalidValueError):
    code = "file.missing"


class StoredFileCorruptError(DomainError):
    """The stored ciphertext does not authenticate: altered on disk, or its key is gone."""

    code = "file.corrupt"


# (errors of the resources work go above this line)


# Payments
class PaymentRequiredError(DomainError):
    """Payment was refused (402)."""

    code = "payment_required"


class UpstreamError(DomainError):
    """A provider answered with a failure that is not the caller's (502)."""

    code = "upstream_error"


class UpstreamTimeoutError(DomainError):
    """A provider did not answer within our time limit (504)."""

    code = "upstream_timeout"


class PaymentNotFoundError(NotFoundError):
    code = "payment.not_found"


class PaymentsNotConfiguredError(RetryLaterError):
    """A setting the payment provider needs is missing: `setting` names it."""

    code = "payment.not_configured"
    public_params = ("setting",)

    def __init__(self, setting: str) -> None:
        super().__init__(retry_after_seconds=300, setting=setting)


class PaymentProviderUnavailableError(DependencyUnavailableError):
    """The provider failed too often: calls are paused (circuit open) or it cannot be reached."""

    code = "payment.provider_unavailable"


class PaymentDeclinedError(PaymentRequiredError):
    """The provider declined the card; `decline_code` says why, as the provider put it."""

    code = "payment.declined"
    public_params = ("decline_code",)


class PaymentRequestRejectedError(MalformedRequestError):
    """The provider refused the request itself (400); `provider_code` says why."""

    code = "payment.request_rejected"
    public_params = ("provider_code",)


class PaymentProviderError(UpstreamError):
    code = "payment.provider_error"


class PaymentProviderTimeoutError(UpstreamTimeoutError):
    code = "payment.provider_timeout"


class AmountMismatchError(InvalidValueError):
    """A client-sent amount or currency that disagrees with the product's price."""

    code = "payment.amount_mismatch"


class IdempotencyKeyReusedError(InvalidValueError):
    """The Idempotency-Key was used before with a different request body."""

    code = "idempotency.key_reused"

    def __init__(self) -> None:
        super().__init__(field="Idempotency-Key", reason="was used with a different request")


class IdempotentRequestInProgressError(ConflictError):
    """The first request with this Idempotency-Key is still running."""

    code = "idempotency.in_progress"


class InvalidWebhookSignatureError(MalformedRequestError):
    """Missing, malformed, wrong, or outside the 5-minute tolerance: one answer for all."""

    code = "webhook.invalid_signature"


class MalformedWebhookError(MalformedRequestError):
    code = "webhook.malformed"


# (errors of the payments work go above this line)
