"""The dependencies routes declare: the app's state, a database session, the indexed block.

`IndexedDep` reads the mirror's checkpoint once per request: it names the state the answer
reflects (the `indexed` field and the X-Indexed-Block headers), and from it the ETag, so a client
that already holds this state gets a 304 before any query runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.cache import INDEXED_ETAG_KEY, INDEXED_STATE_KEY, State, entity_tags
from api.chain import ChainReader
from api.models import IndexedBlock
from api.problems import Problem
from api.settings import ApiSettings
from indexer.db import DATABASE_FAILURES, reason
from indexer.schema import Checkpoint

__all__ = [
    "AppState",
    "IndexedCheckpoint",
    "IndexedDep",
    "NotModified",
    "SessionDep",
    "SettingsDep",
    "StateDep",
    "checkpoint_state",
    "get_indexed",
    "get_session",
    "get_state",
    "indexed_block",
    "read_checkpoint",
]


@dataclass
class AppState:
    """What the app holds for its lifetime (made in the lifespan of `api.main.create_app`)."""

    settings: ApiSettings
    engine: Engine
    chain: ChainReader


class NotModified(Exception):
    """The client's If-None-Match names the current state: answer 304."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.api
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> ApiSettings:
    return state.settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


async def get_session(state: StateDep) -> AsyncIterator[Session]:
    """A session for the request. Making one does no I/O, so this runs on the event loop; closing it
    (returning its connection) may, so that goes to the thread pool: one trip, where a plain
    generator dependency takes two (its entry and its exit)."""
    session = Session(state.engine)
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True, slots=True)
class IndexedCheckpoint:
    """The mirror's checkpoint as routes read it (a plain row: no ORM object per request)."""

    chain_id: int
    factory: str
    start_block: int
    block_number: int
    block_hash: str
    digest: str
    event_count: int
    updated_at: float

    @classmethod
    def of(cls, row: sa.Row[Any]) -> IndexedCheckpoint:
        values = row._mapping
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})

    @property
    def state(self) -> State:
        """Its identity, as the response cache compares it."""
        return (self.chain_id, self.block_hash, self.event_count)


_CHECKPOINT = sa.select(Checkpoint.__table__).where(Checkpoint.__table__.c.id == 1)  # type: ignore[attr-defined]


def read_checkpoint(session: Session) -> IndexedCheckpoint:
    """The mirror's checkpoint; a 503 problem while there is none or the database fails."""
    try:
        row = session.execute(_CHECKPOINT).first()
    except (*DATABASE_FAILURES, sa.exc.ProgrammingError) as exc:
        if _no_schema(exc):
            row = None
        else:
            raise Problem(503, f"the mirror's database is unavailable: {reason(exc)}", kind="database") from None
    if row is None:
        raise Problem(503, "nothing is indexed yet: run `patentpool index` against this database", kind="not-indexed")
    return IndexedCheckpoint.of(row)


def checkpoint_state(engine: Engine) -> State | None:
    """The checkpoint's identity read on its own connection (the response cache's check); None if none."""
    with engine.connect() as connection:
        row = connection.execute(_CHECKPOINT).first()
    return None if row is None else IndexedCheckpoint.of(row).state


def _no_schema(exc: Exception) -> bool:
    """Whether a database error says the mirror's tables are not there (never indexed, not migrated)."""
    text = reason(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _etag(checkpoint: IndexedCheckpoint, request: Request) -> str:
    variant = f"{checkpoint.chain_id}:{checkpoint.block_hash}:{checkpoint.event_count}:{request.url.path}?"
    variant += f"{request.url.query}:{request.headers.get('accept', '')}"
    return 'W/"' + hashlib.sha256(variant.encode()).hexdigest()[:32] + '"'


def get_indexed(request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> IndexedBlock:
    """The indexed block this request's answer reflects; a 304 when the client's ETag is current."""
    checkpoint = read_checkpoint(session)
    headers = {
        "ETag": _etag(checkpoint, request),
        "Cache-Control": f"public, max-age={settings.cache_max_age}",
        "X-Indexed-Block": str(checkpoint.block_number),
        "X-Indexed-Block-Hash": checkpoint.block_hash,
    }
    # Only a tag this URL was answered with (a 2xx at this state) earns the early 304. `*` does not:
    # answered here, before the route's own parameters are checked, it would turn a request that
    # fails (an unknown pool, a malformed id) into a 304, and RFC 9110 (13.2.1) applies preconditions
    # only where the answer would be a 2xx. Such a request gets the full answer instead.
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and headers["ETag"] in entity_tags(if_none_match):
        raise NotModified(headers)
    response.headers.update(headers)
    request.state.response_headers = headers
    # For the response cache (api.cache): this answer is a function of the URL and this state.
    setattr(request.state, INDEXED_STATE_KEY, checkpoint.state)
    setattr(request.state, INDEXED_ETAG_KEY, headers["ETag"])
    return indexed_block(checkpoint)


def indexed_block(checkpoint: IndexedCheckpoint) -> IndexedBlock:
    """The checkpoint as the `indexed` field of an answer."""
    return IndexedBlock(
        chain_id=checkpoint.chain_id,
        block_number=checkpoint.block_number,
        block_hash=checkpoint.block_hash,
        digest=checkpoint.digest,
        event_count=checkpoint.event_count,
    )


IndexedDep = Annotated[IndexedBlock, Depends(get_indexed)]
