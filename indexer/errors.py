"""The exceptions of the indexer: one root, `IndexerError`, and a subclass per failure."""

from __future__ import annotations

from registry.settings import redact_text, redact_url

__all__ = [
    "DatabaseMismatch",
    "DatabaseUnavailable",
    "DeploymentNotOnChain",
    "IndexerError",
    "IndexerLocked",
    "InvalidSettings",
    "LockLost",
    "MalformedRequest",
    "RangeTooLarge",
    "ReorgDuringBatch",
    "RpcError",
    "RpcUnavailable",
    "StartBeyondHead",
]


class IndexerError(Exception):
    """Root of every error the indexer raises on purpose."""


class InvalidSettings(IndexerError, ValueError):
    """A PATENTPOOL_* variable or command option holds a value the indexer cannot use."""


class RpcError(IndexerError):
    """The node answered a JSON-RPC call with an error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        self.method = method
        self.code = code
        self.message = message
        super().__init__(f"{method} failed: {message} (JSON-RPC error {code})")


class MalformedRequest(RpcError):
    """The node rejected the request itself (bad params, unknown method): retrying cannot help."""


class RangeTooLarge(RpcError):
    """The provider refused an eth_getLogs range: too many results or too many blocks.

    `suggested` is the largest block count the error text suggests, when it names one.
    """

    def __init__(self, method: str, code: int, message: str, suggested: int | None) -> None:
        super().__init__(method, code, message)
        self.suggested = suggested


class RpcUnavailable(IndexerError):
    """Transport errors went on past the last retry."""

    def __init__(self, url: str, attempts: int, last: str) -> None:
        self.url = url
        self.attempts = attempts
        self.last = last
        super().__init__(
            f"the node at {redact_url(url)} did not answer after {attempts} attempts: {redact_text(last, url)}"
        )


class ReorgDuringBatch(IndexerError):
    """The chain changed while a batch was read (a log's block hash no longer matches its header)."""

    def __init__(self, block_number: int, expected: str, got: str) -> None:
        self.block_number = block_number
        self.expected = expected
        self.got = got
        super().__init__(f"block {block_number} changed while it was read ({expected} became {got})")


class IndexerLocked(IndexerError):
    """Another indexer holds the database's lock and its heartbeat is fresh."""

    def __init__(self, owner: str, age_seconds: float) -> None:
        self.owner = owner
        self.age_seconds = age_seconds
        super().__init__(
            f"another indexer ({owner}) is writing to this database (heartbeat {age_seconds:.0f} s ago); "
            "stop it first: two indexers must not interleave"
        )


class LockLost(IndexerError):
    """This indexer's lock was taken over (its heartbeat went stale); it stops without writing."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        super().__init__(f"the database lock of {owner} was taken over by another indexer; stopping")


class DatabaseMismatch(IndexerError):
    """The database mirrors another chain or deployment than the one asked for."""

    def __init__(self, what: str, stored: object, asked: object) -> None:
        self.what = what
        self.stored = stored
        self.asked = asked
        super().__init__(f"this database mirrors {what} {stored}, not {asked}; use another DATABASE_URL")


class DatabaseUnavailable(IndexerError):
    """The database cannot be reached or opened (server down, file not writable, bad URL)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url  # without its password
        self.reason = reason
        super().__init__(f"cannot use the database {url}: {reason}")


class DeploymentNotOnChain(IndexerError):
    """The manifest's PoolFactory has no code on the node's chain (another chain, or a reset one)."""

    def __init__(self, factory: str, chain_id: int) -> None:
        self.factory = factory
        self.chain_id = chain_id
        super().__init__(
            f"the deployment's PoolFactory {factory} has no code on chain {chain_id}: this node holds another "
            "chain or a reset one (a fresh anvil); deploy again, or point --rpc at the chain the manifest was "
            "made for"
        )


class StartBeyondHead(IndexerError):
    """The first block to index is past the chain's head (the database would start at a future block)."""

    def __init__(self, start: int, head: int, source: str) -> None:
        self.start = start
        self.head = head
        self.source = source
        super().__init__(
            f"the first block to index, {start} ({source}), is beyond the chain's head (block {head}); "
            "start at a block the chain has"
        )
