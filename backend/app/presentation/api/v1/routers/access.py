"""Access policies and the audit trail (API.md "Access"); administrators only."""

from __future__ import annotations

from fastapi import APIRouter

from app.presentation.api.v1 import API_V1_PREFIX

router = APIRouter(prefix=f"{API_V1_PREFIX}/admin", tags=["access"])
