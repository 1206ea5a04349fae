"""What passes between the indexer's reader, writer and loop: where the mirror stands, a batch
read and checked but not yet written, and what each step did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from indexer.bulk import PackedRows
from indexer.digest import GENESIS_DIGEST
from indexer.schema import Event

__all__ = ["Batch", "EventRow", "Position", "Reorged", "StepKind", "StepResult"]

#: What a step did: wrote a batch, rolled a reorg back, dropped a batch the chain changed under
#: (read again next), or found nothing new.
StepKind = Literal["batch", "reorg", "retry", "idle"]


@dataclass(frozen=True)
class StepResult:
    """What one step did, for the loop's caller (the command's progress, the tests)."""

    kind: StepKind
    #: The blocks the step covered: a batch's range, a reorg's removed range (ancestor + 1 to the
    #: old checkpoint); for idle and retry, the next block to read and the checkpoint.
    first: int
    last: int
    head: int
    target: int
    events: int = 0
    digest: str = GENESIS_DIGEST
    #: A reorg: raw events removed, the common ancestor, and how the projections came back, by the
    #: undo log ("undo": `restored_rows` rows restored, `replayed_events` replayed) or by a
    #: "rebuild" from every raw event (`replayed_events` of them).
    rolled_back: int = 0
    ancestor: int | None = None
    rollback: Literal["undo", "rebuild"] | None = None
    restored_rows: int = 0
    replayed_events: int = 0
    seconds: float = 0.0
    #: One line for people (the reorg's or the retry's reason).
    detail: str = ""


@dataclass(frozen=True)
class Position:
    """Where the mirror stands: the last block written, its hash, the digest after it and the
    events stored up to it."""

    number: int
    hash: str
    digest: str
    events: int


class EventRow(NamedTuple):
    """One row of the `event` table, in its column order (the bulk insert takes it as it is)."""

    chain_id: int
    block_number: int
    log_index: int
    block_hash: str
    block_timestamp: int
    tx_hash: str
    tx_index: int
    address: str
    event_name: str
    args: dict[str, Any]
    topics: list[str]
    data: str


assert EventRow._fields == tuple(c.name for c in Event.__table__.columns), "EventRow must follow the event table"  # type: ignore[attr-defined]


@dataclass
class Batch:
    """A batch read, checked and decoded on top of `cp`, not yet written."""

    cp: Position
    first: int
    end: int
    end_hash: str
    head: int
    target: int
    events: list[EventRow]
    #: The events and blocks converted for the database's bulk insert (done while reading).
    packed_events: PackedRows
    packed_blocks: PackedRows
    digest: str
    #: Pools created in this batch: address -> payment token.
    new_pools: dict[str, str]
    started: float

    @property
    def after(self) -> Position:
        """Where the mirror stands once this batch is written."""
        return Position(self.end, self.end_hash, self.digest, self.cp.events + len(self.events))


@dataclass(frozen=True)
class Reorged:
    """The reader's finding that `cp` is no longer on the chain: the loop rolls back."""

    cp: Position
    head: int
    target: int
    started: float
