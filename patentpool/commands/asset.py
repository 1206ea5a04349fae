"""`patentpool asset ...`: register patent families from dossiers, verify patents, evaluate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from patentpool._common import (
    MAX_URI,
    content_uri,
    done,
    fail,
    out,
    parse_address,
    parse_hash_or_text,
    parse_text,
    parse_time,
    print_json,
    table,
    tx_json,
)
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared
from registry.types import PatentStatus

app = typer.Typer(help="Patent families: register from a dossier, verify patents, evaluate.", no_args_is_help=True)

AssetArg = Annotated[int, typer.Argument(help="Asset (patent family token) id.", min=1)]
STATUSES = {s.name.lower(): s for s in PatentStatus}


def _iso(ts: int) -> str | None:
    return datetime.fromtimestamp(ts, UTC).date().isoformat() if ts else None


def _unix(day: date | None) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp()) if day else 0


@app.command("register")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def register(
    dossier: Annotated[Path, typer.Argument(help="Dossier JSON file (see docs/dossier.md).")],
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri",
            help="Where the dossier is published, e.g. https://... or ipfs://... "
            "(default: sha256:<hex of the file's bytes>, a content address).",
        ),
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Register a family from its dossier: mints the token to you and lists every patent in it."""
    from registry.dossier import dossier_hash, load_dossier

    doc = load_dossier(dossier)
    digest = dossier_hash(dossier)
    # Checked for length only: the on-chain family id must equal the dossier's, byte for byte.
    parse_text(doc.familyId, "the dossier's familyId")
    parse_text(doc.title, "the dossier's title")
    family_id, title = doc.familyId, doc.title
    published = content_uri(dossier) if uri is None else parse_text(uri, "--uri", limit=MAX_URI)
    if published.lower().startswith("file:"):
        fail(f"--uri {published!r} is a path on this machine, which nobody else can read; publish the dossier first")
    for patent in doc.patents:
        parse_text(patent.publicationNumber, f"publication number {patent.publicationNumber[:40]!r}")
    s = opts.session()
    registry = s.assets(write=True)
    existing = registry.asset_of_family(family_id)
    if existing:
        fail(f"family {family_id!r} is already registered as asset {existing}")
    result = registry.register_family(family_id, title, digest, published)
    asset_id = result.value
    patents: list[dict[str, Any]] = []
    with Progress(console=out, transient=True, disable=opts.as_json) as progress:
        task = progress.add_task(f"listing patents of asset {asset_id}", total=len(doc.patents))
        for patent in doc.patents:
            added = registry.add_patent(asset_id, patent.office, patent.publicationNumber)
            patents.append(
                {
                    "index": added.value,
                    "office": patent.office,
                    "publicationNumber": patent.publicationNumber,
                    "tx": tx_json(added),
                }
            )
            progress.advance(task)
    if opts.as_json:
        print_json(
            {
                "assetId": asset_id,
                "familyId": doc.familyId,
                "dossierHash": digest,
                "dossierURI": published,
                "tx": tx_json(result),
                "patents": patents,
            }
        )
    else:
        done(
            f"registered {doc.familyId!r} as asset {asset_id} with {len(patents)} patent(s) pending verification",
            result,
        )


@app.command("add-patent")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def add_patent(
    asset: AssetArg,
    office: Annotated[str, typer.Option("--office", help="Two-letter office code, e.g. US.")],
    number: Annotated[str, typer.Option("--number", help="Publication number, e.g. US10123456B2.")],
    opts: Opts = OPTS,
) -> None:
    """List one more patent in a family you own; it starts pending."""
    code = office.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        fail(f"--office {office!r} is not a two-letter office code")
    number = parse_text(number, "--number")
    s = opts.session()
    result = s.assets(write=True).add_patent(asset, code, number)
    if opts.as_json:
        print_json(
            {
                "assetId": asset,
                "index": result.value,
                "office": code,
                "publicationNumber": number,
                "tx": tx_json(result),
            }
        )
    else:
        done(f"listed {code} {number} as patent {result.value} of asset {asset}", result)


@app.command("verify-patent")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def verify_patent(
    asset: AssetArg,
    index: Annotated[int, typer.Argument(help="The patent's index in the family.", min=0)],
    status: Annotated[str, typer.Option("--status", help="pending, granted, lapsed or revoked.")],
    grant_date: Annotated[str | None, typer.Option("--grant-date", help="YYYY-MM-DD or unix seconds.")] = None,
    expiry_date: Annotated[str | None, typer.Option("--expiry-date", help="YYYY-MM-DD or unix seconds.")] = None,
    opts: Opts = OPTS,
) -> None:
    """Attest a patent's status and dates (VERIFIER_ROLE)."""
    key = status.strip().lower()
    if key not in STATUSES:
        fail(f"--status {status!r} is not one of {', '.join(STATUSES)}")
    grant = parse_time(grant_date, "--grant-date") if grant_date else 0
    expiry = parse_time(expiry_date, "--expiry-date") if expiry_date else 0
    if STATUSES[key] != PatentStatus.PENDING and not grant:
        fail(f"a {key} patent needs --grant-date")
    s = opts.session()
    result = s.assets(write=True).verify_patent(asset, index, STATUSES[key], grant, expiry)
    if opts.as_json:
        print_json(
            {
                "assetId": asset,
                "index": index,
                "status": key,
                "grantDate": grant,
                "expiryDate": expiry,
                "tx": tx_json(result),
            }
        )
    else:
        done(f"patent {index} of asset {asset} is now {key}", result)


