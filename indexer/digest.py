"""The integrity digest: one keccak-256 per block over the canonical stream of its indexed logs.

    digest_0 = 32 zero bytes
    digest_n = keccak(digest_prev || number_u64 || block_hash || leaf_1 || ... || leaf_k)
    leaf_i   = address(20) || tx_hash(32) || log_index_u64 || topic_count_u8 || topics (32 each)
               || data_length_u32 || data

over each block that holds indexed events, in block order, its logs in log-index order (raw
topics and data, so any implementation can compute it from eth_getLogs alone; every leaf states
its own length, so the stream reads back one way only). Blocks without indexed events keep the
previous digest. Two indexers of the same deployment and start block, reorged or not, report the
same digest at the same block.

One hash per block, not per log: hashing is the indexer's costliest step per event otherwise.
(Migration 0002 recomputed the digests of databases written under the earlier per-log scheme.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from eth_hash.auto import keccak

__all__ = ["GENESIS_DIGEST", "LogFields", "block_stream", "next_digest"]

GENESIS_DIGEST = "0x" + "00" * 32


class LogFields(Protocol):
    """What the digest reads of a log (hex strings 0x-prefixed; case does not matter)."""

    @property
    def address(self) -> str: ...
    @property
    def tx_hash(self) -> str: ...
    @property
    def log_index(self) -> int: ...
    @property
    def topics(self) -> Sequence[str]: ...
    @property
    def data(self) -> str: ...


def block_stream(number: int, block_hash: str, logs: Iterable[LogFields]) -> str:
    """The hex of `number_u64 || block_hash || leaf_1 || ...` (without the previous digest)."""
    parts = [f"{number:016x}", block_hash[2:]]
    append = parts.append
    for log in logs:
        append(log.address[2:])
        append(log.tx_hash[2:])
        append(f"{log.log_index:016x}{len(log.topics):02x}")
        for topic in log.topics:
            append(topic[2:])
        append(f"{(len(log.data) - 2) // 2:08x}")
        append(log.data[2:])
    return "".join(parts)


def next_digest(previous: str, number: int, block_hash: str, logs: Iterable[LogFields]) -> str:
    """The running digest after a block that holds `logs` (in log-index order). keccak-256 by
    eth-hash, on its compiled backend (pycryptodome)."""
    return "0x" + keccak(bytes.fromhex(previous[2:] + block_stream(number, block_hash, logs))).hex()
