"""`/v1/assets`: patent families, their patents by office, evaluations, pools and disputes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.cache import uncacheable
from api.deps import IndexedDep, SessionDep, SettingsDep
from api.dossiers import FACTOR_RULES, DossierFolder, describe, dossier_folder, recompute
from api.models import ApiModel, Item, Page, Provenance, Time, provenance, time_of
from api.pagination import PageParamsDep, page
from api.problems import PROBLEM_RESPONSES, Problem
from api.queries import STATUSES, name_of, parse_address, pool_or_404
from api.responses import CSV_RESPONSE, FormatQuery, respond
from api.routes.disputes import PoolDisputeOut, dispute_out
from indexer.schema import Asset, Contribution, Dispute, Evaluation, Patent, Pool
from registry.dossier import Dossier
from registry.stability import MODEL_VERSION

__all__ = [
    "SUBLIST_LIMIT",
    "AssetDetail",
    "AssetSummary",
    "DossiersDep",
    "PatentOut",
    "ScorecardOut",
    "asset_summary",
    "bounded",
    "get_dossiers",
    "patent_out",
    "router",
]

router = APIRouter(prefix="/v1/assets", tags=["assets"], responses=PROBLEM_RESPONSES)

#: The most rows one sub-list of a single object carries (the rest: `truncated`, and the paged lists).
SUBLIST_LIMIT = 500

R = TypeVar("R")

AssetIdPath = Annotated[
    int, Path(alias="assetId", ge=0, le=2**63 - 1, description="The family's PatentAsset token id.", examples=[1])
]


class AssetSummary(ApiModel):
    """A patent family (a PatentAsset token): owner, dossier and its latest evaluation."""

    asset_id: int
    family_id: str = Field(examples=["EP3456789"])
    title: str
    owner: str
    dossier_hash: str = Field(description="keccak-256 of the canonical JSON dossier.")
    dossier_uri: str
    patent_count: int
    score_bps: int = Field(description="The latest stability score, in basis points (0: never evaluated).")
    model_version: str | None
    evaluated_at: Time | None
    registered_block: int
    rejected: bool = Field(
        description="A verifier rejected this token's claim to its family id (FamilyRejected): the id is free "
        "again and the token lists and has verified no more patents."
    )
    family_id_claimant: str | None = Field(
        description="Once rejected: who alone may register the freed family id (null: anyone)."
    )
    provenance: Provenance = Field(description="The family's last change (registration, dossier, evaluation).")


class PatentOut(ApiModel):
    """One patent of a family, in one office, as the verifier attested it."""

    asset_id: int
    family_id: str
    index: int = Field(description="Its position in the family (PatentAsset.patentAt).")
    jurisdiction: str = Field(examples=["US"])
    publication_number: str = Field(examples=["US10123456B2"])
    status: str = Field(examples=["pending", "granted", "lapsed", "revoked"])
    grant_date: Time | None
    expiry_date: Time | None
    verifier: str | None = Field(description="Who attested the status (null while pending).")
    provenance: Provenance


class OfficeOut(ApiModel):
    """How a family stands in one patent office."""

    jurisdiction: str
    patents: int
    granted: int


class EvaluationOut(ApiModel):
    """One stability evaluation recorded for a family."""

    score_bps: int
    evaluator: str
    model_version: str
    report_hash: str = Field(description="keccak-256 of the evaluation report.")
    evaluated_at: Time | None
    provenance: Provenance


class AssetPoolOut(ApiModel):
    """A pool a family was contributed to, and its standing there."""

    pool: str
    pool_name: str
    founder: str
    weight: int
    initial_weight: int
    status: str = Field(examples=["active", "withdrawing", "withdrawn", "suspended"])
    suspended_by_dispute: int | None
    contributed_at: Time | None
    withdrawal_effective_at: Time | None
    withdrawn_at: Time | None
    provenance: Provenance


class ScorecardFactorOut(ApiModel):
    """One line of the stability scorecard (docs/stability-model.md) for this dossier."""

    name: str = Field(examples=["grantedOffices"])
    raw: int = Field(description="The factor's input read from the dossier (a count, or days of term).")
    contribution_bps: int = Field(description="What it adds to the score (negative: a penalty).")
    bound_bps: int = Field(description="Its cap (a credit) or floor (a penalty), in basis points.")
    rule: str = Field(description="How the points follow from the input.")


class ScorecardInputsOut(ApiModel):
    """The facts the scorecard read from the dossier on the evaluation date."""

    granted_offices: list[str]
    patents: int
    latest_granted_expiry: str | None = Field(examples=["2040-02-03"])
    remaining_term_days: int
    forward_citations: int
    maintained: int
    amended: int
    pending_challenges: int
    revoked_patents: int


class ScorecardOut(ApiModel):
    """The family's dossier (found by its hash) scored again, and whether that is what the chain recorded."""

    dossier_hash: str = Field(description="keccak-256 of the dossier file served; equal to the chain's dossierHash.")
    dossier_url: str = Field(description="The dossier document itself.", examples=["/v1/assets/1/dossier"])
    model_version: str = Field(description="The model the report was recomputed with.", examples=[MODEL_VERSION])
    as_of: str | None = Field(description="The evaluation date of the recomputed report.", examples=["2026-01-01"])
    as_of_rule: str | None = Field(
        description="Which date: evaluation-date (the UTC day of the latest evaluation, as `patentpool asset "
        "evaluate` scores), else demo-date (the demo's fixed date), whichever gives the recorded report hash.",
        examples=["evaluation-date", "demo-date"],
    )
    inputs: ScorecardInputsOut | None
    factors: list[ScorecardFactorOut] = Field(description="In the scorecard's order; empty when never evaluated.")
    score_bps: int | None = Field(description="The recomputed score: the factors' sum, clamped to 0..10000.")
    report_hash: str | None = Field(description="keccak-256 of the recomputed report's canonical JSON.")
    recorded_score_bps: int | None = Field(description="The chain's latest evaluation: its score.")
    recorded_report_hash: str | None = Field(description="The chain's latest evaluation: its report hash.")
    recorded_model_version: str | None
    verified: bool = Field(description="Whether the recomputed report hash and score equal the chain's.")
    mismatches: list[str] = Field(
        description="What differs from the chain's latest evaluation: modelVersion, scoreBps, reportHash "
        "(evaluation: none recorded yet).",
        examples=[[]],
    )
    verdict: str


