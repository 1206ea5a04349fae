"""How the command sends its transactions: fee caps, nonces, confirmations and a timeout for real
networks, and a planning mode (`--dry-run`, `--safe-json`) in which nothing is signed or sent.

In planning mode every write the command makes is simulated in order on top of the ones before it
(eth_simulateV1, one simulated block), so a command that uses what its first call emitted (a new
asset id, say) goes on exactly as it would for real; the calls are recorded with their decoded
arguments and the gas the simulation used, and printed, or written as a Safe Transaction Builder
batch, when the command ends.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.datastructures import AttributeDict
from web3.exceptions import TimeExhausted, TransactionNotFound
from web3.types import RPCEndpoint, TxParams

from patentpool.shared import SendOptions
from registry.chain import Chain, TxResult, raise_decoded
from registry.errors import RegistryError, TransactionFailed
from registry.reverts import decode_revert

__all__ = [
    "CommandChain",
    "PlannedCall",
    "SendOptions",
    "SendTimeout",
    "SignerUnfunded",
    "batch_checksum",
    "fee_estimate",
    "plan_json",
    "print_plan",
    "safe_batch",
]

#: Contracts whose ABIs name the calls in a plan.


class SignerUnfunded(RegistryError):
    """The signer cannot pay for the gas of a transaction: nothing of it was sent."""

    def __init__(self, address: str, balance: int, chain_id: int, what: str) -> None:
        super().__init__(
            f"{address} has insufficient funds to pay for gas of {what}: it holds "
            f"{Web3.from_wei(balance, 'ether')} ETH ({balance} wei) on chain {chain_id}; fund it and retry"
        )
        self.address = address
        self.balance = balance


class SendTimeout(RegistryError):
    """A transaction was sent but not mined (or not confirmed) in time."""


@dataclass
class PlannedCall:
    """One call a planning run would send, decoded."""

    to: ChecksumAddress | None
    data: str
    contract: str
    function: str
    inputs: list[dict[str, Any]]
    args: dict[str, Any]
    gas: int
    created: ChecksumAddress | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "contract": self.contract,
            "function": self.function,
            "args": self.args,
            "data": self.data,
            "gas": self.gas,
            **({"creates": self.created} if self.created else {}),
        }


def _plain(value: Any) -> Any:
    """An ABI value as JSON: bytes as 0x hex, integers as they are, lists and tuples element-wise."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _contract_name(w3: Web3, contract_abi: Any) -> str:
    from registry.artifacts import CONTRACTS, load_artifact

    for name in CONTRACTS:
        try:
            if load_artifact(name)["abi"] == contract_abi:
                return name
        except Exception:
            continue
    return "contract"


@dataclass
class _Fees:
    max_fee: int | None = None
    priority: int | None = None


