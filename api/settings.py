"""Settings of the public API, from the environment (`DATABASE_URL`, `PATENTPOOL_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings", "get_settings"]


class ApiSettings(BaseSettings):
    """One class for every setting of the API process; none of them is a key (it holds none)."""

    model_config = SettingsConfigDict(env_prefix="PATENTPOOL_", extra="ignore")

    #: The SQL mirror the indexer writes (the same variable as `patentpool index`).
    database_url: str = Field(
        default="sqlite:///patentpool.db", validation_alias=AliasChoices("DATABASE_URL", "PATENTPOOL_DATABASE_URL")
    )
    #: The node the verify route asks (eth_call) and the chain head is read from.
    rpc_url: str = "http://127.0.0.1:8545"
    #: The deployment manifest; None: <deployments_dir>/<chainId>.json.
    deployment: Path | None = None
    deployments_dir: Path = Path("deployments")
    #: /readyz answers 503 while the indexed head is more than this many blocks behind the chain.
    ready_max_lag: int = Field(default=10, ge=0)
    #: Requests per client and window, in the `limits` notation ("120/minute", "10/second").
    rate_limit: str = "600/minute"
    #: Where the rate-limit counters live: memory:// (one process) or redis://host:port (shared).
    rate_limit_storage: str = "memory://"
    #: Longest a database read may run before it is cancelled (milliseconds).
    statement_timeout_ms: int = Field(default=5_000, gt=0)
    #: Largest request (URL plus headers plus body) accepted, in bytes.
    max_request_bytes: int = Field(default=16_384, gt=0)
    #: `Cache-Control: max-age` of indexed reads, in seconds.
    cache_max_age: int = Field(default=5, ge=0)
    #: Bytes of answers the response cache keeps per process (api/cache.py); 0 turns it off.
    response_cache_bytes: int = Field(default=64 * 2**20, ge=0)
    #: The response cache re-reads the mirror's checkpoint at most this often (seconds); an answer
    #: is at most this much older than the newest checkpoint. 0: read it for every request.
    response_cache_recheck: float = Field(default=0.5, ge=0)
    #: A block explorer's base URL (e.g. https://etherscan.io); pages link transactions there too.
    explorer_url: str | None = None
    #: How often the event stream looks for newly indexed events, in seconds.
    stream_poll_interval: float = Field(default=1.0, gt=0)
    #: How long one event-stream connection stays open before the client must reconnect (seconds).
    stream_max_seconds: float = Field(default=300.0, gt=0)
    #: How often the event stream sends a keep-alive comment while there is nothing new (seconds).
    stream_ping_interval: float = Field(default=15.0, gt=0)
    #: A folder of dossier files (docs/dossier.md): an asset's scorecard and dossier are shown from
    #: the file whose dossier hash equals the chain's (found by content; no URI is ever fetched).
    dossier_dir: Path | None = None
    #: At most this many `*.json` files of the dossier folder are indexed (the first by name).
    dossier_max_files: int = Field(default=20_000, gt=0)
    #: Dossier files larger than this (bytes) are skipped.
    dossier_max_bytes: int = Field(default=262_144, gt=0)


@lru_cache
def get_settings() -> ApiSettings:
    """The process's settings, read once; tests pass their own to `create_app` instead."""
    return ApiSettings()
