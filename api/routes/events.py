"""`/v1/events`: the raw events the indexer mirrored, as a list and as a live Server-Sent Events stream.

An event's position (block number, log index) is unique on its chain and only grows as blocks are
indexed, so it is both the list's keyset and the stream's event id ("blockNumber-logIndex"): a
client resumes either from the last position it saw and misses nothing that was indexed since.
One exception: when the indexer follows a reorg, replacement events at or before a position a
client already passed are not sent again (the block hashes in each event tell such a client).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.deps import IndexedDep, SessionDep, StateDep, read_checkpoint
from api.models import ApiModel, IndexedBlock, Page, Provenance, Time, provenance, time_of
from api.pagination import PageParams, PageParamsDep, page
from api.problems import PROBLEM_RESPONSES, Problem
from api.queries import AddressPath, pool_or_404
from api.responses import CSV_RESPONSE, FormatQuery, respond
from indexer.db import DATABASE_FAILURES, reason
from indexer.decode import event_abis
from indexer.schema import Event

router = APIRouter(prefix="/v1", tags=["events"], responses=PROBLEM_RESPONSES)

_log = logging.getLogger("api.events")

#: Every name an event can be stored under: the tracked contracts' ABI events, and "Unknown" for a
#: log none of them decodes (indexer.decode.decode_log).
EVENT_NAMES: list[str] = sorted({abi.name for abi in event_abis().values()} | {"Unknown"})

#: Events one poll of the stream reads at most; a longer backlog is read in several polls.
_STREAM_BATCH = 500
_MAX_BLOCK = 2**63 - 1
_POSITION = re.compile(r"(\d{1,19})-(\d{1,10})")


def _known_name(value: str | None) -> str | None:
    if value is not None and value not in EVENT_NAMES:
        raise ValueError(f"{value[:64]!r} is no event of the tracked contracts (one of {', '.join(EVENT_NAMES)})")
    return value


NameQuery = Annotated[
    str | None,
    Query(max_length=64, description="Only events of this name.", json_schema_extra={"enum": EVENT_NAMES}),
    AfterValidator(_known_name),
]
PoolQuery = Annotated[
    str | None, Query(max_length=64, description="Only events this pool emitted (its contract address).")
]
BlockQuery = Annotated[int | None, Query(ge=0, le=_MAX_BLOCK)]
TxQuery = Annotated[
    str | None,
    Query(pattern=r"^0x[0-9a-fA-F]{64}$", description="Only events of this transaction (its hash, in any case)."),
]


class EventOut(ApiModel):
    """One mirrored log: where it is on chain, who emitted it, and its decoded arguments."""

    chain_id: int
    block_number: int
    block_hash: str
    block_time: Time | None = Field(description="The block's timestamp.")
    tx_hash: str
    tx_index: int
    log_index: int
    address: str = Field(description="The contract that emitted it (checksummed).")
    name: str = Field(examples=["MemberJoined"])
    args: dict[str, Any] = Field(
        description="The decoded arguments as stored: integers wider than 48 bits are decimal strings; "
        "an Unknown event holds its raw topics and data.",
        examples=[{"member": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "tier": 0, "fee": "500000000"}],
    )
    provenance: Provenance


def event_out(row: Event) -> EventOut:
    return EventOut(
        chain_id=row.chain_id,
        block_number=row.block_number,
        block_hash=row.block_hash,
        block_time=time_of(row.block_timestamp),
        tx_hash=row.tx_hash,
        tx_index=row.tx_index,
        log_index=row.log_index,
        address=row.address,
        name=row.event_name,
        args=dict(row.args),
        provenance=provenance(row, row.chain_id),
    )


def _filtered(
    chain_id: int,
    pool: str | None = None,
    name: str | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
    tx: str | None = None,
) -> SelectOfScalar[Event]:
    statement = select(Event).where(Event.chain_id == chain_id)
    if pool is not None:
        statement = statement.where(Event.address == pool)
    if name is not None:
        statement = statement.where(Event.event_name == name)
    if from_block is not None:
        statement = statement.where(Event.block_number >= from_block)
    if to_block is not None:
        statement = statement.where(Event.block_number <= to_block)
    if tx is not None:
        statement = statement.where(Event.tx_hash == tx.lower())
    return statement


def _events_page(
    request: Request,
    session: Session,
    indexed: IndexedBlock,
    params: PageParams,
    cursor_name: str,
    fmt: str | None,
    statement: SelectOfScalar[Event],
) -> Page[EventOut] | StreamingResponse:
    rows, cursor = page(session, statement, [Event.block_number, Event.log_index], params, cursor_name)
    data = [event_out(row) for row in rows]
    return respond(request, Page[EventOut](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


def _block_range(from_block: int | None, to_block: int | None) -> None:
    if from_block is not None and to_block is not None and from_block > to_block:
        raise Problem(400, f"from_block ({from_block}) must not be after to_block ({to_block})", kind="block-range")


@router.get("/events", response_model=Page[EventOut], responses=CSV_RESPONSE)
def list_events(
    request: Request,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    pool: PoolQuery = None,
    name: NameQuery = None,
    from_block: Annotated[int | None, Query(ge=0, le=_MAX_BLOCK, description="From this block on.")] = None,
    to_block: Annotated[int | None, Query(ge=0, le=_MAX_BLOCK, description="Up to this block (included).")] = None,
    tx: TxQuery = None,
    fmt: FormatQuery = None,
) -> Page[EventOut] | StreamingResponse:
    """The raw events the indexer mirrored, in chain order (block number, log index)."""
    _block_range(from_block, to_block)
    address = pool_or_404(session, pool).address if pool is not None else None
    statement = _filtered(indexed.chain_id, address, name, from_block, to_block, tx)
    return _events_page(request, session, indexed, params, "events", fmt, statement)


@router.get("/pools/{address}/events", response_model=Page[EventOut], responses=CSV_RESPONSE)
def list_pool_events(
    request: Request,
    address: AddressPath,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    name: NameQuery = None,
    from_block: Annotated[int | None, Query(ge=0, le=_MAX_BLOCK, description="From this block on.")] = None,
    to_block: Annotated[int | None, Query(ge=0, le=_MAX_BLOCK, description="Up to this block (included).")] = None,
    tx: TxQuery = None,
    fmt: FormatQuery = None,
) -> Page[EventOut] | StreamingResponse:
    """The raw events one pool emitted, in chain order (block number, log index)."""
    _block_range(from_block, to_block)
    pool = pool_or_404(session, address)
    statement = _filtered(indexed.chain_id, pool.address, name, from_block, to_block, tx)
    return _events_page(request, session, indexed, params, f"events:{pool.address}", fmt, statement)


def parse_position(text: str, what: str) -> tuple[int, int]:
    """(block number, log index) from an event id "blockNumber-logIndex"; a 400 problem otherwise."""
    match = _POSITION.fullmatch(text.strip())
    if match is None or int(match[1]) > _MAX_BLOCK or int(match[2]) >= 2**31:
        raise Problem(
            400, f"{what} must be an event id, blockNumber-logIndex (e.g. 1234-0), not {text[:40]!r}", kind="event-id"
        )
    return int(match[1]), int(match[2])


def _last_position(session: Session, chain_id: int) -> tuple[int, int]:
    last = session.exec(
        select(Event)
        .where(Event.chain_id == chain_id)
        .order_by(sa.desc(col(Event.block_number)), sa.desc(col(Event.log_index)))
        .limit(1)
    ).first()
    return (last.block_number, last.log_index) if last is not None else (-1, -1)


def _newer(engine: Engine, statement: SelectOfScalar[Event], after: tuple[int, int]) -> list[EventOut]:
    """The next events after `after` (at most one batch), read in a session of their own."""
    key = sa.tuple_(col(Event.block_number), col(Event.log_index))
    with Session(engine) as session:
        rows = session.exec(
            statement.where(key > sa.tuple_(*after))
            .order_by(col(Event.block_number), col(Event.log_index))
            .limit(_STREAM_BATCH)
        ).all()
        return [event_out(row) for row in rows]


async def _stream(
    engine: Engine, statement: SelectOfScalar[Event], after: tuple[int, int], poll: float, seconds: float
) -> AsyncIterator[ServerSentEvent]:
    deadline = anyio.current_time() + seconds
    while True:
        try:
            events = await run_in_threadpool(_newer, engine, statement, after)
        except DATABASE_FAILURES as exc:
            # The response has started: no problem document can be sent. End the stream; the
            # client reconnects with the last id it saw.
            _log.warning("event stream stopped: the mirror's database failed: %s", reason(exc))
            return
        for event in events:
            yield ServerSentEvent(data=event.model_dump_json(), id=f"{event.block_number}-{event.log_index}")
        if events:
            after = (events[-1].block_number, events[-1].log_index)
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return
        if len(events) < _STREAM_BATCH:
            await anyio.sleep(min(poll, remaining))


_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: one `data:` JSON event (the list's row) per newly indexed event, "
        "`id:` blockNumber-logIndex; comment pings keep the connection alive; the server closes it after "
        "a while and the client reconnects with Last-Event-ID.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.get("/events/stream", response_model=None, response_class=EventSourceResponse, responses=_STREAM_RESPONSES)
def stream_events(
    state: StateDep,
    pool: PoolQuery = None,
    name: NameQuery = None,
    after: Annotated[
        str | None, Query(max_length=40, description="Start after this event id (blockNumber-logIndex).")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=40,
            description="Resume after this event id (browsers send it on reconnecting); wins over `after`.",
        ),
    ] = None,
) -> EventSourceResponse:
    """Newly indexed events as Server-Sent Events, from now or after a given event id."""
    resume = last_event_id if last_event_id is not None else after
    start = parse_position(resume, "Last-Event-ID" if last_event_id is not None else "after") if resume else None
    # A session of its own, closed before the stream starts: a request's session would stay open
    # (holding a connection, and on PostgreSQL a transaction) for as long as the stream runs.
    with Session(state.engine) as session:
        checkpoint = read_checkpoint(session)
        address = pool_or_404(session, pool).address if pool is not None else None
        if start is None:
            start = _last_position(session, checkpoint.chain_id)
    settings = state.settings
    statement = _filtered(checkpoint.chain_id, pool=address, name=name)
    return EventSourceResponse(
        _stream(state.engine, statement, start, settings.stream_poll_interval, settings.stream_max_seconds),
        ping=settings.stream_ping_interval,
        headers={"Cache-Control": "no-store"},
    )
