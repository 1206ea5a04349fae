"""`patents` routes (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/patents", tags=["patents"], responses=PROBLEM_RESPONSES)
