"""The dependencies routes declare: the app's state, a database session, the indexed block.

`IndexedDep` reads the mirror's checkpoint once per request: it names the state the answer
reflects (the `indexed` field and the X-Indexed-Block headers), and from it the ETag, so a client
that already holds this state gets a 304 before any query runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.chain import ChainReader
from api.models import IndexedBlock
from api.problems import Problem
from api.settings import ApiSettings
from indexer.db import DATABASE_FAILURES, reason
from indexer.schema import Checkpoint

__all__ = [
    "AppState",
    "IndexedDep",
    "NotModified",
    "SessionDep",
    "SettingsDep",
    "StateDep",
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


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.api
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings(state: StateDep) -> ApiSettings:
    return state.settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def get_session(state: StateDep) -> Iterator[Session]:
    with Session(state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def read_checkpoint(session: Session) -> Checkpoint:
    """The mirror's checkpoint; a 503 problem while there is none or the database fails."""
    try:
        checkpoint = session.get(Checkpoint, 1)
    except (*DATABASE_FAILURES, sa.exc.ProgrammingError) as exc:
        if _no_schema(exc):
            checkpoint = None
        else:
            raise Problem(503, f"the mirror's database is unavailable: {reason(exc)}", kind="database") from None
    if checkpoint is None:
        raise Problem(503, "nothing is indexed yet: run `patentpool index` against this database", kind="not-indexed")
    return checkpoint


def _no_schema(exc: Exception) -> bool:
    """Whether a database error says the mirror's tables are not there (never indexed, not migrated)."""
    text = reason(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _etag(checkpoint: Checkpoint, request: Request) -> str:
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
    if if_none_match and headers["ETag"] in _tags(if_none_match):
        raise NotModified(headers)
    response.headers.update(headers)
    request.state.response_headers = headers
    return indexed_block(checkpoint)


def indexed_block(checkpoint: Checkpoint) -> IndexedBlock:
    """The checkpoint as the `indexed` field of an answer."""
    return IndexedBlock(
        chain_id=checkpoint.chain_id,
        block_number=checkpoint.block_number,
        block_hash=checkpoint.block_hash,
        digest=checkpoint.digest,
        event_count=checkpoint.event_count,
    )


def _tags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header, weak or strong alike (RFC 9110 weak comparison)."""
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        tags.add(tag)
        tags.add(tag[2:] if tag.startswith("W/") else "W/" + tag)
    return tags


IndexedDep = Annotated[IndexedBlock, Depends(get_indexed)]