class CommandChain(Chain):
    """A signing Chain with the command's sending controls, or (planning) a Chain that signs nothing."""

    def __init__(
        self,
        w3: Web3,
        signer: LocalAccount | None,
        send: SendOptions | None = None,
        sender: ChecksumAddress | None = None,
        fees: tuple[int | None, int | None] = (None, None),
    ) -> None:
        self.w3 = w3
        self.signer = signer  # type: ignore[assignment]
        self.chain_id = int(w3.eth.chain_id)
        self.send = send or SendOptions()
        self._sender = sender
        self._fees = _Fees(*fees)
        self._next_nonce = self.send.nonce
        self.plan: list[PlannedCall] = []
        self._plan_calls: list[dict[str, Any]] = []
        self._plan_nonce: int | None = None
        self.sent: list[str] = []

    @property
    def address(self) -> ChecksumAddress:
        if self._sender is not None:
            return self._sender
        return self.signer.address

    def as_signer(self, signer: LocalAccount) -> Chain:
        return CommandChain(self.w3, signer, self.send)

    # ----------------------------------------------------------------------------------- sending
    def transact(self, fn: ContractFunction, events: Contract | None = None) -> TxResult[None]:
        if self.send.planning:
            return self._plan_call(fn)
        try:
            return super().transact(fn, events)
        except Exception as exc:
            self._refuse_if_unfunded(exc, fn.fn_name)
            raise

    def deploy(self, contract: type[Contract], *args: Any) -> TxResult[ChecksumAddress]:
        if self.send.planning:
            return self._plan_deploy(contract, *args)
        try:
            return super().deploy(contract, *args)
        except Exception as exc:
            self._refuse_if_unfunded(exc, "the deployment")
            raise

    def _refuse_if_unfunded(self, exc: Exception, what: str) -> None:
        # Nodes word it differently ("Insufficient funds for gas * price + value", "insufficient
        # funds for transfer"); the JSON-RPC error is otherwise all the caller would see.
        if "insufficient funds" in str(exc).lower():
            raise SignerUnfunded(
                self.address, int(self.w3.eth.get_balance(self.address)), self.chain_id, what
            ) from None

    def _send(self, params: TxParams, fn_name: str) -> TxResult[None]:
        tx: dict[str, Any] = dict(params)
        self._apply_fees(tx)
        latest = int(self.w3.eth.get_transaction_count(self.address, "latest"))
        if self._next_nonce is None:
            nonce = int(self.w3.eth.get_transaction_count(self.address, "pending"))
        else:
            nonce = self._next_nonce
            if nonce < latest:
                raise TransactionFailed(
                    f"nonce {nonce} of {self.address} is already used by a mined transaction (the next is "
                    f"{latest}): the transaction it was meant to replace went through; check it before retrying"
                )
        tx["nonce"] = nonce
        signed = self.signer.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            text = str(exc).lower()
            if "underpriced" in text or "replacement" in text or "already known" in text:
                raise TransactionFailed(
                    f"{fn_name} could not replace the pending transaction with nonce {nonce}: offer a higher "
                    "--max-fee-per-gas and --max-priority-fee-per-gas (at least a tenth more)"
                ) from None
            self._refuse_if_unfunded(exc, fn_name)
            raise_decoded(exc)
            raise TransactionFailed(f"{fn_name} could not be sent: {str(exc).splitlines()[0][:300]}") from None
        self._next_nonce = nonce + 1
        shown = "0x" + bytes(tx_hash).hex()
        self.sent.append(shown)
        receipt = self._wait(tx_hash, fn_name, nonce)
        if receipt["status"] != 1:
            self._explain_failure(tx, receipt)  # type: ignore[arg-type]
            raise TransactionFailed(f"{fn_name} failed in block {receipt['blockNumber']} (tx {shown})")
        return TxResult(
            None,
            shown,
            int(receipt["blockNumber"]),
            "0x" + bytes(receipt["blockHash"]).hex(),
            int(receipt["gasUsed"]),
            receipt,
        )

    def _apply_fees(self, tx: dict[str, Any]) -> None:
        max_fee, priority = self._fees.max_fee, self._fees.priority
        if max_fee is None and priority is None:
            return
        tx.pop("gasPrice", None)
        if priority is None:
            priority = min(int(tx.get("maxPriorityFeePerGas") or self.w3.eth.max_priority_fee), max_fee or 0)
        if max_fee is None:
            base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
            max_fee = 2 * base + priority
        tx["maxFeePerGas"], tx["maxPriorityFeePerGas"] = max_fee, priority

    def _wait(self, tx_hash: Any, fn_name: str, nonce: int) -> Any:
        shown = "0x" + bytes(tx_hash).hex()
        deadline = time.monotonic() + self.send.timeout
        hint = (
            f"it may still be mined; look it up, or replace it by rerunning with --nonce {nonce} and a higher "
            "--max-fee-per-gas"
        )
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.send.timeout, poll_latency=0.2)
        except TimeExhausted:
            raise SendTimeout(
                f"{fn_name} (tx {shown}, nonce {nonce}) was sent but not mined within {self.send.timeout:g} s: {hint}"
            ) from None
        while self.send.confirmations > 1:
            depth = int(self.w3.eth.block_number) - int(receipt["blockNumber"]) + 1
            if depth >= self.send.confirmations:
                try:  # a reorganisation may have moved or dropped it meanwhile
                    again = self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    again = None
                if again is not None and again["blockHash"] == receipt["blockHash"]:
                    break
                if again is not None:
                    receipt = again
                    continue
            if time.monotonic() > deadline:
                raise SendTimeout(
                    f"{fn_name} (tx {shown}, nonce {nonce}) was mined in block {receipt['blockNumber']} but has "
                    f"{max(depth, 0)} of {self.send.confirmations} confirmations after {self.send.timeout:g} s"
                )
            time.sleep(0.2)
        return receipt

    # ---------------------------------------------------------------------------------- planning
    def _plan_call(self, fn: ContractFunction) -> TxResult[None]:
        data = str(fn._encode_transaction_data())
        inputs = [dict(i) for i in fn.abi.get("inputs", [])]
        args = {
            str(i.get("name") or f"arg{n}"): _plain(a) for n, (i, a) in enumerate(zip(inputs, fn.args, strict=False))
        }
        planned = PlannedCall(
            to=Web3.to_checksum_address(fn.address),
            data=data,
            contract=_contract_name(self.w3, fn.contract_abi),
            function=fn.fn_name,
            inputs=inputs,
            args=args,
            gas=0,
        )
        receipt = self._simulate(planned, {"to": planned.to})
        return TxResult(None, "(dry run)", int(receipt["blockNumber"]), "(dry run)", planned.gas, receipt)

    def _plan_deploy(self, contract: type[Contract], *args: Any) -> TxResult[ChecksumAddress]:
        if self.send.safe_json is not None:
            raise TransactionFailed("a Safe batch cannot deploy contracts: deploy from an account with a key")
        data = str(contract.constructor(*args).data_in_transaction)
        nonce = self._nonce_for_plan() + len(self._plan_calls)
        created = Web3.to_checksum_address(Web3.keccak(_rlp_sender_nonce(self.address, nonce))[12:])
        abi: list[dict[str, Any]] = list(contract.abi)  # type: ignore[arg-type]
        constructor: dict[str, Any] = next((e for e in abi if e.get("type") == "constructor"), {"inputs": []})
        inputs = [dict(i) for i in constructor.get("inputs", [])]
        planned = PlannedCall(
            to=None,
            data=data,
            contract=_contract_name(self.w3, contract.abi),
            function="constructor",
            inputs=inputs,
            args={
                str(i.get("name") or f"arg{n}"): _plain(a) for n, (i, a) in enumerate(zip(inputs, args, strict=False))
            },
            gas=0,
            created=created,
        )
        receipt = self._simulate(planned, {})
        return TxResult(created, "(dry run)", int(receipt["blockNumber"]), "(dry run)", planned.gas, receipt)

    def _nonce_for_plan(self) -> int:
        if self._plan_nonce is None:
            self._plan_nonce = (
                self.send.nonce
                if self.send.nonce is not None
                else int(self.w3.eth.get_transaction_count(self.address, "pending"))
            )
        return self._plan_nonce

    def _simulate(self, planned: PlannedCall, target: dict[str, Any]) -> Any:
        nonce = self._nonce_for_plan() + len(self._plan_calls)
        call = {"from": self.address, "data": planned.data, "nonce": hex(nonce), **target}
        calls = [*self._plan_calls, call]
        payload = {"blockStateCalls": [{"calls": calls}], "validation": False}
        response = self.w3.provider.make_request(RPCEndpoint("eth_simulateV1"), [payload, "latest"])
        if response.get("error") is not None:
            if len(calls) > 1:
                raise TransactionFailed(
                    f"the node cannot simulate a sequence of calls (eth_simulateV1: "
                    f"{response['error'].get('message', response['error'])}); --dry-run needs it for this command"
                )
            return self._simulate_alone(planned, call)
        block = response["result"][0]
        result = block["calls"][-1]
        if int(result["status"], 16) != 1:
            decoded = decode_revert(result.get("returnData"))
            if decoded is not None:
                raise decoded
            message = result.get("error", {}).get("message", "") or "without a reason"
            raise TransactionFailed(f"{planned.function} would revert: {message}")
        planned.gas = int(result["gasUsed"], 16)
        self._plan_calls.append(call)
        self.plan.append(planned)
        logs = [_log(entry) for entry in result.get("logs", [])]
        return AttributeDict(
            {
                "status": 1,
                "blockNumber": int(block["number"], 16),
                "blockHash": HexBytes(block["hash"]),
                "gasUsed": planned.gas,
                "logs": logs,
                "contractAddress": planned.created,
            }
        )

    def _simulate_alone(self, planned: PlannedCall, call: dict[str, Any]) -> Any:
        """A node without eth_simulateV1: eth_estimateGas alone (no events; a first call only)."""
        params = {k: v for k, v in call.items() if k != "nonce"}
        try:
            gas = int(self.w3.eth.estimate_gas(params))  # type: ignore[arg-type]
        except Exception as exc:
            raise_decoded(exc)
            raise TransactionFailed(f"{planned.function} would revert: {str(exc).splitlines()[0][:300]}") from None
        planned.gas = gas
        self._plan_calls.append(call)
        self.plan.append(planned)
        return AttributeDict(
            {"status": 1, "blockNumber": int(self.w3.eth.block_number) + 1, "gasUsed": gas, "logs": []}
        )


