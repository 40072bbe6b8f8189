"""Issue 9, item 16: what the published OpenAPI schema says, statically (the schemathesis run in
tests/e2e/test_openapi_contract.py checks that the server does it)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.presentation.main import create_app
from tests.e2e.conftest import make_settings

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def published(**overrides: Any) -> dict[str, Any]:
    return create_app(make_settings("sqlite+aiosqlite:///:memory:", **overrides)).openapi()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return published()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_every_error_is_problem_json_with_the_problem_schema(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            expected = {"application/problem+json": {"schema": PROBLEM}}
            if int(status) >= 400:
                assert response["content"] == expected, (method, path, status)


def test_fastapis_default_validation_error_is_gone(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "ValidationError" not in schema["components"]["schemas"]
    assert "HTTPValidationError" not in str(schema)


def test_every_body_taking_operation_documents_400_413_and_422(schema: dict[str, Any]) -> None:
    body_taking = [(m, p, o) for m, p, o in operations(schema) if "requestBody" in o]
    assert len(body_taking) >= 20
    for method, path, operation in body_taking:
        assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)


def test_authenticated_operations_document_401(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        if operation.get("security"):
            assert "401" in operation["responses"], (method, path)


def test_a_download_lists_the_media_types_that_can_be_sent(schema: dict[str, Any]) -> None:
    download = schema["paths"]["/api/v1/resources/{resource_id}/files/{file_id}"]["get"]
    content = download["responses"]["200"]["content"]
    assert {"application/pdf", "image/png", "text/plain", "audio/wav"} <= set(content)
    assert "application/octet-stream" not in content


@pytest.mark.parametrize("model", ["ProductUpdate", "ResourceUpdate", "ProfileUpdate"])
def test_patch_fields_are_optional_but_not_nullable(schema: dict[str, Any], model: str) -> None:
    body = schema["components"]["schemas"][model]
    assert not body.get("required")
    for name, field in body["properties"].items():
        assert {"type": "null"} not in field.get("anyOf", []), name
        assert field.get("type") != "null", name


def test_the_categories_are_the_configured_ones_per_app() -> None:
    schema = published(product_categories="maps,tea")
    components = schema["components"]["schemas"]
    assert components["ProductCreate"]["properties"]["category"]["enum"] == ["maps", "tea"]
    items = components["RecommendationRequest"]["properties"]["categories"]["items"]
    assert items["enum"] == ["maps", "tea"]
    # As a filter, any category is taken (one not configured matches nothing): no enum there.
    parameters = schema["paths"]["/api/v1/products"]["get"]["parameters"]
    category = next(p for p in parameters if p["name"] == "category")
    assert "enum" not in category["schema"]


def test_server_rules_are_in_the_schema(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    register = components["UserRegister"]["properties"]
    assert register["email"]["format"] == "email"
    assert "12 to 128 characters once NFKC-normalized" in register["password"]["description"]
    reset = components["ResetPasswordIn"]["properties"]["new_password"]
    assert "12 to 128 characters" in reset["description"]
    currency = components["ProductCreate"]["properties"]["currency"]["pattern"]
    assert re.fullmatch(currency, "usd")
    assert not re.fullmatch(currency, "XYZ")
    policy = components["PolicyRuleBody"]["properties"]
    assert policy["action"]["enum"] == ["*", "create", "read", "update", "delete"]
    name = components["ResourceCreate"]["properties"]["name"]
    assert not re.fullmatch(name["pattern"], "a\x00b")
    assert not re.fullmatch(name["pattern"], "   ")
    assert "trimmed" in name["description"]
    description = components["ResourceCreate"]["properties"]["description"]["pattern"]
    assert re.fullmatch(description, "one\ntwo\tthree")
    assert not re.fullmatch(description, "esc\x1b")
    metadata = components["PaymentIntentCreate"]["properties"]["metadata"]
    assert metadata["maxProperties"] == 20
    assert not re.fullmatch(metadata["additionalProperties"]["pattern"], "nul\x00")


def test_the_headers_always_sent_are_documented(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            if int(status) >= 400:
                assert headers["Content-Language"]["required"], (method, path, status)
            if status == "201":
                assert headers["Location"]["required"], (method, path)
            if status == "401":
                assert headers["WWW-Authenticate"]["required"], (method, path)
            if status == "429":
                assert headers["Retry-After"]["required"], (method, path)
            if status in ("400", "422"):
                assert "WWW-Authenticate" not in headers, (method, path, status)
