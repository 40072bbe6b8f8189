"""What a use case may know about the request that called it: for the audit trail and sessions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip: str | None = None  # the client's address (X-Forwarded-For only from trusted proxies)
    user_agent: str | None = None
    request_id: str | None = None


NO_REQUEST = RequestContext()  # for use cases run from the CLI or at start-up
