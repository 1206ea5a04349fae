"""Lists and statements from the SQL mirror (`patentpool index` writes it; docs/indexer.md):
`pool members|assets|offers|licences|disputes` and `revenue statement`, paginated, as a table,
`--json` or `--csv`. The mirror is only read (a read-only connection); amounts are shown in the
payment token's units with its symbol, read from the chain when the node answers.

Every list says which indexed block it reflects; `patentpool index` brings the mirror up to date.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from patentpool._common import PoolArg, fail, format_amount, out, parse_address, print_json
from patentpool.shared import JSON, NODE, OPTS, Opts, shared
from registry.types import Tier

if TYPE_CHECKING:
    from sqlmodel import Session as SqlSession

# SQLAlchemy and SQLModel are imported where a list runs, not with the command: every other
# `patentpool` command starts a third faster without them.

__all__ = ["assets", "disputes", "licences", "members", "offers", "statement"]

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=["DATABASE_URL", "PATENTPOOL_DATABASE_URL"],
        help="The SQL mirror written by `patentpool index` (default sqlite:///patentpool.db).",
        show_default=False,
    ),
]
LimitOption = Annotated[int, typer.Option("--limit", help="Rows per page.", min=1, max=1000)]
OffsetOption = Annotated[int, typer.Option("--offset", help="Rows to skip (the page's start).", min=0)]
CsvOption = Annotated[
    bool, typer.Option("--csv", help="Print the page as CSV: every field, amounts in base units and in tokens.")
]

_PRECISION = 10**18  # PatentPool's revenue accumulator scale
#: Item keys that hold token amounts in base units (CSV adds their exact token amount beside them).
_AMOUNT_KEYS = {"totalPaid", "price", "amount", "credited", "treasuryShare", "claimed"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text, address, hash, amount, date, int


@dataclass
class Token:
    decimals: int | None
    symbol: str

    def amount(self, units: int) -> str:
        if self.decimals is None:
            return f"{units:,}"
        return format_amount(units, self.decimals)

    def plain(self, units: int) -> str:
        """An exact decimal amount without separators (for CSV)."""
        if self.decimals is None:
            return str(units)
        whole, frac = divmod(units, 10**self.decimals)
        return f"{whole}.{frac:0{self.decimals}d}" if self.decimals else str(whole)


def _database_url(given: str | None) -> str:
    if given:
        return given
    from indexer.settings import get_settings

    return get_settings().database_url


@contextmanager
def mirror(url: str | None) -> Iterator[SqlSession]:
    """A read-only session on the mirror; a clear error when there is none or it is empty."""
    from pathlib import Path

    import sqlalchemy as sa
    from sqlmodel import Session as SqlSession

    from api.db import read_only_engine
    from indexer.db import redacted
    from indexer.schema import Checkpoint

    database = _database_url(url)
    if database.startswith("sqlite"):
        path = sa.engine.make_url(database).database
        if path and path != ":memory:" and not Path(path).is_file():
            fail(f"no SQL mirror at {database}: run `patentpool index` first (or give --database-url)")
    try:
        engine = read_only_engine(database, 30_000)
    except Exception as exc:
        fail(f"cannot open the SQL mirror {database}: {exc}")
    try:
        with SqlSession(engine) as session:
            try:
                checkpoint = session.get(Checkpoint, 1)
            except sa.exc.SQLAlchemyError as exc:
                fail(
                    f"{redacted(engine.url)} is not a patentpool mirror ({type(exc).__name__}): run `patentpool index`"
                )
            if checkpoint is None:
                fail(f"the SQL mirror {redacted(engine.url)} is empty: run `patentpool index` first")
            yield session
    finally:
        engine.dispose()


def _checkpoint(session: SqlSession) -> dict[str, Any]:
    import sqlalchemy as sa
    from sqlmodel import col, select

    from indexer.schema import Block, Checkpoint

    checkpoint = session.get(Checkpoint, 1)
    assert checkpoint is not None
    timestamp = session.exec(
        select(Block.timestamp)
        .where(Block.number <= checkpoint.block_number)
        .order_by(sa.desc(col(Block.number)))
        .limit(1)
    ).first()
    return {
        "chainId": checkpoint.chain_id,
        "block": checkpoint.block_number,
        "blockHash": checkpoint.block_hash,
        "time": int(timestamp or 0),
    }


def _pool_row(session: SqlSession, pool: str) -> Any:
    from indexer.schema import Pool

    address = parse_address(pool, "pool")
    row = session.get(Pool, address)
    if row is None:
        indexed = _checkpoint(session)
        fail(
            f"pool {address} is not in the SQL mirror (indexed to block {indexed['block']}): "
            "check the address, or run `patentpool index` to bring the mirror up to date"
        )
    return row


def _token(opts: Opts, address: str) -> Token:
    """The payment token's decimals and symbol from the chain; base units when the node is not reachable."""
    try:
        from registry.client import contract_at

        s = opts.session()
        contract = contract_at(s.w3, "TestStablecoin", address)
        return Token(int(contract.functions.decimals().call()), str(contract.functions.symbol().call()))
    except Exception:
        return Token(None, "base units")


