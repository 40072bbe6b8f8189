"""Resources and their encrypted files (API.md "Resources")."""

from __future__ import annotations

from fastapi import APIRouter

from app.presentation.api.v1 import API_V1_PREFIX

router = APIRouter(prefix=f"{API_V1_PREFIX}/resources", tags=["resources"])
