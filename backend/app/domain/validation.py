"""Builds entities so that a broken rule surfaces as a domain error, not a Pydantic one."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.domain.errors import InvalidValueError

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], values: dict[str, Any]) -> Model:
    """`model` built from `values`; the first broken rule raises InvalidValueError naming its field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidValueError(field=field, reason=first["msg"]) from exc
