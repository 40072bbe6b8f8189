"""The unit of work: one transaction over the repositories a use case needs, and no others.

Each feature declares the repositories its use cases touch as a Protocol of its own, next to its
ports (`ProductUnitOfWork` in `interfaces/product.py`): a use case says what it touches, its test
fake needs only that, and the composition root opens only those on the connection.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self


class UnitOfWork(Protocol):
    """One transaction over the repositories.

    `async with uow:` opens it; `await uow.commit()` makes its writes durable; leaving the block
    without committing rolls everything back. Only use cases commit.
    """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


def repository_names(unit_of_work: type) -> frozenset[str]:
    """The repositories a unit-of-work Protocol declares: its read-only properties, inherited
    ones included. (Typed `type`, not `type[UnitOfWork]`: mypy takes only concrete classes for
    the latter, and these are Protocols.) (`ResourceUnitOfWork` names `resources`, `resource_files` and `audit_events`)."""
    return frozenset(
        name
        for cls in unit_of_work.__mro__
        for name, member in vars(cls).items()
        if isinstance(member, property)
    )