def _date(ts: int) -> str:
    from datetime import UTC, datetime

    if not ts:
        return "-"
    try:
        return datetime.fromtimestamp(ts, UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return str(ts)


def _emit(
    opts: Opts,
    as_csv: bool,
    title: str,
    columns: Sequence[Column],
    items: list[dict[str, Any]],
    total: int,
    offset: int,
    token: Token,
    meta: dict[str, Any],
    footer: Sequence[str] = (),
) -> None:
    if opts.as_json and as_csv:
        fail("give --json or --csv, not both")
    if opts.as_json:
        print_json(
            meta
            | {
                "decimals": token.decimals,
                "symbol": token.symbol,
                "total": total,
                "offset": offset,
                "count": len(items),
                "items": items,
            }
        )
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        keys = list(items[0]) if items else [c.key for c in columns]
        headers: list[str] = []
        for key in keys:
            headers += [key, f"{key}Tokens"] if key in _AMOUNT_KEYS else [key]
        writer.writerow(headers)
        for item in items:
            row: list[Any] = []
            for key in keys:
                value = item.get(key)
                if key in _AMOUNT_KEYS:
                    row += [value, token.plain(int(value or 0))]
                elif isinstance(value, list):
                    row.append(" ".join(map(str, value)))
                else:
                    row.append("" if value is None else value)
            writer.writerow(row)
        return
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    for c in columns:
        if c.kind == "address":
            table.add_column(c.header, no_wrap=True, min_width=42)
        elif c.kind in ("amount", "int"):
            header = f"{c.header} ({token.symbol})" if c.kind == "amount" else c.header
            table.add_column(header, justify="right", no_wrap=True)
        elif c.kind == "date":
            table.add_column(c.header, no_wrap=True)
        elif c.kind == "hash":
            table.add_column(c.header, overflow="fold", min_width=22)
        else:
            table.add_column(c.header, overflow="fold")
    for item in items:
        cells = []
        for c in columns:
            value = item.get(c.key)
            if c.kind == "amount":
                cells.append(token.amount(int(value or 0)))
            elif c.kind == "date":
                cells.append(_date(int(value or 0)))
            elif isinstance(value, list):
                cells.append(", ".join(map(str, value)) or "whole pool")
            else:
                cells.append("-" if value in (None, "") else str(value))
        table.add_row(*cells)
    out.print(table)
    shown = f"{offset + 1}-{offset + len(items)}" if items else "none"
    more = f"; next page: --offset {offset + len(items)}" if offset + len(items) < total else ""
    out.print(f"rows {shown} of {total}, indexed to block {meta['indexedBlock']}{more}", highlight=False)
    for line in footer:
        out.print(line, highlight=False, soft_wrap=True)


def _page(session: SqlSession, query: Any, order: Sequence[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    import sqlalchemy as sa
    from sqlmodel import select

    total = int(session.exec(select(sa.func.count()).select_from(query.subquery())).one())
    rows = list(session.exec(query.order_by(*order).offset(offset).limit(limit)).all())
    return rows, total


def _provenance(row: Any) -> dict[str, Any]:
    return {"txHash": row.tx_hash, "blockNumber": row.block_number}


def _listing(
    title: str,
    build: Callable[[SqlSession, Any, int], tuple[Any, Sequence[Any], Callable[[Any], dict[str, Any]]]],
    columns: Sequence[Column],
) -> Callable[..., None]:
    """A list command over one mirror table of a pool."""

    def command(
        pool: PoolArg,
        database_url: DatabaseOption = None,
        limit: LimitOption = 50,
        offset: OffsetOption = 0,
        as_csv: CsvOption = False,
        opts: Opts = OPTS,
    ) -> None:
        with mirror(database_url) as session:
            row = _pool_row(session, pool)
            indexed = _checkpoint(session)
            query, order, item = build(session, row, indexed["time"])
            rows, total = _page(session, query, order, limit, offset)
            items = [item(r) for r in rows]
        token = _token(opts, row.payment_token)
        meta = {"pool": row.address, "indexedBlock": indexed["block"], "indexedTime": indexed["time"]}
        _emit(opts, as_csv, f"{title} of {row.name}", columns, items, total, offset, token, meta)

    return command


# -------------------------------------------------------------------------------------- lists
def _members(session: SqlSession, pool: Any, now: int) -> Any:
    from sqlmodel import col, select

    from indexer.schema import Member

    def item(m: Any) -> dict[str, Any]:
        tier = Tier(m.tier).name.lower() if m.tier in Tier._value2member_map_ else str(m.tier)
        status = "current" if m.valid_until > now else "ended"
        return {
            "member": m.member,
            "tier": tier,
            "validFrom": m.valid_from,
            "validUntil": m.valid_until,
            "status": status,
            "renewals": m.renewals,
            "totalPaid": m.total_paid,
            **_provenance(m),
        }

    query = select(Member).where(Member.pool == pool.address)
    return query, [col(Member.joined_block), col(Member.member)], item


def _assets(session: SqlSession, pool: Any, now: int) -> Any:
    from sqlmodel import col, select

    from indexer.schema import Contribution

    def item(c: Any) -> dict[str, Any]:
        return {
            "assetId": c.asset_id,
            "founder": c.founder,
            "weight": c.weight,
            "status": c.status,
            "suspendedByDispute": c.suspended_by_dispute or None,
            "contributedAt": c.contributed_at,
            "withdrawalEffectiveAt": c.withdrawal_effective_at,
            "withdrawnAt": c.withdrawn_at,
            **_provenance(c),
        }

    query = select(Contribution).where(Contribution.pool == pool.address)
    return query, [col(Contribution.asset_id)], item


def _offers(session: SqlSession, pool: Any, now: int) -> Any:
    from sqlmodel import col, select

    from indexer.schema import Offer

    def item(o: Any) -> dict[str, Any]:
        status = "expired" if o.status == "open" and o.accept_by and o.accept_by <= now else o.status
        return {
            "offerId": o.offer_id,
            "licensee": o.licensee,
            "assetIds": list(o.asset_ids),
            "start": o.start,
            "end": o.end,
            "price": o.price,
            "status": status,
            "licenceId": o.licence_id or None,
            "acceptBy": o.accept_by,
            **_provenance(o),
        }

    query = select(Offer).where(Offer.pool == pool.address)
    return query, [col(Offer.offer_id)], item


def _licences(session: SqlSession, pool: Any, now: int) -> Any:
    from sqlmodel import col, select

    from indexer.schema import Licence

    def item(lic: Any) -> dict[str, Any]:
        status = "ended" if lic.status == "active" and lic.end <= now else lic.status
        return {
            "licenceId": lic.licence_id,
            "licensee": lic.licensee,
            "assetIds": [] if lic.whole_pool else list(lic.asset_ids),
            "wholePool": lic.whole_pool,
            "start": lic.start,
            "end": lic.end,
            "price": lic.price,
            "status": status,
            "revokedAt": lic.revoked_at,
            **_provenance(lic),
        }

    query = select(Licence).where(Licence.pool == pool.address)
    return query, [col(Licence.licence_id)], item


def _disputes(session: SqlSession, pool: Any, now: int) -> Any:
    from sqlmodel import col, select

    from indexer.schema import Dispute

    def item(d: Any) -> dict[str, Any]:
        return {
            "disputeId": d.dispute_id,
            "assetId": d.asset_id,
            "challenger": d.challenger,
            "status": d.status,
            "evidenceHash": d.evidence_hash,
            "rulingHash": d.ruling_hash,
            **_provenance(d),
        }

    query = select(Dispute).where(Dispute.pool == pool.address)
    return query, [col(Dispute.dispute_id)], item


members = shared(NODE, JSON)(
    _listing(
        "Members",
        _members,
        [
            Column("member", "member", "address"),
            Column("tier", "tier"),
            Column("validUntil", "until", "date"),
            Column("totalPaid", "paid", "amount"),
        ],
    )
)
members.__doc__ = "List a pool's members from the SQL mirror: tier, term, status, paid (paginated)."
assets = shared(NODE, JSON)(
    _listing(
        "Assets",
        _assets,
        [
            Column("assetId", "asset", "int"),
            Column("founder", "founder", "address"),
            Column("weight", "weight", "int"),
            Column("status", "status"),
            Column("contributedAt", "since", "date"),
        ],
    )
)
assets.__doc__ = "List a pool's assets from the SQL mirror: founder, weight, active/withdrawing/withdrawn/suspended."
offers = shared(NODE, JSON)(
    _listing(
        "Offers",
        _offers,
        [
            Column("offerId", "offer", "int"),
            Column("licensee", "licensee", "address"),
            Column("price", "price", "amount"),
            Column("status", "status"),
        ],
    )
)
offers.__doc__ = "List a pool's licence offers from the SQL mirror: licensee, price, open/accepted/cancelled/expired."
licences = shared(NODE, JSON)(
    _listing(
        "Licences",
        _licences,
        [
            Column("licenceId", "licence", "int"),
            Column("licensee", "licensee", "address"),
            Column("price", "price", "amount"),
            Column("end", "until", "date"),
            Column("status", "status"),
        ],
    )
)
licences.__doc__ = "List a pool's unified licences from the SQL mirror: licensee, price, term, active/revoked/ended."
disputes = shared(NODE, JSON)(
    _listing(
        "Disputes",
        _disputes,
        [
            Column("disputeId", "dispute", "int"),
            Column("assetId", "asset", "int"),
            Column("challenger", "challenger", "address"),
            Column("status", "status"),
        ],
    )
)
disputes.__doc__ = "List a pool's disputes from the SQL mirror: asset, challenger, open/upheld/dismissed."


# --------------------------------------------------------------------------------- statement
def _weights_and_treasury(session: SqlSession, pool: Any) -> list[tuple[tuple[int, int], str, Any]]:
    """The pool's events that change a founder's weight or the treasury, in chain order."""
    from sqlmodel import col, select

    from indexer.schema import Contribution, Event

    founders = {
        c.asset_id: c.founder for c in session.exec(select(Contribution).where(Contribution.pool == pool.address)).all()
    }
    names = ["AssetContributed", "AssetWithdrawn", "AssetSuspended", "TreasurySet", "PoolInitialized"]
    events = session.exec(
        select(Event)
        .where(Event.address == pool.address, col(Event.event_name).in_(names))
        .order_by(col(Event.block_number), col(Event.log_index))
    ).all()
    timeline: list[tuple[tuple[int, int], str, Any]] = []
    for ev in events:
        a = ev.args
        key = (ev.block_number, ev.log_index)
        if ev.event_name == "PoolInitialized":
            timeline.append((key, "treasury", a["operator"]))
        elif ev.event_name == "TreasurySet":
            timeline.append((key, "treasury", a["treasury"]))
        else:
            founder = a.get("founder") or founders.get(int(a["assetId"]), "")
            sign = 1 if ev.event_name == "AssetContributed" else -1
            timeline.append((key, "weight", (founder, sign * int(a["weight"]))))
    return timeline


@shared(NODE, JSON)
def statement(
    pool: PoolArg,
    account: Annotated[str, typer.Option("--account", help="The founder or treasury account.", show_default=False)],
    database_url: DatabaseOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_csv: CsvOption = False,
    opts: Opts = OPTS,
) -> None:
    """Every payment credited to an account (founder share or treasury share) and every claim it
    made, each with its transaction, from the SQL mirror; the balance is what it can claim."""
    from sqlmodel import col, select

    from indexer.schema import Claim, Payment

    who = parse_address(account, "--account")
    with mirror(database_url) as session:
        row = _pool_row(session, pool)
        indexed = _checkpoint(session)
        timeline = _weights_and_treasury(session, row)
        payments = session.exec(
            select(Payment)
            .where(Payment.pool == row.address)
            .order_by(col(Payment.block_number), col(Payment.log_index))
        ).all()
        claims = session.exec(
            select(Claim)
            .where(Claim.pool == row.address, Claim.account == who)
            .order_by(col(Claim.block_number), col(Claim.log_index))
        ).all()
        entries: list[tuple[tuple[int, int], dict[str, Any]]] = []
        weight, treasury, acc, position = 0, "", 0, 0
        scaled_total, treasury_total = 0, 0
        for p in payments:
            key = (p.block_number, p.log_index)
            while position < len(timeline) and timeline[position][0] < key:
                _, kind, value = timeline[position]
                if kind == "treasury":
                    treasury = value
                elif value[0] == who:
                    weight += value[1]
                position += 1
            scaled = weight * (p.acc_revenue_per_weight - acc)
            acc = p.acc_revenue_per_weight
            to_treasury = p.operator_amount + p.unallocated_amount if treasury == who else 0
            if not scaled and not to_treasury:
                continue
            scaled_total += scaled
            treasury_total += to_treasury
            entries.append(
                (
                    key,
                    {
                        "kind": "payment",
                        "time": p.paid_at,
                        "counterparty": p.payer,
                        "amount": p.amount,
                        "credited": scaled // _PRECISION + to_treasury,
                        "founderShareScaled": str(scaled),
                        "treasuryShare": to_treasury,
                        "claimed": 0,
                        **_provenance(p),
                    },
                )
            )
        for c in claims:
            entries.append(
                (
                    (c.block_number, c.log_index),
                    {
                        "kind": "claim",
                        "time": c.claimed_at,
                        "counterparty": who,
                        "amount": c.amount,
                        "credited": 0,
                        "founderShareScaled": "0",
                        "treasuryShare": 0,
                        "claimed": c.amount,
                        **_provenance(c),
                    },
                )
            )
    entries.sort(key=lambda e: e[0])
    credited = scaled_total // _PRECISION + treasury_total
    claimed = sum(int(c.amount) for c in claims)
    page = [e for _, e in entries[offset : offset + limit]]
    token = _token(opts, row.payment_token)
    totals = {"credited": credited, "claimed": claimed, "balance": credited - claimed}
    meta = {
        "pool": row.address,
        "account": who,
        "indexedBlock": indexed["block"],
        "indexedTime": indexed["time"],
        "totals": totals,
    }
    footer = [
        f"credited {token.amount(credited)}, claimed {token.amount(claimed)}, "
        f"claimable {token.amount(credited - claimed)} {token.symbol} (as of block {indexed['block']})"
    ]
    columns = [
        Column("time", "date", "date"),
        Column("kind", "kind"),
        Column("amount", "amount", "amount"),
        Column("credited", "credited", "amount"),
        Column("txHash", "transaction", "hash"),
    ]
    _emit(opts, as_csv, f"Revenue of {who}", columns, page, len(entries), offset, token, meta, footer)
