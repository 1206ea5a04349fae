"""Reading the next batch: its logs, checked against the chain's headers, decoded into event rows
and digested, nothing written.

A batch covers [checkpoint + 1, end], `end` chosen by the adaptive fetcher, never beyond
head - finality_depth. It reads the factory, PatentAsset, every known pool and each pool's own
payment token's transfers to and from pools (one log found by two filters is kept once); a
`PoolCreated` in the batch adds its pool, read (with its token's transfers) from its creation
block on, before the batch is checked. Each batch then checks, against headers read after the
logs: the first block's parent is the checkpoint, the end block's hash did not change while the
logs were read, and every log's blockHash is its block's hash. A failed check drops the batch
(a "retry" step: nothing was written) and the next step reads it again.

Integrity digest: see indexer/digest.py (one keccak per block over its logs, chained).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from indexer.batch import Batch, EventRow, Position, Reorged, StepResult
from indexer.bulk import PackedRows, pack_rows
from indexer.decode import decode_log, event_topic
from indexer.digest import next_digest
from indexer.errors import ReorgDuringBatch
from indexer.fetch import LogFetcher, LogFilter, Rpc
from indexer.logs import Log
from indexer.schema import Block, Event

__all__ = ["POOL_CREATED_TOPIC", "TRANSFER_TOPIC", "Reader", "event_rows"]

TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
POOL_CREATED_TOPIC = event_topic("PoolCreated(address,uint256,address,string,uint8,string,address)")
#: Addresses per eth_getLogs filter (providers cap address and topic lists).
_ADDRESSES_PER_FILTER = 500

_EVENT = Event.__table__  # type: ignore[attr-defined]
_BLOCK = Block.__table__  # type: ignore[attr-defined]

#: A Log's (block number, log index): chain order.
_log_key = itemgetter(Log._fields.index("block_number"), Log._fields.index("log_index"))


def event_rows(
    dialect: str, logs: Sequence[Log], chain_id: int, timestamps: Mapping[int, int]
) -> tuple[list[EventRow], PackedRows]:
    """The `event` rows of `logs` (decoded; `timestamps` by block number), and the same rows packed
    for `dialect`'s bulk insert."""
    rows: list[EventRow] = []
    append_row = rows.append
    for log in logs:
        name, args = decode_log(log)
        number = log.block_number
        append_row(
            EventRow(
                chain_id,
                number,
                log.log_index,
                log.block_hash,
                timestamps[number],
                log.tx_hash,
                log.tx_index,
                log.address,
                name,
                args,
                list(log.topics),
                log.data,
            )
        )
    return rows, pack_rows(dialect, _EVENT, rows)


