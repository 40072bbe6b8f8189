"""The registered features, checked once when the app is built.

`FeatureSet` is what shared code loops over. Building one refuses, like Django refuses two apps with
one label, anything two features would both claim (a key, a repository, an error family, a message
code, a policy object type, an export section) and a unit of work that names a repository no
feature provides: a registration mistake stops the start-up, it never shows up as a wrong answer.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from app.application.interfaces.access import PolicyRule
from app.application.interfaces.unit_of_work import repository_names
from app.infrastructure.repositories.unit_of_work import RepositoryFactory
from app.presentation.features.feature import (
    Feature,
    JobDefinition,
    MessageCatalog,
    PersonalDataPart,
)

FEATURES_PACKAGE = "app.presentation.features"
K = TypeVar("K")
V = TypeVar("V")


class FeatureRegistrationError(RuntimeError):
    """Two features claim the same thing, or one needs what no feature provides."""


@dataclass(frozen=True, slots=True)
class FeatureSet:
    features: tuple[Feature, ...]
    # What each combination of unit-of-work Protocols opens, worked out once: every unit of work
    # a request builds asks for it.
    _opened_by: dict[tuple[type, ...], dict[str, RepositoryFactory]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, features: Iterable[Feature]) -> FeatureSet:
        registered = cls(tuple(features))
        registered._check()
        return registered

    @classmethod
    def load(cls, keys: Iterable[str]) -> FeatureSet:
        """The features of `app/presentation/features/<key>.py`, each module's `FEATURE`."""
        loaded = []
        for key in keys:
            feature = importlib.import_module(f"{FEATURES_PACKAGE}.{key}").FEATURE
            if not isinstance(feature, Feature) or feature.key != key:
                raise FeatureRegistrationError(
                    f"{FEATURES_PACKAGE}.{key}.FEATURE is not feature {key!r}"
                )
            loaded.append(feature)
        return cls.of(loaded)

    def __iter__(self) -> Iterator[Feature]:
        return iter(self.features)

    def with_feature(self, feature: Feature) -> FeatureSet:
        """These features and one more (the test suite's throwaway feature)."""
        return FeatureSet.of((*self.features, feature))

    @property
    def repositories(self) -> dict[str, RepositoryFactory]:
        return _merged("repository", ((f.key, f.repositories) for f in self))

    @property
    def error_statuses(self) -> dict[type[Exception], int]:
        return _merged("error family", ((f.key, f.error_statuses) for f in self))

    @property
    def object_types(self) -> tuple[str, ...]:
        return tuple(
            _merged("policy object type", ((f.key, dict.fromkeys(f.object_types)) for f in self))
        )

    @property
    def policy_rules(self) -> tuple[PolicyRule, ...]:
        return tuple(
            sorted(_merged("policy rule", ((f.key, dict.fromkeys(f.policy_rules)) for f in self)))
        )

    @property
    def message_catalogs(self) -> tuple[MessageCatalog, ...]:
        return tuple(feature.messages for feature in self if feature.messages)

    @property
    def personal_data(self) -> tuple[PersonalDataPart, ...]:
        return tuple(f.personal_data for f in self if f.personal_data is not None)

    @property
    def job_definitions(self) -> tuple[JobDefinition, ...]:
        return tuple(definition for feature in self.features for definition in feature.jobs)

    @property
    def migration_locations(self) -> tuple[Path, ...]:
        return tuple(f.migrations for f in self if f.migrations is not None)

    def repositories_for(self, *units_of_work: type) -> dict[str, RepositoryFactory]:
        """The SQL repositories behind these unit-of-work Protocols, and no other."""
        opened = self._opened_by.get(units_of_work)
        if opened is None:
            available = self.repositories
            opened = {
                name: available[name]
                for unit_of_work in units_of_work
                for name in sorted(repository_names(unit_of_work))
            }
            self._opened_by[units_of_work] = opened
        return opened

    def _check(self) -> None:
        _merged("feature key", ((f.key, {f.key: f}) for f in self))
        for check in (
            lambda: self.repositories,
            lambda: self.error_statuses,
            lambda: self.object_types,
            lambda: self.policy_rules,
            lambda: _merged("message code", _message_codes(self)),
            lambda: _merged(
                "export section",
                ((f.key, dict(p.sections)) for f in self if (p := f.personal_data)),
            ),
        ):
            check()
        available = self.repositories
        for feature in self:
            needed = frozenset().union(*(repository_names(u) for u in feature.units_of_work))
            missing = needed - available.keys()
            if missing:
                raise FeatureRegistrationError(
                    f"feature {feature.key!r} needs repositories no feature registers: {sorted(missing)}"
                )
        for rule in self.policy_rules:
            if rule.object_type != "*" and rule.object_type not in self.object_types:
                raise FeatureRegistrationError(
                    f"policy rule {rule} names an unregistered object type"
                )


def _message_codes(features: FeatureSet) -> Iterator[tuple[str, Mapping[tuple[str, str], str]]]:
    for feature in features:
        yield (
            feature.key,
            {
                (language, code): text
                for language, messages in feature.messages.items()
                for code, text in messages.items()
            },
        )


def _merged(what: str, contributions: Iterable[tuple[str, Mapping[K, V]]]) -> dict[K, V]:
    merged: dict[K, V] = {}
    owner: dict[K, str] = {}
    for feature_key, mapping in contributions:
        for key, value in mapping.items():
            if key in merged:
                raise FeatureRegistrationError(
                    f"{what} {key!r} is registered by both {owner[key]!r} and {feature_key!r}"
                )
            merged[key] = value
            owner[key] = feature_key
    return merged
