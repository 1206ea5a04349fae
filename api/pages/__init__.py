"""The public pages: server-rendered HTML for people, over the same data as the JSON API.

`install(app)` adds the pages, serves their stylesheet under /static and makes errors on the
pages HTML in the same layout (the API under /v1 keeps problem+json).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.pages.errors import install_html_errors, is_page
from api.pages.routes import router

__all__ = ["install", "is_page", "router"]

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add the pages and /static to `app`; call after its exception handlers are installed."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_html_errors(app)