@app.command("reject-family")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def reject_family(
    asset: AssetArg,
    reason: Annotated[str, typer.Option("--reason", help="The reason: a file, a 0x hash, or text (hashed).")],
    claimant: Annotated[
        str | None, typer.Option("--claimant", help="Who alone may register the freed family id (default: anyone).")
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Reject a squatter's claim to a family id (VERIFIER_ROLE): the id is freed for --claimant."""
    who = parse_address(claimant, "--claimant") if claimant else None
    s = opts.session()
    family_id = s.assets().family(asset)["familyId"]
    if s.assets().family_rejected(asset):
        fail(f"asset {asset} was rejected already")
    result = s.assets(write=True).reject_family(asset, parse_hash_or_text(reason), who)
    if opts.as_json:
        print_json({"assetId": asset, "familyId": family_id, "claimant": who, "tx": tx_json(result)})
    else:
        done(f"family id {family_id} freed from asset {asset}, for {who or 'anyone'}", result)


@app.command("expire-patent")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def expire_patent(
    asset: AssetArg,
    index: Annotated[int, typer.Argument(help="The patent's index in the family.", min=0)],
    opts: Opts = OPTS,
) -> None:
    """Mark a granted patent past its attested expiry date as lapsed (anyone may); then `asset
    reweigh` in each pool the family is in."""
    s = opts.session()
    patent = s.assets().patent_at(asset, index)
    now = int(s.w3.eth.get_block("latest")["timestamp"])
    if patent["status"] != PatentStatus.GRANTED or not patent["expiryDate"] or patent["expiryDate"] > now:
        fail(f"patent {index} of asset {asset} is not a granted patent past its expiry date")
    result = s.assets(write=True).expire_patent(asset, index)
    if opts.as_json:
        print_json({"assetId": asset, "index": index, "status": "lapsed", "tx": tx_json(result)})
    else:
        done(f"patent {index} of asset {asset} expired: now lapsed", result)


@app.command("reweigh")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def reweigh(
    asset: AssetArg,
    pool: Annotated[str, typer.Option("--pool", help="Address of the pool the asset is in.")],
    opts: Opts = OPTS,
) -> None:
    """Make a pool re-read the asset's verified grants in force, its weight from now on (anyone may)."""
    s = opts.session()
    before = s.pool(pool).pool_asset(asset)
    if not before["contributedAt"] or before["withdrawnAt"] or before["suspended"]:
        fail(f"asset {asset} is not in pool {pool}")
    result = s.pool(pool, write=True).reweigh(asset)
    data = {"pool": s.pool(pool).address, "assetId": asset, "oldWeight": before["weight"], "weight": result.value}
    if opts.as_json:
        print_json({**data, "tx": tx_json(result)})
    else:
        done(f"asset {asset} weighs {result.value} in the pool (was {before['weight']})", result)


@app.command("transfer")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def transfer(
    asset: AssetArg,
    to: Annotated[str, typer.Option("--to", help="The new owner's address.")],
    opts: Opts = OPTS,
) -> None:
    """Hand a family's token to a new owner (its owner only). In every pool the family is in, what
    it earned until now stays yours to claim, and from now on it earns for, and is controlled by,
    the new owner."""
    buyer = parse_address(to, "--to")
    s = opts.session()
    registry = s.assets()
    owner = registry.owner_of(asset)
    signer = s.chain(write=True).address
    if owner != signer:
        fail(f"asset {asset} is owned by {owner}, not by the signer {signer}")
    if buyer == owner:
        fail(f"asset {asset} is already owned by {buyer}")
    pools = registry.pools_of(asset)
    result = s.assets(write=True).transfer(asset, buyer)
    if opts.as_json:
        print_json({"assetId": asset, "from": owner, "to": buyer, "pools": pools, "tx": tx_json(result)})
    else:
        moved = f"; it now earns for them in {len(pools)} pool(s)" if pools else ""
        done(f"asset {asset} transferred to {buyer}{moved}", result)


@app.command("evaluate")
@shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
def evaluate(
    asset: AssetArg,
    dossier: Annotated[Path, typer.Option("--dossier", help="The family's dossier JSON file.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default: today, UTC).")
    ] = None,
    report_dir: Annotated[Path, typer.Option("--report-dir", help="Where the report JSON is saved.")] = Path("reports"),
    opts: Opts = OPTS,
) -> None:
    """Score a family with the documented stability scorecard and record it on-chain (EVALUATOR_ROLE)."""
    from registry.dossier import dossier_hash, load_dossier
    from registry.stability import MODEL_VERSION, report_hash, report_json
    from registry.stability import evaluate as score

    doc = load_dossier(dossier)
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    s = opts.session()
    on_chain = s.assets().family(asset)
    if on_chain["dossierHash"] != dossier_hash(dossier):
        fail(f"{dossier} is not the dossier recorded for asset {asset} (its hash differs from the chain's)")
    report = score(doc, day)
    report_dir.mkdir(parents=True, exist_ok=True)
    report_path = report_dir / f"asset-{asset}-{MODEL_VERSION}-{day.isoformat()}.json"
    report_path.write_bytes(report_json(report))
    digest = report_hash(report)
    result = s.assets(write=True).record_evaluation(asset, report.scoreBps, digest, MODEL_VERSION)
    if opts.as_json:
        print_json(
            {
                "assetId": asset,
                "scoreBps": report.scoreBps,
                "modelVersion": MODEL_VERSION,
                "reportHash": digest,
                "report": str(report_path),
                "tx": tx_json(result),
            }
        )
    else:
        done(f"asset {asset} scored {report.scoreBps} bps ({MODEL_VERSION}); report saved to {report_path}", result)


@app.command("show")
@shared(NODE, DEPLOYMENT, JSON)
def show(
    asset: AssetArg,
    opts: Opts = OPTS,
) -> None:
    """Show a family: owner, dossier, the pools it is in, every patent with its verified status, the
    evaluation."""
    s = opts.session()
    registry = s.assets()
    family = registry.family(asset)
    data = {
        "assetId": asset,
        "owner": registry.owner_of(asset),
        **family,
        "pools": registry.pools_of(asset),
        "patents": [
            {
                **p,
                "status": PatentStatus(p["status"]).name.lower(),
                "grantDate": _iso(p["grantDate"]),
                "expiryDate": _iso(p["expiryDate"]),
            }
            for p in (registry.patent_at(asset, i) for i in range(registry.patent_count(asset)))
        ],
        "evaluation": registry.evaluation(asset),
    }
    if opts.as_json:
        print_json(data)
        return
    ev = data["evaluation"]
    out.print(
        table(
            f"Asset {asset}: {family['familyId']}",
            [
                ("title", family["title"]),
                ("owner", data["owner"]),
                ("pools", ", ".join(data["pools"]) or "none"),
                ("dossier", family["dossierURI"]),
                ("dossier hash", family["dossierHash"]),
                ("stability", f"{ev['scoreBps']} bps ({ev['modelVersion']})" if ev["evaluatedAt"] else "not evaluated"),
            ],
        )
    )
    t = Table(title="Patents")
    for column in ("#", "office", "publication", "status", "granted", "expires"):
        t.add_column(column)
    for i, p in enumerate(data["patents"]):
        t.add_row(
            str(i),
            p["jurisdiction"],
            p["publicationNumber"],
            p["status"],
            p["grantDate"] or "-",
            p["expiryDate"] or "-",
        )
    out.print(t)


@app.command("verify-dossier")
@shared(NODE, DEPLOYMENT, JSON)
def verify_dossier(
    dossier: Annotated[Path, typer.Argument(help="Dossier JSON file.")],
    asset: Annotated[
        int | None, typer.Option("--asset", help="Asset id (default: looked up by the dossier's family id).", min=1)
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Recompute a dossier's hash and compare it with the chain's. Exit 0 match, 1 mismatch, 2 error."""
    from registry.dossier import dossier_hash, load_dossier

    doc = load_dossier(dossier)
    digest = dossier_hash(dossier)
    s = opts.session()
    registry = s.assets()
    asset_id = asset or registry.asset_of_family(doc.familyId)
    if not asset_id:
        fail(f"family {doc.familyId!r} is not registered on chain {s.chain_id}")
    on_chain = registry.family(asset_id)["dossierHash"]
    match = on_chain == digest
    if opts.as_json:
        print_json(
            {
                "assetId": asset_id,
                "familyId": doc.familyId,
                "dossierHash": digest,
                "onChainHash": on_chain,
                "match": match,
            }
        )
    elif match:
        out.print(f"[green]MATCH[/]: {dossier} is the dossier of asset {asset_id} (0x{digest.hex()})", highlight=False)
    else:
        out.print(
            f"[red]MISMATCH[/]: {dossier} hashes to 0x{digest.hex()}; asset {asset_id} records 0x{on_chain.hex()}",
            highlight=False,
        )
    raise typer.Exit(0 if match else 1)
