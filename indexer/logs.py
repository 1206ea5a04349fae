"""Logs as the indexer holds them, and reading eth_getLogs answers into them.

An eth_getLogs answer runs to megabytes; msgspec decodes it straight into typed structs
(`RpcLog`, no dict per log), and `parse_logs` turns those into `Log`s. An answer of any other
shape (an error, a field missing or of another type) is not an error here: `parse_logs` returns
None and the caller reads the body as plain JSON (`log_from_rpc`, the reference parser), which
either raises the JSON-RPC error or parses the logs exactly as before. The tests compare the two
parsers on random and altered answers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import msgspec
from eth_utils.address import to_checksum_address

__all__ = ["Log", "RpcLog", "checksum", "log_from_rpc", "parse_logs"]


class Log(NamedTuple):
    """One log as eth_getLogs returns it, parsed (hex kept lower-case, address checksummed).

    A named tuple: a batch parses hundreds of thousands of these, and a tuple is the cheapest
    immutable record Python builds."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str


@lru_cache(maxsize=1 << 16)
def checksum(address: str) -> str:
    """EIP-55 form of an address (cached: the same few addresses recur in every batch)."""
    return to_checksum_address(address)


def log_from_rpc(raw: dict[str, Any]) -> Log:
    """Parse one eth_getLogs result object (plain JSON)."""
    topics = raw["topics"]
    return Log(
        int(raw["blockNumber"], 16),
        raw["blockHash"].lower(),
        raw["transactionHash"].lower(),
        int(raw["transactionIndex"], 16),
        int(raw["logIndex"], 16),
        checksum(raw["address"]),
        tuple([t.lower() for t in topics]) if topics else (),
        raw["data"].lower(),
    )


class RpcLog(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """One eth_getLogs result object, as msgspec reads it (other fields, such as `removed`, are
    skipped)."""

    block_number: str
    block_hash: str
    transaction_hash: str
    transaction_index: str
    log_index: str
    address: str
    topics: list[str]
    data: str


class _LogsAnswer(msgspec.Struct, gc=False):
    """A JSON-RPC answer whose result is a list of logs (anything else fails to decode)."""

    result: list[RpcLog]


_DECODER = msgspec.json.Decoder(_LogsAnswer)


def parse_logs(body: bytes) -> list[Log] | None:
    """The logs of an eth_getLogs answer's body, or None when it is not a plain list of logs (an
    error, or a field missing or of another type): read it as JSON with `log_from_rpc` then."""
    try:
        answer = _DECODER.decode(body)
    except msgspec.MsgspecError:
        return None
    return [
        Log(
            int(raw.block_number, 16),
            raw.block_hash.lower(),
            raw.transaction_hash.lower(),
            int(raw.transaction_index, 16),
            int(raw.log_index, 16),
            checksum(raw.address),
            tuple([t.lower() for t in raw.topics]) if raw.topics else (),
            raw.data.lower(),
        )
        for raw in answer.result
    ]
