"""Settings of the indexer: the environment's (`DATABASE_URL`, `PATENTPOOL_*`), read and
validated once by pydantic-settings (`get_settings`), with a command's options over them
(`IndexerSettings.resolve`)."""

from __future__ import annotations

import math
from functools import lru_cache

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.errors import InvalidSettings
from indexer.fetch import DEFAULT_LOG_RANGE, DEFAULT_MAX_LOG_RANGE, check_log_ranges

__all__ = ["DEFAULT_DATABASE_URL", "IndexerSettings", "get_settings"]

#: A SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///patentpool.db"

_ENV_PREFIX = "PATENTPOOL_"
_INITIAL = "--log-range or PATENTPOOL_LOG_RANGE"
_MAXIMUM = "--max-log-range or PATENTPOOL_MAX_LOG_RANGE"


class IndexerSettings(BaseSettings):
    """`DATABASE_URL` (or PATENTPOOL_DATABASE_URL) picks the database; the rest are PATENTPOOL_*."""

    model_config = SettingsConfigDict(env_prefix=_ENV_PREFIX, extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "PATENTPOOL_DATABASE_URL")
    )
    #: Blocks behind the head the indexer stays; None: 0 on local chains, 64 elsewhere.
    finality_depth: int | None = Field(default=None, ge=0)
    #: Seconds between polls of the head when following.
    poll_interval: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    #: A lock whose heartbeat is older than this may be taken over (the heartbeat comes every 5 s,
    #: or a third of this when that is shorter).
    lock_stale_after: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    #: Blocks of the first eth_getLogs range; None: DEFAULT_LOG_RANGE, or max_log_range if lower.
    log_range: int | None = Field(default=None, gt=0)
    #: The most blocks one eth_getLogs range grows to (a provider's block-range cap, say).
    max_log_range: int = Field(default=DEFAULT_MAX_LOG_RANGE, gt=0)

    @model_validator(mode="after")
    def _log_range_within_max(self) -> IndexerSettings:
        if self.log_range is not None:
            check_log_ranges(self.log_range, self.max_log_range, "PATENTPOOL_LOG_RANGE", "PATENTPOOL_MAX_LOG_RANGE")
        return self

    def log_ranges(self, log_range: int | None = None, max_log_range: int | None = None) -> tuple[int, int]:
        """(initial, maximum) eth_getLogs block ranges: the arguments (command options) where given,
        else these settings; without an initial range, DEFAULT_LOG_RANGE capped at the maximum.
        Raises InvalidSettings, naming the option and the variable, unless 1 <= initial <= maximum."""
        maximum = self.max_log_range if max_log_range is None else max_log_range
        initial = self.log_range if log_range is None else log_range
        if initial is None:
            initial = min(DEFAULT_LOG_RANGE, maximum)
        check_log_ranges(initial, maximum, _INITIAL, _MAXIMUM)
        return initial, maximum

    def poll_seconds(self, option: float | None = None) -> float:
        """Seconds between head polls when following: the option where given, else this setting."""
        value = self.poll_interval if option is None else option
        if not (math.isfinite(value) and value > 0):
            raise InvalidSettings(
                "the poll interval (--poll-interval or PATENTPOOL_POLL_INTERVAL) must be a number of seconds "
                f"above 0, not {value}"
            )
        return value

    def resolve(
        self,
        *,
        database_url: str | None = None,
        finality_depth: int | None = None,
        poll_interval: float | None = None,
        log_range: int | None = None,
        max_log_range: int | None = None,
    ) -> IndexerSettings:
        """These settings with a command's options over them (None: not given), each option checked
        by the rule its variable is checked by, and named with it when it breaks one (raises
        InvalidSettings). The log ranges come out resolved: `log_range` is never None."""
        initial, maximum = self.log_ranges(log_range, max_log_range)
        return self.model_copy(
            update={
                "database_url": self.database_url if database_url is None else database_url,
                "finality_depth": self.depth(finality_depth),
                "poll_interval": self.poll_seconds(poll_interval),
                "log_range": initial,
                "max_log_range": maximum,
            }
        )

    def depth(self, option: int | None = None) -> int | None:
        """Blocks to stay behind the head: the option where given, else this setting (None: not set)."""
        value = self.finality_depth if option is None else option
        if value is not None and value < 0:
            raise InvalidSettings(
                f"the finality depth (--finality-depth or PATENTPOOL_FINALITY_DEPTH) must be 0 or more, not {value}"
            )
        return value


def _describe(exc: ValidationError) -> str:
    """One line naming each bad variable and what is wrong with it."""
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        loc = [str(part) for part in error["loc"]]
        if not loc:
            parts.append(message)
            continue
        name = loc[0].upper()
        variable = name if name.startswith(("DATABASE_URL", _ENV_PREFIX)) else _ENV_PREFIX + name
        parts.append(f"{variable}={error.get('input')!s}: {message[:1].lower()}{message[1:]}")
    return "invalid indexer settings: " + "; ".join(parts)


@lru_cache
def get_settings() -> IndexerSettings:
    """The process's settings, read once; tests override by clearing the cache.

    Raises InvalidSettings (one line naming the variables) when the environment holds bad values.
    """
    try:
        return IndexerSettings()
    except ValidationError as exc:
        raise InvalidSettings(_describe(exc)) from None