def get_dossiers(request: Request, settings: SettingsDep) -> DossierFolder | None:
    """The configured dossier folder's index (None: PATENTPOOL_DOSSIER_DIR is not set).

    A dossier file is re-read and re-hashed on every request (a file changed on disk is no longer
    the registered document), so an answer that reads the folder is not kept by the response cache.
    """
    folder = dossier_folder(settings.dossier_dir, settings.dossier_max_files, settings.dossier_max_bytes)
    if folder is not None:
        uncacheable(request)
    return folder


DossiersDep = Annotated[DossierFolder | None, Depends(get_dossiers)]


def scorecard_out(asset: Asset, latest: Evaluation | None, dossier: Dossier, digest: str) -> ScorecardOut:
    """The scorecard of `dossier` (whose hash is the asset's) against the latest evaluation."""
    common: dict[str, Any] = {
        "dossier_hash": digest,
        "dossier_url": f"/v1/assets/{asset.asset_id}/dossier",
        "model_version": MODEL_VERSION,
    }
    if latest is None:
        return ScorecardOut(
            **common,
            as_of=None,
            as_of_rule=None,
            inputs=None,
            factors=[],
            score_bps=None,
            report_hash=None,
            recorded_score_bps=None,
            recorded_report_hash=None,
            recorded_model_version=None,
            verified=False,
            mismatches=["evaluation"],
            verdict="not evaluated on chain yet: there is no recorded report to check",
        )
    found = recompute(dossier, latest.evaluated_at, latest.score_bps, latest.report_hash, latest.model_version)
    report, inputs = found.report, found.report.inputs
    return ScorecardOut(
        **common,
        as_of=report.asOf.isoformat(),
        as_of_rule=found.as_of_rule,
        inputs=ScorecardInputsOut(
            granted_offices=list(inputs.grantedOffices),
            patents=inputs.patents,
            latest_granted_expiry=inputs.latestGrantedExpiry.isoformat() if inputs.latestGrantedExpiry else None,
            remaining_term_days=inputs.remainingTermDays,
            forward_citations=inputs.forwardCitations,
            maintained=inputs.maintained,
            amended=inputs.amended,
            pending_challenges=inputs.pendingChallenges,
            revoked_patents=inputs.revokedPatents,
        ),
        factors=[
            ScorecardFactorOut(
                name=f.name,
                raw=f.raw,
                contribution_bps=f.contributionBps,
                bound_bps=FACTOR_RULES[f.name][0],
                rule=FACTOR_RULES[f.name][1],
            )
            for f in report.factors
        ],
        score_bps=report.scoreBps,
        report_hash="0x" + found.report_hash.hex(),
        recorded_score_bps=latest.score_bps,
        recorded_report_hash=latest.report_hash,
        recorded_model_version=latest.model_version,
        verified=not found.mismatches,
        mismatches=list(found.mismatches),
        verdict=describe(found.mismatches, MODEL_VERSION, latest.model_version),
    )


