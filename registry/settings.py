"""Settings of the chain side, from `PATENTPOOL_*` environment variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "redact_text", "redact_url"]


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


#: A path part or query value that looks like a provider's API key or token: 16 or more letters,
#: digits, - or _ (Infura's /v3/<32 hex>, Alchemy's /v2/<key>, QuickNode's /<token>/).
_KEY_LIKE = re.compile(r"[A-Za-z0-9_-]{16,}")
#: Query parameters that name a secret, whatever their value.
_SECRET_PARAMETER = re.compile(r"key|token|secret|auth|pass", re.IGNORECASE)


def _key_like(text: str) -> bool:
    return bool(_KEY_LIKE.fullmatch(text)) and any(c.isdigit() for c in text)


def redact_url(url: str) -> str:
    """An RPC URL fit for messages and logs: its password, and the path parts, query values and
    user names that look like API keys, shown as ***. Providers put keys in the URL, and a
    message or a JSON summary may end up in a shared log."""
    return _redact(url)[0]


def redact_text(text: str, url: str) -> str:
    """`text` (an error message, say) with `url` and its secrets shown as `redact_url` shows them,
    wherever they appear in it."""
    shown, secrets = _redact(url)
    text = text.replace(url, shown)
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _redact(url: str) -> tuple[str, list[str]]:
    """`url` with its secrets shown as ***, and those secrets (the values hidden)."""
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return url, []
    secrets: list[str] = []

    def hide(value: str, secret: bool) -> str:
        if not secret:
            return value
        if value:
            secrets.append(value)
        return "***"

    netloc = parts.netloc
    if username is not None:
        user = hide(username, _key_like(username))
        shown = f"{user}:{hide(password, True)}" if password is not None else user
        netloc = shown + "@" + netloc.rsplit("@", 1)[1]
    path = "/".join(hide(part, _key_like(part)) for part in parts.path.split("/"))
    pairs = []
    for pair in filter(None, parts.query.split("&")):
        name, _, value = pair.partition("=")
        pairs.append(f"{name}={hide(value, True)}" if _SECRET_PARAMETER.search(name) or _key_like(value) else pair)
    query = "&".join(pairs)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment)), secrets
