"""`status` routes (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="", tags=["status"], responses=PROBLEM_RESPONSES)
