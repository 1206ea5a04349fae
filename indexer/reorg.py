"""Rolling a reorganisation back: from a checkpoint the chain no longer has to the newest block the
database and the chain share.

The indexer walks back over the hashes it stored (recent batch ends and every block that held
events) to the newest one the chain still has: the common ancestor. One transaction then deletes
the raw events and digests above it, moves the checkpoint there and brings the projections back
to the ancestor. Batches within the reorg window recorded the prior state of every projection row
they changed (`projection_undo`, see indexer/writer.py), so the rollback restores just those rows
to their state before the oldest undone batch and replays the raw events from that batch's start
up to the ancestor: its cost is the few recent batches, not the history. A reorg deeper than that
record rebuilds every projection from the raw events instead. Either way the result equals a
fresh index. Pools discovered above the ancestor are forgotten with their `PoolCreated` (the
loop reloads them from the remaining events).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from indexer.batch import Position, Reorged, StepResult
from indexer.digest import GENESIS_DIGEST
from indexer.lock import Lock
from indexer.projections import Progress, rebuild, undo_to
from indexer.reader import Reader
from indexer.schema import Block, Checkpoint, Event, ProjectionUndo, RecentBlock

__all__ = ["Reorgs"]

_EVENT = Event.__table__  # type: ignore[attr-defined]
_BLOCK = Block.__table__  # type: ignore[attr-defined]
_RECENT = RecentBlock.__table__  # type: ignore[attr-defined]
_CHECKPOINT = Checkpoint.__table__  # type: ignore[attr-defined]
_UNDO = ProjectionUndo.__table__  # type: ignore[attr-defined]

#: Stored block hashes compared with the chain's per JSON-RPC batch while walking back.
_HEADERS_PER_CALL = 50


@dataclass
class Reorgs:
    """Rolls one database back to the common ancestor with the chain `reader` reads."""

    engine: Engine
    reader: Reader
    start_block: int
    lock: Lock | None = None

    def ancestor(self, cp: Position) -> tuple[int, str]:
        """The newest stored block below `cp` the chain still has, as (number, hash); else the
        block before the start."""
        with self.engine.connect() as conn:
            recent = conn.execute(sa.select(_RECENT.c.number, _RECENT.c.hash).where(_RECENT.c.number < cp.number))
            blocks = conn.execute(sa.select(_BLOCK.c.number, _BLOCK.c.hash).where(_BLOCK.c.number < cp.number))
            known = {int(n): str(h) for n, h in [*recent, *blocks]}
        candidates = sorted(known, reverse=True)
        for i in range(0, len(candidates), _HEADERS_PER_CALL):
            part = candidates[i : i + _HEADERS_PER_CALL]
            headers = self.reader.rpc.headers(part)
            for number in part:
                header = headers.get(number)
                if header is not None and header["hash"].lower() == known[number]:
                    return number, known[number]
        parent = self.start_block - 1
        return parent, (self.reader.hash_at(parent) or "") if parent >= 0 else ""

    def roll_back(self, found: Reorged, on_rebuild: Progress | None = None) -> StepResult:
        """Roll back from `found.cp` (no longer on the chain) to the common ancestor; `on_rebuild`
        hears the progress of a full rebuild of the projections, when the reorg needs one."""
        cp = found.cp
        number, block_hash = self.ancestor(cp)
        with self.engine.begin() as conn:
            if self.lock is not None:
                self.lock.check(conn)
            removed = conn.execute(sa.delete(_EVENT).where(_EVENT.c.block_number > number)).rowcount
            conn.execute(sa.delete(_BLOCK).where(_BLOCK.c.number > number))
            conn.execute(sa.delete(_RECENT).where(_RECENT.c.number > number))
            digest = (
                conn.execute(
                    sa.select(_BLOCK.c.digest)
                    .where(_BLOCK.c.number <= number)
                    .order_by(_BLOCK.c.number.desc())
                    .limit(1)
                ).scalar()
                or GENESIS_DIGEST
            )
            count = int(conn.execute(sa.select(sa.func.count()).select_from(_EVENT)).scalar_one())
            conn.execute(
                sa.update(_CHECKPOINT)
                .where(_CHECKPOINT.c.id == 1)
                .values(block_number=number, block_hash=block_hash, digest=digest, event_count=count)
            )
            undone = undo_to(conn, number, cp.number)
            if undone is None:  # deeper than the undo log reaches: replay the whole history
                conn.execute(sa.delete(_UNDO).where(_UNDO.c.batch_end > number))
                restored, replayed = 0, rebuild(conn, on_rebuild)
                how = f"rebuilt every projection from {replayed} raw events"
            else:
                restored, replayed = undone
                how = f"restored {restored} projection rows and replayed {replayed} events"
        return StepResult(
            "reorg",
            number + 1,
            cp.number,
            found.head,
            found.target,
            digest=str(digest),
            rolled_back=int(removed or 0),
            ancestor=number,
            rollback="rebuild" if undone is None else "undo",
            restored_rows=restored,
            replayed_events=replayed,
            seconds=time.monotonic() - found.started,
            detail=f"block {cp.number} {cp.hash} is no longer canonical; rolled back to block {number} ({how})",
        )

    def rebuild_projections(self, on_progress: Progress | None = None) -> int:
        """Rebuild every current-state table from the raw events, in one transaction; `on_progress`
        hears (events replayed, events in all) as it goes."""
        with self.engine.begin() as conn:
            if self.lock is not None:
                self.lock.check(conn)
            return rebuild(conn, on_progress)
