"""`/v1/status`, `/healthz` and `/readyz`: how far the mirror has come, and whether to send it traffic.

`/healthz` says only that the process answers (it touches neither the database nor the node);
`/readyz` is for a load balancer: 200 while the mirror answers and is at most
`ready_max_lag` blocks behind the node, otherwise a 503 problem saying why. Neither is cached:
both read the node live, which no ETag of the mirror's state could describe.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from api.chain import ChainReader, Head
from api.deps import IndexedCheckpoint, SessionDep, StateDep, indexed_block, read_checkpoint
from api.models import ApiModel, Item, Time, time_of
from api.problems import PROBLEM_RESPONSES, Problem, ProblemDetail

router = APIRouter(prefix="", tags=["status"], responses=PROBLEM_RESPONSES)

_NO_STORE = "no-store"


class IndexedHead(ApiModel):
    """The mirror's checkpoint: the last block it indexed and the digest after it."""

    chain_id: int
    block_number: int
    block_hash: str
    digest: str = Field(description="The running integrity digest after this block (docs/indexer.md).")
    event_count: int = Field(description="Events mirrored up to this block.")
    start_block: int = Field(description="The block the mirror started from (the factory's deployment).")
    factory: str = Field(description="The PoolFactory this mirror follows.")
    updated_at: Time | None = Field(description="When the indexer last committed a batch (the indexer's clock).")


class ChainHead(ApiModel):
    """The node's latest block, read live."""

    chain_id: int
    block_number: int
    block_hash: str
    block_time: Time | None


class Status(ApiModel):
    """The mirror's head beside the chain's, and how far behind it is."""

    head: IndexedHead
    chain: ChainHead | None = Field(description="Null when the node did not answer (see `message`).")
    lag: int | None = Field(
        description="Blocks the mirror is behind the node (negative: it holds blocks the node no longer has, "
        "a reorg it has not followed yet); null when the node did not answer."
    )
    chain_id_match: bool | None = Field(description="Whether the node serves the chain the mirror holds.")
    message: str | None = Field(default=None, description="Why `chain` is null.")


class Health(ApiModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(ApiModel):
    """The mirror answers and is close enough to the node's head to serve."""

    status: Literal["ready"] = "ready"
    indexed_block: int
    chain_block: int
    lag: int
    max_lag: int


def _live_head(chain: ChainReader) -> tuple[Head, int]:
    """The node's head and chain id; a 502 problem when it does not answer."""
    head = chain.head()
    try:
        chain_id = int(chain.w3.eth.chain_id)
    except Exception as exc:
        raise Problem(502, f"the node did not say its chain id ({type(exc).__name__})", kind="chain") from None
    return head, chain_id


def _headers(response: Response, checkpoint: IndexedCheckpoint) -> None:
    response.headers["Cache-Control"] = _NO_STORE
    response.headers["X-Indexed-Block"] = str(checkpoint.block_number)
    response.headers["X-Indexed-Block-Hash"] = checkpoint.block_hash


@router.get("/v1/status", response_model=Item[Status])
def get_status(session: SessionDep, state: StateDep, response: Response) -> Item[Status]:
    """The indexed head (number, hash, digest) beside the chain's live head, and the lag in blocks."""
    checkpoint = read_checkpoint(session)
    _headers(response, checkpoint)
    head = IndexedHead(
        chain_id=checkpoint.chain_id,
        block_number=checkpoint.block_number,
        block_hash=checkpoint.block_hash,
        digest=checkpoint.digest,
        event_count=checkpoint.event_count,
        start_block=checkpoint.start_block,
        factory=checkpoint.factory,
        updated_at=time_of(int(checkpoint.updated_at)),
    )
    try:
        live, chain_id = _live_head(state.chain)
    except Problem as problem:
        status = Status(head=head, chain=None, lag=None, chain_id_match=None, message=problem.detail)
    else:
        status = Status(
            head=head,
            chain=ChainHead(
                chain_id=chain_id,
                block_number=live.number,
                block_hash=live.hash,
                block_time=time_of(live.timestamp),
            ),
            lag=live.number - checkpoint.block_number,
            chain_id_match=chain_id == checkpoint.chain_id,
        )
    return Item[Status](data=status, indexed=indexed_block(checkpoint))


@router.get("/healthz", response_model=Health)
def healthz(response: Response) -> Health:
    """Whether the process answers (no database, no node)."""
    response.headers["Cache-Control"] = _NO_STORE
    return Health()


_READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ProblemDetail,
        "description": "Not ready: the database does not answer, nothing is indexed, the node does not answer, "
        "it serves another chain, or the mirror is too far behind.",
        "content": {"application/problem+json": {}},
    }
}


@router.get("/readyz", response_model=Readiness, responses=_READY_RESPONSES)
def readyz(session: SessionDep, state: StateDep, response: Response) -> Readiness:
    """Whether to send this process traffic: 200 while the mirror is at most ready_max_lag blocks behind."""
    checkpoint = read_checkpoint(session)
    headers = {"Cache-Control": _NO_STORE}
    try:
        live, chain_id = _live_head(state.chain)
    except Problem as problem:
        raise Problem(
            503, f"cannot tell how far behind the mirror is: {problem.detail}", headers, kind="not-ready"
        ) from None
    if chain_id != checkpoint.chain_id:
        raise Problem(
            503,
            f"the node serves chain {chain_id} but the mirror holds chain {checkpoint.chain_id}",
            headers,
            kind="not-ready",
        )
    lag = live.number - checkpoint.block_number
    limit = state.settings.ready_max_lag
    if lag > limit:
        raise Problem(
            503,
            f"the mirror is {lag} blocks behind the chain (indexed {checkpoint.block_number}, "
            f"head {live.number}; at most {limit} allowed)",
            headers,
            kind="not-ready",
        )
    _headers(response, checkpoint)
    return Readiness(indexed_block=checkpoint.block_number, chain_block=live.number, lag=lag, max_lag=limit)
