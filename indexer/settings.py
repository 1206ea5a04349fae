"""Settings of the indexer, from the environment (`DATABASE_URL`, `PATENTPOOL_*`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "IndexerSettings", "get_settings"]

#: A SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///patentpool.db"


class IndexerSettings(BaseSettings):
    """`DATABASE_URL` (or PATENTPOOL_DATABASE_URL) picks the database; the rest are PATENTPOOL_*."""

    model_config = SettingsConfigDict(env_prefix="PATENTPOOL_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "PATENTPOOL_DATABASE_URL")
    )
    #: Blocks behind the head the indexer stays; None: 0 on local chains, 64 elsewhere.
    finality_depth: int | None = None
    #: Seconds between polls of the head when following.
    poll_interval: float = 1.0
    #: A lock whose heartbeat is older than this may be taken over.
    lock_stale_after: float = 60.0


@lru_cache
def get_settings() -> IndexerSettings:
    """The process's settings, read once; tests override by clearing the cache."""
    return IndexerSettings()
