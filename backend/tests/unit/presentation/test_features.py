"""The feature registry keeps itself honest: every feature's parts are complete, and two features
claiming the same thing stop the start-up instead of one silently winning (issue 10 §2)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.application.interfaces.access import PolicyRule
from app.application.interfaces.product import ProductUnitOfWork
from app.application.interfaces.resource import ResourceUnitOfWork
from app.application.interfaces.unit_of_work import repository_names
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.feature import Feature, PersonalDataPart
from app.presentation.features.registry import FeatureRegistrationError, FeatureSet
from tests.databases import registered_features
from tests.fakes import FAKE_REPOSITORIES, FakeUnitOfWork

FEATURES = registered_features()


def feature(key: str) -> Feature:
    return next(f for f in FEATURES if f.key == key)


def test_every_enabled_feature_is_registered_once_under_its_key() -> None:
    assert [f.key for f in FEATURES] == list(ENABLED_FEATURES)
    assert len(set(ENABLED_FEATURES)) == len(ENABLED_FEATURES)


def test_every_repository_has_a_fake_and_every_fake_a_repository() -> None:
    assert FAKE_REPOSITORIES.keys() == FEATURES.repositories.keys()


@pytest.mark.parametrize("registered", FEATURES.features, ids=lambda f: f.key)
def test_the_fake_unit_of_work_serves_every_units_of_work_protocol(registered: Feature) -> None:
    uow = FakeUnitOfWork()
    for unit_of_work in registered.units_of_work:
        for name in repository_names(unit_of_work):
            assert getattr(uow, name) is getattr(uow, f"fake_{name}")


def test_a_units_of_work_protocol_names_its_repositories_and_its_bases() -> None:
    assert repository_names(ProductUnitOfWork) == {"products", "outbox"}
    assert repository_names(ResourceUnitOfWork) == {
        "resources",
        "resource_files",
        "audit_events",
        "outbox",
    }


def test_the_sql_unit_of_work_opens_only_the_repositories_asked_for() -> None:
    # The outbox is the event feature's repository: a unit of work that records events opens it.
    assert FEATURES.repositories_for(ProductUnitOfWork).keys() == {"products", "outbox"}


def test_object_types_and_rules_come_from_the_features_that_declare_them() -> None:
    assert "product" in FEATURES.object_types
    assert set(feature("resource").policy_rules) <= set(FEATURES.policy_rules)


def test_the_load_refuses_an_unknown_feature() -> None:
    with pytest.raises(ModuleNotFoundError):
        FeatureSet.load(["no_such_feature"])


def renamed(base: Feature, key: str, **changes: Any) -> Feature:
    return dataclasses.replace(base, key=key, **changes)


CLAIMS = {
    "feature key": lambda: feature("product"),
    "repository": lambda: renamed(feature("product"), "copy", routers=()),
    "message code": lambda: Feature(key="copy", messages=feature("product").messages),
    "policy object type": lambda: Feature(key="copy", object_types=("product",)),
    "policy rule": lambda: Feature(
        key="copy", object_types=("copy",), policy_rules=feature("payment").policy_rules
    ),
    "export section": lambda: Feature(
        key="copy",
        personal_data=PersonalDataPart(
            holder=feature("payment").personal_data.holder,  # type: ignore[union-attr]
            sections={"payments": list[str]},
        ),
    ),
}


@pytest.mark.parametrize("what", CLAIMS)
def test_two_features_claiming_one_thing_are_refused(what: str) -> None:
    with pytest.raises(FeatureRegistrationError, match=f"{what} .* registered by both"):
        FEATURES.with_feature(CLAIMS[what]())


def test_a_unit_of_work_needing_an_unregistered_repository_is_refused() -> None:
    without_products = FeatureSet.of(f for f in FEATURES if f.key not in {"product", "payment"})
    with pytest.raises(FeatureRegistrationError, match="'products'"):
        without_products.with_feature(Feature(key="shop", units_of_work=(ProductUnitOfWork,)))


def test_a_rule_on_an_unregistered_object_type_is_refused() -> None:
    rule = PolicyRule("user", "spaceship", "read", "own")
    with pytest.raises(FeatureRegistrationError, match="spaceship"):
        FEATURES.with_feature(Feature(key="space", policy_rules=(rule,)))
