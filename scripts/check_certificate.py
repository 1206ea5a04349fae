#!/usr/bin/env python3
"""Check a patentpool licence certificate without trusting patentpool: only a block hash.

A certificate (docs/certificates.md) claims that a pool contract's `isLicensed(licensee, asset, at)`
answered true or false in one block. This script checks the claim against a block hash that you
trust (read from nodes you choose with --rpc, or given with --block-hash):

1. the certificate's block header hashes to the trusted block hash;
2. every account proof verifies against the header's state root, every storage proof against its
   account's storage root, and every contract code against its code hash;
3. the call is re-executed in py-evm over exactly the proven state: reading an account or storage
   slot that the certificate does not prove fails the check; the result must be the claimed answer;
4. the verdict: VALID with what it proves, or INVALID with the first reason.

Exit 0 valid, 1 invalid, 2 unusable input (no such file, not a certificate, no trusted hash, the
nodes disagree or cannot be reached). --json prints the verdict as JSON.

It imports none of patentpool's code. Its packages (install them in a fresh virtualenv):

    pip install "py-evm>=0.12.1b1" "trie>=3" "rlp>=4" "eth-hash[pycryptodome]>=0.7" "requests>=2.28"

The reason and explanation in a certificate are what the maker read from the pool's views; this
script proves the answer (licensed or not) and prints the reason as the maker's words.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import rlp  # type: ignore[import-untyped]
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun.state import CancunState
from eth.vm.forks.paris.state import ParisState
from eth.vm.forks.prague.state import PragueState
from eth.vm.forks.shanghai.state import ShanghaiState
from eth.vm.interrupt import EVMMissingData
from eth.vm.message import Message
from eth_hash.auto import keccak
from trie import HexaryTrie  # type: ignore[import-untyped]
from trie.exceptions import BadTrieProof  # type: ignore[import-untyped]

__all__ = ["REQUIREMENTS", "Unusable", "Verdict", "check", "main"]

#: The packages this script needs, as pip takes them.
REQUIREMENTS = ("py-evm>=0.12.1b1", "trie>=3", "rlp>=4", "eth-hash[pycryptodome]>=0.7", "requests>=2.28")

FORMAT = "patentpool-licence-certificate"
VERSIONS = (1,)
SELECTOR = keccak(b"isLicensed(address,uint256,uint64)")[:4]
EMPTY_CODE_HASH = keccak(b"")
EMPTY_ROOT = keccak(rlp.encode(b""))
# Header field positions (RLP order).
_STATE_ROOT, _COINBASE, _DIFFICULTY, _NUMBER, _GAS_LIMIT, _TIMESTAMP, _MIX_HASH = 3, 2, 7, 8, 9, 11, 13
_BASE_FEE, _EXCESS_BLOB_GAS = 15, 18
#: The state class for a header, by its number of fields: the fork decides the EVM's rules.
_STATES: dict[int, type[Any]] = {16: ParisState, 17: ShanghaiState, 20: CancunState, 21: PragueState}
_FORKS = {16: "Paris", 17: "Shanghai", 20: "Cancun", 21: "Prague"}


class Unusable(Exception):
    """The input cannot be checked at all (exit 2)."""


class Invalid(Exception):
    """The certificate does not prove its claim; `part` names what failed."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(reason)
        self.part = part
        self.reason = reason


class NotProven(EVMMissingData):
    """The re-executed call read an account or slot that the certificate does not prove."""


@dataclass
class Verdict:
    """The outcome of a check: VALID with the sentence saying what is proven, or INVALID with the reason."""

    valid: bool
    sentence: str
    part: str | None = None
    claim: dict[str, Any] = field(default_factory=dict)
    block_number: int | None = None
    block_hash: str | None = None
    trusted_by: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "VALID" if self.valid else "INVALID",
            "valid": self.valid,
            "sentence": self.sentence,
            "failed": self.part,
            "trustedBy": self.trusted_by,
            "chainId": self.claim.get("chainId"),
            "pool": self.claim.get("pool"),
            "licensee": self.claim.get("licensee"),
            "assetId": self.claim.get("assetId"),
            "at": self.claim.get("at"),
            "licensed": self.claim.get("licensed"),
            "makersReason": self.claim.get("reason"),
            "makersExplanation": self.claim.get("explanation"),
            "blockNumber": self.block_number,
            "blockHash": self.block_hash,
        }


# ------------------------------------------------------------------ reading the document