@dataclass
class Reader:
    """Reads batches of one deployment's logs from one node, for a database of `dialect`."""

    rpc: Rpc
    fetcher: LogFetcher
    factory: str
    asset_registry: str
    chain_id: int
    dialect: str
    finality_depth: int = 0

    def next(self, cp: Position, pools: Mapping[str, str]) -> Batch | StepResult | Reorged:
        """What comes after `cp`, given the pools known there (address -> payment token): a batch
        read and decoded (not written), an idle or retry step, or `Reorged` when `cp` is no longer
        on the chain."""
        started = time.monotonic()
        calls: list[tuple[str, Sequence[Any]]] = [("eth_blockNumber", [])]
        checks_cp = cp.number >= 0 and bool(cp.hash)
        if checks_cp:
            calls.append(("eth_getBlockByNumber", [hex(cp.number), False]))
        # The header of the block the next range most likely ends at, read now, before the logs,
        # as `_read` needs it: one round trip to the node less per batch.
        likely_end = cp.number + self.fetcher.span
        calls.append(("eth_getBlockByNumber", [hex(likely_end), False]))
        answers = self.rpc.batch(calls)
        head = int(answers[0], 16)
        target = head - self.finality_depth
        if checks_cp:
            header = answers[1]
            if header is None or header["hash"].lower() != cp.hash:
                return Reorged(cp, head, target, started)
        first = cp.number + 1
        if first > target:
            return StepResult("idle", first, cp.number, head, target, digest=cp.digest)
        end_header = answers[-1]
        known = {likely_end: str(end_header["hash"]).lower()} if end_header is not None else {}
        try:
            return self._prepare(cp, pools, first, head, target, started, known)
        except ReorgDuringBatch as exc:
            return StepResult("retry", first, cp.number, head, target, digest=cp.digest, detail=str(exc))

    def hash_at(self, number: int) -> str | None:
        """The hash of block `number`, or None when the chain has no such block (yet)."""
        header = self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        return None if header is None else str(header["hash"]).lower()

    def filters(self, pools: Mapping[str, str], core: bool) -> list[LogFilter]:
        """eth_getLogs filters for `pools` (address -> payment token) and, with `core`, the factory
        and PatentAsset: each token's transfers from and to its own pools only."""
        pool_list = sorted(pools)
        filters: list[LogFilter] = []
        addresses = [self.factory, self.asset_registry] if core else []
        chunks = [pool_list[i : i + _ADDRESSES_PER_FILTER] for i in range(0, len(pool_list), _ADDRESSES_PER_FILTER)]
        if addresses and not chunks:
            chunks = [[]]
        for n, chunk in enumerate(chunks):
            filters.append(LogFilter(tuple((addresses if n == 0 else []) + chunk)))
        by_token: dict[str, list[str]] = {}
        for pool in pool_list:
            token = pools[pool]
            if token:
                by_token.setdefault(token, []).append(pool)
        for token, members in sorted(by_token.items()):
            for i in range(0, len(members), _ADDRESSES_PER_FILTER):
                topics = tuple("0x" + "00" * 12 + p[2:].lower() for p in members[i : i + _ADDRESSES_PER_FILTER])
                filters.append(LogFilter((token,), (TRANSFER_TOPIC, topics)))
                filters.append(LogFilter((token,), (TRANSFER_TOPIC, None, topics)))
        return filters

    def _prepare(
        self,
        cp: Position,
        pools: Mapping[str, str],
        first: int,
        head: int,
        target: int,
        started: float,
        known: dict[int, str],
    ) -> Batch:
        """Read, check and decode the next batch after `cp` (nothing is written); `known`: block
        hashes read just now, before any log (see `_read`)."""
        new_pools: dict[str, str] = {}
        end, read, end_hash_before = self._read(first, target, pools, known)
        # By (block, log index): a transfer between two pools answers both of its token's filters.
        logs = {_log_key(log): log for log in read}
        # Pools created in this batch: read them (and their token transfers) from their block on.
        while True:
            created = sorted(
                (
                    log
                    for log in logs.values()
                    if log.address == self.factory and log.topics and log.topics[0] == POOL_CREATED_TOPIC
                ),
                key=_log_key,
            )
            fresh = []
            for log in created:
                _, args = decode_log(log)
                pool = args.get("pool")
                if isinstance(pool, str) and pool not in pools and pool not in new_pools:
                    new_pools[pool] = args["paymentToken"]
                    fresh.append((pool, log.block_number))
            if not fresh:
                break
            for pool, block in fresh:
                for log in self.fetcher.fetch_all(block, end, self.filters({pool: new_pools[pool]}, core=False)):
                    logs[_log_key(log)] = log
        ordered = sorted(logs.values(), key=_log_key)
        headers = self.rpc.headers([first, end, *{log.block_number for log in ordered}])
        self._verify(cp, first, end, end_hash_before, headers, ordered)
        end_header = headers[end]
        assert end_header is not None
        events, packed_events, blocks, digest = self._rows(cp.digest, ordered, headers)
        return Batch(
            cp,
            first,
            end,
            end_header["hash"].lower(),
            head,
            target,
            events,
            packed_events,
            pack_rows(self.dialect, _BLOCK, blocks),
            digest,
            new_pools,
            started,
        )

    def _read(
        self, first: int, target: int, pools: Mapping[str, str], known: dict[int, str]
    ) -> tuple[int, list[Log], str | None]:
        """The logs of the next range from `first` (at most to `target`): (end, logs, the end
        block's hash as read before the logs, to notice a reorg landing while they are read).
        `known`: hashes read before this call (and so before the logs); the first attempt takes its
        end's hash from there when it has it, a retry of a smaller range reads it again."""
        end_hash: dict[int, str | None] = {}

        def before(_start: int, end: int) -> None:
            end_hash.clear()
            end_hash[end] = known[end] if end in known else self.hash_at(end)
            known.clear()

        end, logs = self.fetcher.fetch(first, target, self.filters(pools, core=True), before)
        return end, logs, end_hash.get(end)

    def _verify(
        self,
        cp: Position,
        first: int,
        end: int,
        end_hash_before: str | None,
        headers: dict[int, dict[str, Any] | None],
        logs: Sequence[Log],
    ) -> None:
        """Raise ReorgDuringBatch unless the batch sits on `cp` and every log is of the chain whose
        headers were read after the logs."""
        first_header, end_header = headers.get(first), headers.get(end)
        if first_header is None or end_header is None:
            raise ReorgDuringBatch(end, end_hash_before or "?", "missing")
        if cp.hash and first_header["parentHash"].lower() != cp.hash:
            raise ReorgDuringBatch(cp.number, cp.hash, first_header["parentHash"].lower())
        if end_hash_before is not None and end_header["hash"].lower() != end_hash_before:
            raise ReorgDuringBatch(end, end_hash_before, end_header["hash"].lower())
        for log in logs:
            header = headers.get(log.block_number)
            got = "missing" if header is None else header["hash"].lower()
            if got != log.block_hash:
                raise ReorgDuringBatch(log.block_number, log.block_hash, got)

    def _rows(
        self, digest: str, logs: Sequence[Log], headers: dict[int, dict[str, Any] | None]
    ) -> tuple[list[EventRow], PackedRows, list[dict[str, Any]], str]:
        """The batch's event rows (and the same packed for the insert), block rows and digest."""
        blocks: list[dict[str, Any]] = []
        timestamps: dict[int, int] = {}
        i = 0
        while i < len(logs):
            number = logs[i].block_number
            j = i
            while j < len(logs) and logs[j].block_number == number:
                j += 1
            group = logs[i:j]
            header = headers[number]
            assert header is not None
            timestamp = timestamps[number] = int(header["timestamp"], 16)
            digest = next_digest(digest, number, group[0].block_hash, group)
            blocks.append(
                {
                    "number": number,
                    "hash": group[0].block_hash,
                    "parent_hash": header["parentHash"].lower(),
                    "timestamp": timestamp,
                    "event_count": len(group),
                    "digest": digest,
                }
            )
            i = j
        events, packed = event_rows(self.dialect, logs, self.chain_id, timestamps)
        return events, packed, blocks, digest