class AssetDetail(AssetSummary):
    """A family with its patents by office, every evaluation, the pools it is in and disputes."""

    offices: list[OfficeOut] = Field(description="Per office: patents listed and granted.")
    patents: list[PatentOut] = Field(description="By office, then position in the family.")
    evaluations: list[EvaluationOut] = Field(description="Newest first.")
    pools: list[AssetPoolOut]
    disputes: list[PoolDisputeOut] = Field(description="Against it, in any pool.")
    truncated: bool = Field(description=f"Whether a list above was cut at {SUBLIST_LIMIT} rows.")
    scorecard: ScorecardOut | None = Field(
        description="The latest evaluation's factors, recomputed from the dossier file whose hash is the chain's "
        "(null: the server has no such file; PATENTPOOL_DOSSIER_DIR)."
    )


def bounded(session: Session, statement: SelectOfScalar[R], limit: int = SUBLIST_LIMIT) -> tuple[list[R], bool]:
    """At most `limit` rows of `statement`, and whether there were more."""
    rows = list(session.exec(statement.limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


def asset_summary(row: Asset, chain_id: int) -> dict[str, Any]:
    return {
        "asset_id": row.asset_id,
        "family_id": row.family_id,
        "title": row.title,
        "owner": row.owner,
        "dossier_hash": row.dossier_hash,
        "dossier_uri": row.dossier_uri,
        "patent_count": row.patent_count,
        "score_bps": row.score_bps,
        "model_version": row.model_version or None,
        "evaluated_at": time_of(row.evaluated_at),
        "registered_block": row.registered_block,
        "rejected": row.rejected,
        "family_id_claimant": row.family_id_claimant or None,
        "provenance": provenance(row, chain_id),
    }


def patent_out(row: Patent, family_id: str, chain_id: int) -> PatentOut:
    return PatentOut(
        asset_id=row.asset_id,
        family_id=family_id,
        index=row.patent_index,
        jurisdiction=row.jurisdiction,
        publication_number=row.publication_number,
        status=name_of(STATUSES, row.status),
        grant_date=time_of(row.grant_date),
        expiry_date=time_of(row.expiry_date),
        verifier=row.verifier or None,
        provenance=provenance(row, chain_id),
    )


def _offices(patents: Sequence[Patent]) -> list[OfficeOut]:
    offices: dict[str, OfficeOut] = {}
    for p in patents:
        office = offices.setdefault(p.jurisdiction, OfficeOut(jurisdiction=p.jurisdiction, patents=0, granted=0))
        office.patents += 1
        office.granted += int(name_of(STATUSES, p.status) == "granted")
    return list(offices.values())


@router.get("", response_model=Page[AssetSummary], responses=CSV_RESPONSE)
def list_assets(
    request: Request,
    session: SessionDep,
    indexed: IndexedDep,
    params: PageParamsDep,
    owner: Annotated[str | None, Query(max_length=64, description="Only families this address owns.")] = None,
    family: Annotated[
        str | None, Query(alias="familyId", min_length=1, max_length=200, description="Only this family id.")
    ] = None,
    pool: Annotated[
        str | None, Query(max_length=64, description="Only families ever contributed to this pool.")
    ] = None,
    fmt: FormatQuery = None,
) -> Page[AssetSummary] | StreamingResponse:
    """The registry's patent families, by asset id."""
    statement = select(Asset)
    if owner is not None:
        statement = statement.where(Asset.owner == parse_address(owner, "owner"))
    if family is not None:
        statement = statement.where(Asset.family_id == family)
    if pool is not None:
        pool_row = pool_or_404(session, pool)
        contributed = select(Contribution.asset_id).where(Contribution.pool == pool_row.address)
        statement = statement.where(col(Asset.asset_id).in_(contributed))
    rows, cursor = page(session, statement, [Asset.asset_id], params, "assets")
    data = [AssetSummary(**asset_summary(a, indexed.chain_id)) for a in rows]
    return respond(request, Page[AssetSummary](data=data, next_cursor=cursor, limit=params.limit, indexed=indexed), fmt)


def _asset_or_404(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise Problem(404, f"no asset {asset_id} in this registry", kind="unknown-asset")
    return asset


@router.get("/{assetId}", response_model=Item[AssetDetail])
def get_asset(
    asset_id: AssetIdPath, session: SessionDep, indexed: IndexedDep, dossiers: DossiersDep = None
) -> Item[AssetDetail]:
    """One family: patents by office, evaluations with the latest one's scorecard, pools and disputes."""
    asset = _asset_or_404(session, asset_id)
    chain_id = indexed.chain_id
    patents, cut_patents = bounded(
        session,
        select(Patent).where(Patent.asset_id == asset_id).order_by(col(Patent.jurisdiction), col(Patent.patent_index)),
    )
    evaluations, cut_evaluations = bounded(
        session,
        select(Evaluation)
        .where(Evaluation.asset_id == asset_id)
        .order_by(sa.desc(col(Evaluation.block_number)), sa.desc(col(Evaluation.log_index))),
    )
    contributions, cut_pools = bounded(
        session,
        select(Contribution).where(Contribution.asset_id == asset_id).order_by(col(Contribution.pool)),
    )
    disputes, cut_disputes = bounded(
        session,
        select(Dispute).where(Dispute.asset_id == asset_id).order_by(col(Dispute.pool), col(Dispute.dispute_id)),
    )
    names = {
        p.address: p.name
        for p in session.exec(select(Pool).where(col(Pool.address).in_([c.pool for c in contributions]))).all()
    }
    detail = AssetDetail(
        **asset_summary(asset, chain_id),
        offices=_offices(patents),
        patents=[patent_out(p, asset.family_id, chain_id) for p in patents],
        evaluations=[
            EvaluationOut(
                score_bps=e.score_bps,
                evaluator=e.evaluator,
                model_version=e.model_version,
                report_hash=e.report_hash,
                evaluated_at=time_of(e.evaluated_at),
                provenance=provenance(e, chain_id),
            )
            for e in evaluations
        ],
        pools=[
            AssetPoolOut(
                pool=c.pool,
                pool_name=names.get(c.pool, ""),
                founder=c.founder,
                weight=c.weight,
                initial_weight=c.initial_weight,
                status=c.status,
                suspended_by_dispute=c.suspended_by_dispute or None,
                contributed_at=time_of(c.contributed_at),
                withdrawal_effective_at=time_of(c.withdrawal_effective_at),
                withdrawn_at=time_of(c.withdrawn_at),
                provenance=provenance(c, chain_id),
            )
            for c in contributions
        ],
        disputes=[dispute_out(d, chain_id) for d in disputes],
        truncated=cut_patents or cut_evaluations or cut_pools or cut_disputes,
        scorecard=None,
    )
    found = dossiers.find(asset.dossier_hash) if dossiers is not None and asset.dossier_hash else None
    if found is not None:
        latest = evaluations[0] if evaluations else None
        detail.scorecard = scorecard_out(asset, latest, found.dossier, found.hash_hex)
    return Item[AssetDetail](data=detail, indexed=indexed)


@router.get(
    "/{assetId}/dossier",
    response_model=Dossier,
    responses={200: {"description": "The dossier file, byte for byte as the server holds it."}},
)
def get_dossier(
    request: Request, asset_id: AssetIdPath, session: SessionDep, indexed: IndexedDep, dossiers: DossiersDep
) -> Response:
    """The family's dossier document, served only when its dossier hash equals the chain's."""
    asset = _asset_or_404(session, asset_id)
    found = dossiers.find(asset.dossier_hash) if dossiers is not None and asset.dossier_hash else None
    if found is None:
        raise Problem(
            404,
            f"this server holds no dossier file whose hash is asset {asset_id}'s dossierHash {asset.dossier_hash}",
            kind="unknown-dossier",
        )
    # The bytes as written: `patentpool asset verify-dossier FILE` on a saved copy recomputes the hash.
    headers = {**getattr(request.state, "response_headers", {}), "X-Dossier-Hash": found.hash_hex}
    return Response(found.raw, media_type="application/json", headers=headers)
