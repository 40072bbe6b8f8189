"""Domain errors: the base classes and the families. Each feature's errors live with the feature
(`app.domain.entities.<feature>`); errors about the transport of a request (its size, its media type,
an upstream's failure) are not domain errors and live in `app.application.errors`.

Every error has a stable machine `code`; none knows how it is answered. Presentation maps each
family to an answer in one table, and a catalogue holds a message for each `code`, whose
placeholders `params` fill.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CodedError(Exception):
    """What the domain's and the application's errors share: a `code`, and `params` for its message.

    It lives here, in the innermost layer, because both layers raise its subclasses; presentation
    renders any of them the same way.
    """

    code: ClassVar[str] = "coded_error"
    # Params the client may see as members of the problem body (the rest only fill the message).
    public_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params: Any) -> None:
        super().__init__(self.code)
        self.params = params


class DomainError(CodedError):
    """A domain rule refused the request."""

    code = "domain_error"


# Families: presentation maps each family (not each error) to an answer.
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
    """The caller could not be identified: no credentials, or ones we do not accept."""

    code = "auth.unauthenticated"


class PermissionDeniedError(DomainError):
    """The caller is identified, but may not do this."""

    code = "auth.forbidden"


class PreconditionFailedError(DomainError):
    """The caller's view of the state (a version they read) is no longer the stored one."""

    code = "precondition_failed"
