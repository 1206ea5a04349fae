"""Settings of the chain side, from `PATENTPOOL_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every setting has a `PATENTPOOL_` environment variable (e.g. PATENTPOOL_RPC_URL)."""

    model_config = SettingsConfigDict(env_prefix="PATENTPOOL_", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    deployments_dir: Path = Path("deployments")
    private_key: SecretStr | None = None
    keystore: Path | None = None
    keystore_password: SecretStr | None = None


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; tests override by clearing the cache."""
    return Settings()
