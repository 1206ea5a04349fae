"""`/v1/licences/certificate`: a licence certificate to download, checkable offline without trusting this API.

The certificate is made live from the node (registry/certificate.py), not from the mirror: it
proves the chain's own `isLicensed` answer at one block with the block's header and the storage
proofs of everything the call reads (docs/certificates.md). Whoever receives it runs
scripts/check_certificate.py against a block hash from a source of their own choosing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from api.deps import StateDep
from api.models import ApiModel
from api.problems import PROBLEM_RESPONSES, Problem, ProblemDetail
from api.queries import parse_address
from api.routes.licences import parse_at
from registry.certificate import CertificateError, make_certificate
from registry.licensing import NotAPool, UnknownAsset, UnknownBlock

router = APIRouter(prefix="/v1", tags=["licences"], responses=PROBLEM_RESPONSES)

_HEX = r"^0x[0-9a-f]*$"


class CertificateClaim(ApiModel):
    """What the certificate claims; the checker proves `licensed`, the rest of the reason is the maker's reading."""

    chain_id: int
    pool: str
    licensee: str
    asset_id: int
    at: int = Field(description="The moment asked about, unix seconds.")
    licensed: bool
    reason: str = Field(description="The reason code, as /v1/licences/verify gives it (not proven by the check).")
    explanation: str
    member_until: int
    licence_id: int | None
    revoked_at: int | None
    dispute_id: int | None


class CertificateBlock(ApiModel):
    """The block the answer is proven at: its number, hash and full RLP header."""

    number: int
    hash: str
    header: str = Field(pattern=_HEX, description="The RLP of the header; keccak-256 of it is the block hash.")


class CertificateCall(ApiModel):
    """The `isLicensed` call, as eth_call made it."""

    from_: str = Field(alias="from")
    to: str
    gas: int
    data: str = Field(pattern=_HEX)
    return_data: str = Field(pattern=_HEX)


class ProvenSlot(ApiModel):
    """A storage slot the call reads and its value (proven by a path through `trieNodes`)."""

    key: str
    value: str


class ProvenAccount(ApiModel):
    """An account the call reads (proven by a path through `trieNodes`), its slots and (a contract) its code."""

    address: str
    nonce: int
    balance: int
    code_hash: str
    storage_hash: str
    storage: list[ProvenSlot]
    code: str | None = None


class Certificate(ApiModel):
    """A licence certificate (format version 1, docs/certificates.md)."""

    format: Literal["patentpool-licence-certificate"]
    version: int
    claim: CertificateClaim
    block: CertificateBlock
    call: CertificateCall
    accounts: list[ProvenAccount]
    trie_nodes: list[str] = Field(
        description="The trie nodes of every eth_getProof account and storage proof, each once (RLP, 0x-hex)."
    )
    made_at: int


_DOC_502 = {
    "model": ProblemDetail,
    "description": "The node did not answer, or its answers did not make a certificate.",
    "content": {"application/problem+json": {}},
}

DESCRIPTION = """A certificate proving the pool contract's `isLicensed(licensee, asset, at)` answer at the
latest block (or `block`): the block header, the call and the `eth_getProof` proofs of every account
and slot it reads. Save it and check it anywhere, trusting only a block hash you get yourself:

    pip install "py-evm>=0.12.1b1" "trie>=3" "rlp>=4" "eth-hash[pycryptodome]>=0.7" "requests>=2.28"
    python check_certificate.py certificate.json --rpc https://a-node-you-trust

(`scripts/check_certificate.py` in the repository; `patentpool licence check` runs the same.) The answer
is proven; the reason (`claim.reason`, `claim.explanation`) is this server's reading of the pool's views."""


@router.get(
    "/licences/certificate",
    response_model=Certificate,
    summary="A certificate of the chain's licence answer, checkable offline without trusting this API",
    description=DESCRIPTION,
    responses={502: _DOC_502},
)
def licence_certificate(
    state: StateDep,
    pool: Annotated[str, Query(min_length=1, max_length=64, description="The pool's address.")],
    licensee: Annotated[str, Query(min_length=1, max_length=64, description="The address asked about.")],
    asset: Annotated[int, Query(ge=1, le=2**63 - 1, description="The asset id (a patent family).", examples=[3])],
    at: Annotated[
        str | None,
        Query(max_length=64, description="The moment: unix seconds or ISO 8601 (default: the time of the block)."),
    ] = None,
    block: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Prove the chain as it was at this block (default: latest).")
    ] = None,
) -> Any:
    """The certificate as a JSON file to download."""
    when = parse_at(at)
    pool_address = parse_address(pool, "pool")
    who = parse_address(licensee, "licensee")
    try:
        made = make_certificate(state.chain.w3, pool_address, who, asset, when, block)
    except NotAPool as exc:
        raise Problem(404, str(exc), kind="unknown-pool") from None
    except UnknownAsset as exc:
        raise Problem(404, str(exc), kind="unknown-asset") from None
    except UnknownBlock as exc:
        raise Problem(404, str(exc), kind="unknown-block") from None
    except CertificateError as exc:
        raise Problem(502, str(exc), kind="chain") from None
    except Exception as exc:  # the node: refused connection, timeout, an answer that is no JSON-RPC
        raise Problem(502, f"the node did not answer ({type(exc).__name__})", kind="chain") from None
    document = made.document
    Certificate.model_validate(document)  # the documented shape, or a 500 here rather than a bad file
    name = f"licence-certificate-{document['claim']['licensee']}-{asset}-block-{document['block']['number']}.json"
    return JSONResponse(
        document,
        headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'},
        media_type="application/json",
    )
