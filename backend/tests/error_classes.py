"""Every error class the app defines, found by importing every `app` module first."""

from __future__ import annotations

import importlib
import pkgutil

import app
from app.application.errors import ApplicationError
from app.domain.errors import CodedError, DomainError


def every_error_class() -> set[type[CodedError]]:
    """Every subclass of DomainError and ApplicationError that `app` defines, however deep (the
    test suite's own subclasses are not the app's)."""
    for module in pkgutil.walk_packages(app.__path__, f"{app.__name__}."):
        importlib.import_module(module.name)
    found: set[type[CodedError]] = set()
    pending: list[type[CodedError]] = [DomainError, ApplicationError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return {error for error in found if error.__module__.startswith(f"{app.__name__}.")}
