"""Licence certificates: the chain's answer to `isLicensed` at one block, with everything needed to
check it offline against that block's hash (docs/certificates.md).

A certificate holds the claim (pool, licensee, asset, moment, answer and the reason
`registry.licensing.check_licence` read from the pool's views), the block header as RLP, the
`isLicensed` calldata and return data, and the state the call reads: every account and storage
slot named by the node's `eth_createAccessList` (the standard method, so any node serves), each
with its `eth_getProof` proofs (their trie nodes written once in one list), and the code of every
contract among them (an EIP-1167 pool clone and the implementation it delegates to).

Every request names the block by hash (EIP-1898), so a reorganisation between two requests is an
error, not a certificate mixing two blocks. The header is rebuilt from `eth_getBlockByHash` and
must hash to the block's hash; each account proof is checked against the header's state root
before the certificate is handed out, so a node that answers inconsistently is caught here rather
than by the person checking.

The checker is `scripts/check_certificate.py`: stand-alone, it imports nothing from this project.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Final, cast

import rlp  # type: ignore[import-untyped]
from eth_abi.abi import encode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from web3 import Web3

from registry.errors import RegistryError
from registry.licensing import LicenceCheck, check_licence

__all__ = [
    "CALLER",
    "CERTIFICATE_FORMAT",
    "CERTIFICATE_VERSION",
    "CertificateError",
    "MadeCertificate",
    "header_rlp",
    "is_licensed_calldata",
    "make_certificate",
]

CERTIFICATE_FORMAT: Final = "patentpool-licence-certificate"
CERTIFICATE_VERSION: Final = 1
#: The `from` of the re-executed call: the zero address, as `eth_call` uses by default.
CALLER: Final = "0x" + "00" * 20
#: Gas given to the call, by the node and by the checker alike.
CALL_GAS: Final = 30_000_000
_SELECTOR: Final = keccak(b"isLicensed(address,uint256,uint64)")[:4]

# The header's fields in RLP order, each with its kind; the trailing ones exist from the fork
# named beside them on and are included when the node reports them.
_HEADER_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("parentHash", "bytes"),
    ("sha3Uncles", "bytes"),
    ("miner", "bytes"),
    ("stateRoot", "bytes"),
    ("transactionsRoot", "bytes"),
    ("receiptsRoot", "bytes"),
    ("logsBloom", "bytes"),
    ("difficulty", "int"),
    ("number", "int"),
    ("gasLimit", "int"),
    ("gasUsed", "int"),
    ("timestamp", "int"),
    ("extraData", "bytes"),
    ("mixHash", "bytes"),
    ("nonce", "bytes"),
    ("baseFeePerGas", "int"),  # London
    ("withdrawalsRoot", "bytes"),  # Shanghai
    ("blobGasUsed", "int"),  # Cancun
    ("excessBlobGas", "int"),  # Cancun
    ("parentBeaconBlockRoot", "bytes"),  # Cancun
    ("requestsHash", "bytes"),  # Prague
)
_FIRST_OPTIONAL: Final = 15


class CertificateError(RegistryError):
    """The node's answers do not make a certificate (an inconsistent header or proof, a failed call)."""


@dataclass(frozen=True)
class MadeCertificate:
    """A certificate document and the licence check it proves."""

    document: dict[str, Any]
    check: LicenceCheck

    def to_bytes(self) -> bytes:
        """The document as written to a file: indented JSON with a final newline."""
        return (json.dumps(self.document, indent=1) + "\n").encode()


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def header_rlp(block: dict[str, Any]) -> bytes:
    """The RLP of a block header, from the JSON-RPC block object (hex strings, as the node sends them)."""
    fields: list[bytes | int] = []
    for index, (name, kind) in enumerate(_HEADER_FIELDS):
        value = block.get(name)
        if value is None:
            if index < _FIRST_OPTIONAL:
                raise CertificateError(f"the node's block has no {name}")
            break
        fields.append(int(value, 16) if kind == "int" else _bytes(value))
    return cast(bytes, rlp.encode(fields))