def _rlp_sender_nonce(sender: str, nonce: int) -> bytes:
    import rlp  # type: ignore[import-untyped]

    return bytes(rlp.encode([bytes.fromhex(sender[2:]), nonce]))


def _log(entry: dict[str, Any]) -> AttributeDict[str, Any]:
    return AttributeDict(
        {
            "address": Web3.to_checksum_address(entry["address"]),
            "topics": [HexBytes(t) for t in entry["topics"]],
            "data": HexBytes(entry["data"]),
            "blockNumber": int(entry.get("blockNumber", "0x0"), 16),
            "blockHash": HexBytes(entry.get("blockHash", "0x" + "00" * 32)),
            "transactionHash": HexBytes(entry.get("transactionHash", "0x" + "00" * 32)),
            "transactionIndex": int(entry.get("transactionIndex", "0x0"), 16),
            "logIndex": int(entry.get("logIndex", "0x0"), 16),
        }
    )


# -------------------------------------------------------------------------------------- output
def fee_estimate(w3: Web3, gas: int) -> int:
    """What `gas` would cost at the latest base fee plus the node's suggested tip, in wei."""
    base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    return gas * (base + int(w3.eth.max_priority_fee))


def plan_json(chain: CommandChain) -> dict[str, Any]:
    gas = sum(c.gas for c in chain.plan)
    return {
        "dryRun": chain.send.dry_run,
        "sent": False,
        "chainId": chain.chain_id,
        "from": chain.address,
        "calls": [c.to_json() for c in chain.plan],
        "totalGas": gas,
        "feeEstimateWei": fee_estimate(chain.w3, gas),
    }


