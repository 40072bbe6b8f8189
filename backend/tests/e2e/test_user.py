from __future__ import annotations

from httpx import AsyncClient

from tests.e2e.conftest import Headers


async def test_me_returns_the_caller_without_secrets(
    client: AsyncClient, user_headers: Headers
) -> None:
    response = await client.get("/api/v1/users/me", headers=user_headers)
    assert response.status_code == 200
    me = response.json()
    assert me["email"] == "reader@example.com"
    assert me["full_name"] == "Ada Reader"
    assert me["role"] == "user"
    assert me["is_active"] is True
    assert set(me) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "email_verified",
        "mfa_enabled",
        "version",
        "created_at",
        "updated_at",
    }
