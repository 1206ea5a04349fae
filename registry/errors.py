"""Exceptions of the chain side: one root, specific subclasses carrying structured fields."""

from __future__ import annotations

from typing import Any

from registry.settings import redact_text, redact_url

__all__ = [
    "ArtifactError",
    "ChainIdMismatch",
    "CompileError",
    "ConfigError",
    "ContractRevert",
    "DeploymentError",
    "NodeError",
    "RegistryError",
    "RpcUnreachable",
    "SigningKeyError",
    "TransactionFailed",
]


class RegistryError(Exception):
    """Root of every error the `registry` package raises on purpose."""


class ConfigError(RegistryError):
    """A setting or an argument is missing or malformed."""


class SigningKeyError(ConfigError):
    """A private key or keystore cannot be used (malformed, wrong password, not allowed here)."""


class CompileError(RegistryError):
    """The Solidity compiler is missing, or it reported errors."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class ArtifactError(RegistryError):
    """Committed contract artifacts are missing, unreadable or stale."""


class NodeError(RegistryError):
    """A local node could not be started or stopped."""


class RpcUnreachable(RegistryError):
    """No JSON-RPC node answers at the URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"no Ethereum node answers at {redact_url(url)}: {redact_text(reason, url)}")
        self.url = url
        self.reason = reason


class ChainIdMismatch(RegistryError):
    """The node serves another chain than the one expected (e.g. by a deployment manifest)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the node serves chain {actual}, but chain {expected} was expected")
        self.expected = expected
        self.actual = actual


class DeploymentError(RegistryError):
    """A deployment manifest is missing, malformed, or does not match the chain."""


class TransactionFailed(RegistryError):
    """A transaction was mined but failed, or could not be sent, without a decodable reason."""


class ContractRevert(RegistryError):
    """A contract call reverted with a Solidity custom error.

    Each custom error of the contracts has a subclass of the same name (built from the ABIs, see
    `registry.client.revert_class`); `args` holds the decoded arguments by name.
    """

    error_name: str = ""
    selector: str = ""

    def __init__(self, args: dict[str, Any], message: str | None = None) -> None:
        self.error_args = args
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(message or f"{self.error_name}({shown})")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