def _arg_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def print_plan(chain: CommandChain, console: Any) -> None:
    data = plan_json(chain)
    if not chain.plan:
        console.print("dry run: this would send nothing", highlight=False)
        return
    console.print(
        f"dry run, nothing was sent: {len(chain.plan)} call(s) from {chain.address} on chain {chain.chain_id}",
        highlight=False,
        soft_wrap=True,
    )
    for number, call in enumerate(chain.plan, start=1):
        target = f"{call.contract} {call.to}" if call.to else f"new {call.contract} at {call.created}"
        console.print(f"{number}. {target}", highlight=False, soft_wrap=True)
        args = ", ".join(f"{k}={_arg_text(v)}" for k, v in call.args.items())
        console.print(f"   {call.function}({args})", highlight=False, soft_wrap=True)
        console.print(f"   gas {call.gas:,} (simulated)", highlight=False)
    ether = Web3.from_wei(data["feeEstimateWei"], "ether")
    console.print(f"total gas {data['totalGas']:,}, about {ether} ETH at the current fees", highlight=False)


def _safe_value(value: Any, abi_type: str) -> str:
    if abi_type.endswith("]"):
        return json.dumps([_safe_value(v, abi_type[: abi_type.rindex("[")]) for v in value])
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _serialize(value: Any) -> str:
    """The Transaction Builder's serialisation for its checksum: keys sorted at every level, each
    object as the JSON list of its keys followed by its values, each value ending with a comma."""
    if isinstance(value, list):
        return "[" + ",".join(_serialize(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value)
        return (
            "{"
            + json.dumps(keys, separators=(",", ":"), ensure_ascii=False)
            + "".join(_serialize(value[k]) + "," for k in keys)
            + "}"
        )
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def batch_checksum(batch: dict[str, Any]) -> str:
    """The `meta.checksum` the Safe Transaction Builder computes and checks on import: keccak-256
    of the batch serialised with `meta.name` as null and without the checksum itself."""
    meta = {k: v for k, v in batch["meta"].items() if k != "checksum"} | {"name": None}
    return "0x" + Web3.keccak(text=_serialize(batch | {"meta": meta})).hex()


def safe_batch(chain: CommandChain, name: str) -> dict[str, Any]:
    """The plan as a Safe Transaction Builder batch file (version 1.0)."""
    transactions = []
    for call in chain.plan:
        transactions.append(
            {
                "to": call.to,
                "value": "0",
                "data": call.data,
                "contractMethod": {
                    "inputs": [
                        {"internalType": i.get("internalType", i["type"]), "name": i.get("name", ""), "type": i["type"]}
                        for i in call.inputs
                    ],
                    "name": call.function,
                    "payable": False,
                },
                "contractInputsValues": {
                    (i.get("name") or f"arg{n}"): _safe_value(v, i["type"])
                    for n, (i, v) in enumerate(zip(call.inputs, call.args.values(), strict=False))
                },
            }
        )
    batch = {
        "version": "1.0",
        "chainId": str(chain.chain_id),
        "createdAt": int(time.time() * 1000),
        "meta": {
            "name": name,
            "description": f"{len(transactions)} call(s) planned by the patentpool command",
            "txBuilderVersion": "1.16.5",
            "createdFromSafeAddress": chain.address,
            "createdFromOwnerAddress": "",
        },
        "transactions": transactions,
    }
    batch["meta"]["checksum"] = batch_checksum(batch)  # type: ignore[index]
    return batch
