from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession

from app.application.interfaces.product import ProductRepository
from app.application.interfaces.user import UserRepository
from app.infrastructure.repositories.product import SqlAlchemyProductRepository
from app.infrastructure.repositories.user import SqlAlchemyUserRepository


class SqlAlchemyUnitOfWork:
    """A transaction on the request's session. Leaving without `commit()` rolls back, and also
    hands the connection back to the pool, so nothing is held while the use case does slow work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.products: ProductRepository = SqlAlchemyProductRepository(session)
        self.users: UserRepository = SqlAlchemyUserRepository(session)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._session.rollback()

    async def commit(self) -> None:
        await self._session.commit()
