"""The note feature, every layer of it in one module (a real feature spreads these over its
domain, application, infrastructure and presentation files, under the same key)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Protocol, cast
from uuid import UUID

import sqlalchemy as sa
from fastapi import Depends, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.access import AccessPolicy, PolicyRule
from app.application.interfaces.privacy import AfterErasure
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.user import User
from app.domain.errors import InvalidValueError, NotFoundError, PermissionDeniedError
from app.domain.value_objects.identifiers import new_id
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import container_of
from app.presentation.features.feature import Feature, PersonalDataPart

NOTE = "note"
NOTE_POLICY_RULES = (
    PolicyRule("user", NOTE, "create", "own"),
    PolicyRule("user", NOTE, "read", "own"),
)
MIGRATIONS = Path(__file__).parent / "migrations"


class NoteSettings(BaseModel):
    """The feature's own settings: FEATURES__NOTE__MAX_LENGTH."""

    max_length: int = Field(default=200, ge=1, le=200)


# Domain
class Note(BaseModel):
    id: UUID
    owner_id: UUID
    text: str
    created_at: datetime


class NoteNotFoundError(NotFoundError):
    code = "note.not_found"


# Application: the port, the feature's unit of work, the use cases, the personal-data holder
class NoteRepository(Protocol):
    async def add(self, note: Note) -> None: ...

    async def get(self, note_id: UUID) -> Note | None: ...

    async def list_by_owner(self, owner_id: UUID) -> list[Note]: ...

    async def delete_by_owner(self, owner_id: UUID) -> None: ...


class NoteUnitOfWork(UnitOfWork, Protocol):
    @property
    def notes(self) -> NoteRepository: ...


class WriteNote:
    def __init__(
        self, uow: NoteUnitOfWork, policy: AccessPolicy, now: datetime, *, max_length: int
    ) -> None:
        self._uow, self._policy, self._now, self._max_length = uow, policy, now, max_length

    async def execute(self, actor: User, text: str) -> Note:
        if not await self._policy.allows(actor, "create", NOTE, owner_id=actor.id):
            raise PermissionDeniedError()
        if len(text) > self._max_length:
            raise InvalidValueError(field="text", reason=f"is over {self._max_length} characters")
        note = Note(id=new_id(), owner_id=actor.id, text=text, created_at=self._now)
        async with self._uow as uow:
            await uow.notes.add(note)
            await uow.commit()
        return note


class ReadNote:
    def __init__(self, uow: NoteUnitOfWork, policy: AccessPolicy) -> None:
        self._uow, self._policy = uow, policy

    async def execute(self, actor: User, note_id: UUID) -> Note:
        async with self._uow as uow:
            note = await uow.notes.get(note_id)
        if note is None or not await self._policy.allows(
            actor, "read", NOTE, owner_id=note.owner_id
        ):
            raise NoteNotFoundError()
        return note


class NotePersonalData:
    unit_of_work = NoteUnitOfWork

    async def export(self, uow: NoteUnitOfWork, user: User, now: datetime) -> Mapping[str, object]:
        return {"notes": await uow.notes.list_by_owner(user.id)}

    async def erase(self, uow: NoteUnitOfWork, user: User, now: datetime) -> AfterErasure | None:
        await uow.notes.delete_by_owner(user.id)
        return None


# Infrastructure: its own MetaData, so the app's tables (and their tests) never see this one
notes_table = sa.Table(
    "throwaway_notes",
    sa.MetaData(),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("text", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class SqlAlchemyNoteRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, note: Note) -> None:
        await self._connection.execute(notes_table.insert().values(**note.model_dump()))

    async def get(self, note_id: UUID) -> Note | None:
        row = (
            await self._connection.execute(notes_table.select().where(notes_table.c.id == note_id))
        ).one_or_none()
        return Note.model_validate(row._mapping) if row else None

    async def list_by_owner(self, owner_id: UUID) -> list[Note]:
        rows = await self._connection.execute(
            notes_table.select().where(notes_table.c.owner_id == owner_id)
        )
        return [Note.model_validate(row._mapping) for row in rows]

    async def delete_by_owner(self, owner_id: UUID) -> None:
        await self._connection.execute(
            notes_table.delete().where(notes_table.c.owner_id == owner_id)
        )


# Presentation
class NoteIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=200)]


class NoteOut(BaseModel):
    id: UUID
    text: str
    created_at: datetime


async def get_write_note(request: Request) -> WriteNote:
    container = container_of(request)
    return WriteNote(
        container.unit_of_work(NoteUnitOfWork),
        container.access_policy,
        container.clock.now(),
        max_length=container.settings_of(NoteSettings).max_length,
    )


async def get_read_note(request: Request) -> ReadNote:
    container = container_of(request)
    return ReadNote(container.read_unit_of_work(NoteUnitOfWork), container.access_policy)


router = FeatureRouter(prefix=f"{API_V1_PREFIX}/notes", tags=[NOTE])


@router.post("", status_code=status.HTTP_201_CREATED)
async def write_note(
    body: NoteIn, user: CurrentUser, write: Annotated[WriteNote, Depends(get_write_note)]
) -> NoteOut:
    note = await write.execute(user, body.text)
    return NoteOut.model_validate(note.model_dump())


@router.get("/{note_id}")
async def read_note(
    note_id: UUID, user: CurrentUser, read: Annotated[ReadNote, Depends(get_read_note)]
) -> NoteOut:
    note = await read.execute(user, note_id)
    return NoteOut.model_validate(note.model_dump())


def _present(sections: Mapping[str, object]) -> dict[str, object]:
    notes = cast(list[Note], sections["notes"])
    return {"notes": [NoteOut.model_validate(note.model_dump()) for note in notes]}


FEATURE = Feature(
    key=NOTE,
    routers=(router,),
    repositories={"notes": SqlAlchemyNoteRepository},
    units_of_work=(NoteUnitOfWork,),
    messages={
        "en": {"note.not_found": "This note does not exist."},
        "fr": {"note.not_found": "Cette note n'existe pas."},
        "de": {"note.not_found": "Diese Notiz existiert nicht."},
    },
    object_types=(NOTE,),
    policy_rules=NOTE_POLICY_RULES,
    personal_data=PersonalDataPart(
        holder=lambda _container: NotePersonalData(),
        sections={"notes": list[NoteOut]},
        present=_present,
    ),
    settings=NoteSettings,
    migrations=MIGRATIONS,
)
