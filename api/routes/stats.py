"""`stats` routes (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/stats", tags=["stats"], responses=PROBLEM_RESPONSES)
