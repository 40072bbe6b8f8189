"""Application errors: refusals about how a request travels, not about a domain rule.

A body too large, a media type we do not take, a dependency that cannot answer, an upstream that
failed: none of them is a rule of the domain, so none lives in `app.domain`. Feature-specific ones
live with the port or service that raises them (the payment provider's with its port, the cursor's
with pagination). An application error may also belong to a domain family when that is what it is
(an idempotency key reused with another request is an invalid value, whichever layer sees it).
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import CodedError


class ApplicationError(CodedError):
    """An error of the application layer: the same `code`/`params`/`public_params` as DomainError.

    Both subclass `CodedError` rather than one the other: a transport error is not a domain error
    (`except DomainError` must not catch a timed-out provider), yet presentation renders both alike.
    """

    code = "application_error"


# Families: presentation maps each family (not each error) to an answer.
class MalformedRequestError(ApplicationError):
    code = "malformed_request"


class PayloadTooLargeError(ApplicationError):
    code = "request_too_large"


class UnsupportedMediaTypeError(ApplicationError):
    code = "unsupported_media_type"


class RetryLaterError(ApplicationError):
    """The request may succeed later; `retry_after_seconds` says when (at least one second)."""

    code = "retry_later"

    def __init__(self, retry_after_seconds: int, **params: Any) -> None:
        super().__init__(retry_after_seconds=retry_after_seconds, **params)
        self.retry_after_seconds = max(1, retry_after_seconds)


class RateLimitedError(RetryLaterError):
    code = "rate_limited"


class DependencyUnavailableError(RetryLaterError):
    """A service we depend on (Redis, a provider) cannot answer: fail closed, never open."""

    code = "service_unavailable"


class PaymentRequiredError(ApplicationError):
    """The payment was refused."""

    code = "payment_required"


class UpstreamError(ApplicationError):
    """A provider answered with a failure that is not the caller's."""

    code = "upstream_error"


class UpstreamTimeoutError(ApplicationError):
    """A provider did not answer within our time limit."""

    code = "upstream_timeout"


class StoredDataCorruptError(ApplicationError):
    """Data we stored does not read back as it was written: our fault, never the caller's."""

    code = "stored_data_corrupt"