def _hex(value: Any, part: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise Invalid(part, f"{part} is not a 0x-hex string")
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise Invalid(part, f"{part} is not valid hex") from None
    if size is not None and len(data) != size:
        raise Invalid(part, f"{part} is {len(data)} bytes, not {size}")
    return data


def _int(value: Any, part: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(part, f"{part} is not a non-negative integer")
    return value


def _address(value: Any, part: str) -> bytes:
    return _hex(value, part, 20)


def _iso(ts: int) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return f"unix time {ts}"


def _checksum(address: bytes) -> str:
    plain = address.hex()
    digest = keccak(plain.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(plain))


def load(path: str) -> dict[str, Any]:
    """Read a certificate file; Unusable if it is not one."""
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except OSError as exc:
        raise Unusable(f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unusable(f"{path} is not JSON: {exc}") from None
    return _document(data)


def _document(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Unusable(f'not a licence certificate (no "format": "{FORMAT}")')
    if data.get("version") not in VERSIONS:
        raise Unusable(f"certificate version {data.get('version')!r} is not one this checker knows ({VERSIONS})")
    return data


# ------------------------------------------------------------------ the trusted block hash


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    import requests  # only --rpc needs it

    try:
        answer = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=30)
        answer.raise_for_status()
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise Unusable(f"the node at {url} did not answer {method}: {exc}") from None
    if not isinstance(body, dict) or "error" in body or "result" not in body:
        raise Unusable(f"the node at {url} refused {method}: {body.get('error') if isinstance(body, dict) else body}")
    return body["result"]


def trusted_hash_from_nodes(urls: Sequence[str], chain_id: int, number: int) -> bytes:
    """The hash of block `number` as every node says it; Invalid if a node is on another chain,
    Unusable if they disagree or do not know the block."""
    hashes: dict[str, str] = {}
    for url in urls:
        node_chain = int(_rpc(url, "eth_chainId", []), 16)
        if node_chain != chain_id:
            raise Invalid(
                "chain id", f"the certificate names chain {chain_id}, but the node at {url} is chain {node_chain}"
            )
        block = _rpc(url, "eth_getBlockByNumber", [hex(number), False])
        if not block:
            raise Unusable(f"the node at {url} does not know block {number}")
        hashes[url] = str(block["hash"]).lower()
    if len(set(hashes.values())) > 1:
        raise Unusable(
            "the nodes disagree on block " + str(number) + ": " + ", ".join(f"{u} {h}" for u, h in hashes.items())
        )
    return bytes.fromhex(next(iter(hashes.values()))[2:])


# ------------------------------------------------------------------ proofs


def trie_nodes(value: Any) -> list[Any]:
    """The certificate's trie nodes, decoded (as the trie package takes a proof)."""
    if not isinstance(value, list) or not value:
        raise Invalid("trie nodes", "the certificate has no trie nodes")
    decoded = []
    for n, node in enumerate(value):
        data = _hex(node, f"trie node {n}")
        try:
            decoded.append(rlp.decode(data))
        except rlp.exceptions.DecodingError:
            raise Invalid("trie nodes", f"trie node {n} is not RLP") from None
    return decoded


def _from_proof(root: bytes, key: bytes, nodes: list[Any], part: str) -> bytes:
    try:
        return bytes(HexaryTrie.get_from_proof(root, key, nodes))
    except BadTrieProof:
        raise Invalid(part, f"{part} does not verify against its root: a node is missing or altered") from None
    except Exception as exc:  # nodes that do not describe a path (a branch where a leaf should be, say)
        raise Invalid(part, f"{part} does not verify against its root: {type(exc).__name__}: {exc}") from None


@dataclass
class _Proven:
    """The state the certificate proves: trie nodes and code by hash, and what may be read."""

    nodes: dict[bytes, bytes] = field(default_factory=dict)
    accounts: set[bytes] = field(default_factory=set)
    slots: set[tuple[bytes, int]] = field(default_factory=set)


def verify_proofs(accounts: Any, nodes: Any, state_root: bytes) -> _Proven:
    """Step 2: every account proof against the state root, every storage proof against its account's
    storage root (the proofs: paths through the certificate's trie nodes), every code against its
    code hash; returns the proven state."""
    if not isinstance(accounts, list) or not accounts:
        raise Invalid("accounts", "the certificate proves no account")
    decoded = trie_nodes(nodes)
    proven = _Proven()
    proven.nodes.update((keccak(rlp.encode(node)), rlp.encode(node)) for node in decoded)
    for n, entry in enumerate(accounts):
        if not isinstance(entry, dict):
            raise Invalid("accounts", f"account entry {n} is not an object")
        address = _address(entry.get("address"), f"account {n} address")
        name = _checksum(address)
        encoded = _from_proof(state_root, keccak(address), decoded, f"account proof of {name}")
        if encoded:
            nonce, balance, storage_root, code_hash = rlp.decode(encoded)
            fields = (int.from_bytes(nonce, "big"), int.from_bytes(balance, "big"), storage_root, code_hash)
        else:
            fields = (0, 0, EMPTY_ROOT, EMPTY_CODE_HASH)
        claimed = (
            _int(entry.get("nonce"), f"nonce of {name}"),
            _int(entry.get("balance"), f"balance of {name}"),
            _hex(entry.get("storageHash"), f"storage hash of {name}", 32),
            _hex(entry.get("codeHash"), f"code hash of {name}", 32),
        )
        for label, got, want in zip(("nonce", "balance", "storage hash", "code hash"), claimed, fields, strict=True):
            if got != want:
                raise Invalid(f"account {name}", f"the {label} of {name} is not the one its account proof proves")
        storage_root, code_hash = fields[2], fields[3]
        proven.accounts.add(address)
        storage = entry.get("storage", [])
        if not isinstance(storage, list):
            raise Invalid(f"storage of {name}", f"the storage of {name} is not a list")
        for m, slot in enumerate(storage):
            if not isinstance(slot, dict):
                raise Invalid(f"storage of {name}", f"storage entry {m} of {name} is not an object")
            key = _hex(slot.get("key"), f"storage key {m} of {name}", 32)
            slot_part = f"storage proof of {name} slot 0x{key.hex()}"
            value_rlp = _from_proof(storage_root, keccak(key), decoded, slot_part)
            value = int.from_bytes(rlp.decode(value_rlp), "big") if value_rlp else 0
            claimed_value = slot.get("value")
            if not isinstance(claimed_value, str) or int(_hex_int(claimed_value, slot_part)) != value:
                raise Invalid(slot_part, f"the value of {name} slot 0x{key.hex()} is not the one its proof proves")
            proven.slots.add((address, int.from_bytes(key, "big")))
        if "code" in entry:
            code = _hex(entry["code"], f"code of {name}")
            if keccak(code) != code_hash:
                raise Invalid(f"code of {name}", f"the code of {name} does not hash to its proven code hash")
            proven.nodes[code_hash] = code
    return proven


def _hex_int(value: str, part: str) -> int:
    try:
        return int(value, 16)
    except ValueError:
        raise Invalid(part, f"{part}: the value is not hex") from None


# ------------------------------------------------------------------ re-execution


class _ProvenAccountDB(AccountDB):
    """py-evm's account database over the proof nodes alone, refusing any account or slot that the
    certificate does not list (even one whose absence the listed nodes happen to show)."""

    proven: _Proven = _Proven()

    def _get_encoded_account(self, address: Any, from_journal: bool = True) -> bytes:
        if address not in self.proven.accounts:
            raise NotProven(f"the call read account {_checksum(address)}, which the certificate does not prove")
        return bytes(super()._get_encoded_account(address, from_journal))

    def get_storage(self, address: Any, slot: int, from_journal: bool = True) -> int:
        if (address, slot) not in self.proven.slots:
            raise NotProven(
                f"the call read slot {slot:#066x} of {_checksum(address)}, which the certificate does not prove"
            )
        return int(super().get_storage(address, slot, from_journal))


def _state_class(fields: int, proven: _Proven) -> type[Any]:
    """The fork's state class over a database that knows the proven state (a class per check: py-evm
    builds the database from the class)."""

    class ProvenAccountDB(_ProvenAccountDB):
        pass

    ProvenAccountDB.proven = proven

    base: type[Any] = _STATES[fields]

    class State(base):  # type: ignore[misc]
        account_db_class = ProvenAccountDB

        def set_system_contracts(self) -> None:
            """The call runs in no block: the fork's system contracts are neither read nor written."""

    return State


class _NoAncestors:
    """BLOCKHASH is not proven by a certificate: a call that asks fails the check."""

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        raise NotProven("the call asked for an earlier block's hash (BLOCKHASH), which the certificate does not prove")


def execute(header: list[bytes], proven: _Proven, chain_id: int, to: bytes, calldata: bytes, gas: int) -> bytes:
    """Step 3: run the call in py-evm over exactly the proven state; returns its output."""
    fields = len(header)

    def num(i: int) -> int:
        return int.from_bytes(header[i], "big")

    # py-evm's NewTypes (Address, Hash32, BlockNumber) are bytes and int at run time.
    context = ExecutionContext(
        coinbase=cast(Any, header[_COINBASE]),
        timestamp=num(_TIMESTAMP),
        block_number=cast(Any, num(_NUMBER)),
        difficulty=num(_DIFFICULTY),
        mix_hash=cast(Any, header[_MIX_HASH]),
        gas_limit=num(_GAS_LIMIT),
        prev_hashes=_NoAncestors(),
        chain_id=chain_id,
        base_fee_per_gas=num(_BASE_FEE),
        excess_blob_gas=num(_EXCESS_BLOB_GAS) if fields >= 20 else None,
    )
    db = AtomicDB()
    for key, value in proven.nodes.items():
        db[key] = value
    state_class = _state_class(fields, proven)
    try:
        state = state_class(db, context, header[_STATE_ROOT])
        caller: Any = b"\0" * 20
        message = Message(gas=gas, to=cast(Any, to), sender=caller, value=0, data=calldata, code=state.get_code(to))
        transaction_context = state.get_transaction_context_class()(
            gas_price=0, origin=caller, blob_versioned_hashes=[]
        )
        computation = state.computation_class.apply_message(state, message, transaction_context)
    except NotProven as exc:
        raise Invalid("proven state", str(exc)) from None
    except EVMMissingData as exc:
        raise Invalid("proven state", f"the call read state the certificate's proofs do not hold: {exc!r}") from None
    if computation.is_error:
        error = computation.error
        if isinstance(error, NotProven):
            raise Invalid("proven state", str(error))
        if isinstance(error, EVMMissingData):
            raise Invalid("proven state", f"the call read state the certificate's proofs do not hold: {error!r}")
        raise Invalid("call", f"the re-executed call failed: {type(error).__name__}: {error}")
    return bytes(computation.output)


# ------------------------------------------------------------------ the check


def check(
    document: dict[str, Any],
    block_hash: bytes | None = None,
    rpc_urls: Sequence[str] = (),
    chain_id: int | None = None,
) -> Verdict:
    """Check a certificate against a trusted block hash (given, or read from `rpc_urls`).

    Returns the verdict; raises Unusable when there is nothing to check against."""
    document = _document(document)
    claim = document.get("claim")
    if not isinstance(claim, dict):
        return Verdict(False, "INVALID: the certificate has no claim", "claim")
    verdict = Verdict(False, "", claim=claim)
    try:
        _check(document, claim, block_hash, rpc_urls, chain_id, verdict)
    except Invalid as exc:
        verdict.valid = False
        verdict.part = exc.part
        verdict.sentence = f"INVALID ({exc.part}): {exc.reason}"
    return verdict


def _check(
    document: dict[str, Any],
    claim: dict[str, Any],
    block_hash: bytes | None,
    rpc_urls: Sequence[str],
    chain_id: int | None,
    verdict: Verdict,
) -> None:
    claimed_chain = _int(claim.get("chainId"), "chain id")
    pool = _address(claim.get("pool"), "pool")
    licensee = _address(claim.get("licensee"), "licensee")
    asset_id = _int(claim.get("assetId"), "asset id")
    at = _int(claim.get("at"), "time asked about")
    licensed = claim.get("licensed")
    if not isinstance(licensed, bool):
        raise Invalid("answer", "the claimed answer is not true or false")
    block = document.get("block")
    if not isinstance(block, dict):
        raise Invalid("block", "the certificate has no block")
    number = _int(block.get("number"), "block number")
    verdict.block_number = number
    if chain_id is not None and chain_id != claimed_chain:
        raise Invalid("chain id", f"the certificate names chain {claimed_chain}, not chain {chain_id}")
    if rpc_urls:
        trusted = trusted_hash_from_nodes(rpc_urls, claimed_chain, number)
        if block_hash is not None and block_hash != trusted:
            raise Unusable(f"the given block hash 0x{block_hash.hex()} is not the nodes' hash of block {number}")
        verdict.trusted_by = f"the hash of block {number} from {len(rpc_urls)} node(s)"
    elif block_hash is not None:
        trusted = block_hash
        verdict.trusted_by = "the block hash given"
    else:
        raise Unusable("nothing to trust: give --block-hash or --rpc")
    verdict.block_hash = "0x" + trusted.hex()

    # 1. the header
    header_bytes = _hex(block.get("header"), "header")
    if keccak(header_bytes) != trusted:
        raise Invalid(
            "header", f"the header hashes to 0x{keccak(header_bytes).hex()}, not the trusted 0x{trusted.hex()}"
        )
    if _hex(block.get("hash"), "block hash", 32) != trusted:
        raise Invalid("block hash", f"the certificate's block hash is not the trusted 0x{trusted.hex()}")
    try:
        header = rlp.decode(header_bytes)
    except rlp.exceptions.DecodingError as exc:
        raise Invalid("header", f"the header is not RLP: {exc}") from None
    if not isinstance(header, list) or len(header) not in _STATES:
        raise Invalid("header", f"a header of {len(header)} fields is of no fork this checker runs ({_FORKS})")
    if int.from_bytes(header[_NUMBER], "big") != number:
        raise Invalid("block number", f"the header is block {int.from_bytes(header[_NUMBER], 'big')}, not {number}")

    # 2. the proofs
    proven = verify_proofs(document.get("accounts"), document.get("trieNodes"), header[_STATE_ROOT])

    # 3. the call
    call = document.get("call")
    if not isinstance(call, dict):
        raise Invalid("call", "the certificate has no call")
    calldata = SELECTOR + licensee.rjust(32, b"\0") + asset_id.to_bytes(32, "big") + at.to_bytes(32, "big")
    if _hex(call.get("data"), "calldata") != calldata:
        raise Invalid("calldata", "the calldata does not ask isLicensed about the claimed licensee, asset and time")
    if _address(call.get("to"), "call target") != pool:
        raise Invalid("call target", "the call is not made to the claimed pool")
    gas = _int(call.get("gas"), "call gas")
    output = execute(header, proven, claimed_chain, pool, calldata, gas)
    if _hex(call.get("returnData"), "return data") != output:
        raise Invalid(
            "return data", f"the re-executed call returned 0x{output.hex()}, not the certificate's return data"
        )
    if len(output) != 32 or int.from_bytes(output, "big") > 1:
        raise Invalid("return data", f"isLicensed returned 0x{output.hex()}, which is no bool")
    answer = output[-1] == 1
    if answer != licensed:
        raise Invalid("answer", f"the claim says licensed={licensed}, but isLicensed answers {answer}")

    # 4. the verdict
    verdict.valid = True
    verdict.part = None
    state = "was licensed" if licensed else "was NOT licensed"
    verdict.sentence = (
        f"VALID: block {number} (0x{trusted.hex()}) of chain {claimed_chain} proves that {_checksum(licensee)} "
        f"{state} for asset {asset_id} of pool {_checksum(pool)} at {_iso(at)}, as the pool's isLicensed answered "
        f"(trusted: {verdict.trusted_by})."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: exit 0 valid, 1 invalid, 2 unusable input."""
    parser = argparse.ArgumentParser(description="Check a patentpool licence certificate against a trusted block hash.")
    parser.add_argument("file", help="the certificate (JSON)")
    parser.add_argument(
        "--rpc",
        action="append",
        default=[],
        metavar="URL",
        help="a node to read the block hash from (repeatable; all must agree)",
    )
    parser.add_argument("--block-hash", help="the trusted hash of the certificate's block (0x...)")
    parser.add_argument(
        "--chain-id", type=int, help="the chain the block must be of (checked against the nodes with --rpc)"
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)
    try:
        block_hash = None
        if args.block_hash is not None:
            try:
                block_hash = bytes.fromhex(args.block_hash.removeprefix("0x"))
            except ValueError:
                block_hash = b""
            if len(block_hash) != 32:
                raise Unusable(f"--block-hash {args.block_hash} is not a 32-byte hex hash")
        document = load(args.file)
        verdict = check(document, block_hash, args.rpc, args.chain_id)
    except Unusable as exc:
        if args.json:
            print(json.dumps({"verdict": "UNUSABLE", "valid": False, "sentence": f"error: {exc}"}))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(verdict.to_json(), indent=1))
    else:
        print(verdict.sentence)
        if verdict.valid and verdict.claim.get("explanation"):
            print(f"The maker's reason (not proven by this check): {verdict.claim['explanation']}")
    return 0 if verdict.valid else 1


if __name__ == "__main__":
    sys.exit(main())