def is_licensed_calldata(licensee: str, asset_id: int, at: int) -> bytes:
    """The calldata of `isLicensed(address,uint256,uint64)`."""
    return _SELECTOR + encode(["address", "uint256", "uint64"], [licensee, asset_id, at])


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in answer:
        error = answer["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise CertificateError(f"the node refused {method}: {message}")
    return answer["result"]


def _slot(key: str) -> str:
    return "0x" + _bytes(key).rjust(32, b"\0").hex()


def make_certificate(
    w3: Web3,
    pool: str,
    licensee: str,
    asset_id: int,
    at: int | None = None,
    block: int | None = None,
) -> MadeCertificate:
    """Ask the pool whether `licensee` is licensed for `asset_id` at `at` (default: the block's
    time) as of `block` (default: the latest), and return the certificate that proves the answer.

    Raises `registry.licensing`'s `NotAPool`, `UnknownAsset` and `UnknownBlock` as the licence
    check does, and `CertificateError` when the node's answers do not fit together."""
    check = check_licence(w3, pool, licensee, asset_id, at, block)
    ref = {"blockHash": check.block_hash}
    raw = _rpc(w3, "eth_getBlockByHash", [check.block_hash, False])
    if raw is None:
        raise CertificateError(f"block {check.block_hash} is no longer known to the node")
    header = header_rlp(raw)
    if "0x" + keccak(header).hex() != check.block_hash.lower():
        raise CertificateError(
            f"the header rebuilt from block {check.block_number} does not hash to its hash {check.block_hash} "
            "(a header field this code does not know?)"
        )
    state_root = _bytes(raw["stateRoot"])
    calldata = is_licensed_calldata(check.licensee, asset_id, check.at)
    call = {"from": CALLER, "to": check.pool, "data": "0x" + calldata.hex(), "gas": hex(CALL_GAS)}
    return_data = _rpc(w3, "eth_call", [call, ref])
    if int(_bytes(return_data).rjust(32, b"\0")[-32:].hex() or "0", 16) != int(check.licensed):
        raise CertificateError(f"isLicensed answered {return_data}, the licence check {check.licensed}")
    access = _rpc(w3, "eth_createAccessList", [call, ref])
    reads: dict[str, set[str]] = {check.pool: set()}
    for entry in access.get("accessList", []):
        reads.setdefault(to_checksum_address(entry["address"]), set()).update(
            _slot(k) for k in entry.get("storageKeys", [])
        )
    accounts = []
    # The proofs' trie nodes, each once (in the order first met): the proofs of one block share
    # their upper nodes, and a set of nodes proves every path it holds.
    nodes: dict[str, None] = {}
    for address in sorted(reads):
        slots = sorted(reads[address])
        proof = _rpc(w3, "eth_getProof", [address, slots, ref])
        _verify_account_proof(address, proof, state_root)
        code_hash = _bytes(proof["codeHash"])
        account: dict[str, Any] = {
            "address": address,
            "nonce": int(proof["nonce"], 16),
            "balance": int(proof["balance"], 16),
            "codeHash": proof["codeHash"],
            "storageHash": proof["storageHash"],
            "storage": [{"key": _slot(s["key"]), "value": hex(int(s["value"], 16))} for s in proof["storageProof"]],
        }
        for node in [*proof["accountProof"], *(n for s in proof["storageProof"] for n in s["proof"])]:
            nodes.setdefault(node.lower(), None)
        if code_hash != keccak(b""):
            code = _rpc(w3, "eth_getCode", [address, ref])
            if keccak(_bytes(code)) != code_hash:
                raise CertificateError(f"the code the node gave for {address} does not hash to its code hash")
            account["code"] = code
        accounts.append(account)
    document: dict[str, Any] = {
        "format": CERTIFICATE_FORMAT,
        "version": CERTIFICATE_VERSION,
        "claim": {
            "chainId": check.chain_id,
            "pool": check.pool,
            "licensee": check.licensee,
            "assetId": asset_id,
            "at": check.at,
            "licensed": check.licensed,
            "reason": check.code,
            "explanation": check.explanation,
            "memberUntil": check.member_until,
            "licenceId": check.licence_id,
            "revokedAt": check.revoked_at,
            "disputeId": check.dispute_id,
        },
        "block": {"number": check.block_number, "hash": check.block_hash, "header": "0x" + header.hex()},
        "call": {
            "from": CALLER,
            "to": check.pool,
            "gas": CALL_GAS,
            "data": "0x" + calldata.hex(),
            "returnData": return_data,
        },
        "accounts": accounts,
        "trieNodes": list(nodes),
        "madeAt": int(time.time()),
    }
    return MadeCertificate(document, check)


def _verify_account_proof(address: str, proof: dict[str, Any], state_root: bytes) -> None:
    """The first node of the account proof is the state root's: a node answering for another block
    (or state) is refused before the certificate leaves."""
    nodes = [_bytes(n) for n in proof.get("accountProof", [])]
    if not nodes or keccak(nodes[0]) != state_root:
        raise CertificateError(f"the node's proof for {address} does not start at block's state root")
