"""Sending many transactions fast on anvil: local nonces, fixed gas, mining on demand.

While a BatchSender is open, anvil's automine is off: transactions are signed locally and sent back
to back (each send is a quick hand-over to the node's pool), and `flush()` mines blocks until the
pool is empty, reads every receipt in JSON-RPC batches and raises the decoded revert of the first
failure. Within a block transactions keep the sending order (falling tips), across senders too; a
caller still flushes between steps where one account's transaction needs another's to be mined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import requests
from eth_abi.abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from registry._abi import type_string
from registry.chain import raise_decoded
from registry.errors import TransactionFailed

__all__ = ["BatchSender", "Pending"]


@dataclass(frozen=True)
class Pending:
    """A sent transaction whose receipt is not read yet."""

    tx_hash: HexBytes
    sender: str
    label: str
    tx: dict[str, Any]


class BatchSender:
    """Signs and sends transactions without waiting; `flush()` checks them all."""

    def __init__(self, w3: Web3, receipt_batch: int = 500) -> None:
        self.w3 = w3
        self._rpc("evm_setAutomine", [False])
        self.chain_id = int(w3.eth.chain_id)
        self._nonces: dict[str, int] = {}
        self._pending: list[Pending] = []
        self._unsent: list[bytes] = []
        self._encoders: dict[tuple[str, str], tuple[bytes, list[str]]] = {}
        endpoint = getattr(w3.provider, "endpoint_uri", None)
        if not isinstance(endpoint, str):
            raise TransactionFailed("bulk sending needs an HTTP JSON-RPC node (such as anvil)")
        self._endpoint = endpoint
        self._http = requests.Session()
        self._receipt_batch = receipt_batch
        block = w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        # anvil orders a block's transactions by tip: a tip that falls with every send makes the
        # order within a block the sending order, across senders too, so runs are reproducible.
        self._tip = 10**9
        self._max_fee = max(base_fee * 4, 2 * 10**9) + self._tip
        self._rpc("anvil_setNextBlockBaseFeePerGas", ["0x0"])
        # One block takes everything pending: when a block filled up, anvil was seen to drop a
        # sender's transaction that did not fit, stranding every later nonce of that sender.
        self._gas_limit = int(block["gasLimit"])
        self._rpc("anvil_setBlockGasLimit", [hex(10**12)])
        self.sent = 0

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise TransactionFailed(f"{method} failed: {response['error']}")
        return response.get("result")

    def close(self) -> None:
        """Mine what is left and give the node its automine back."""
        try:
            self.flush()
        finally:
            self._restore()

    def _restore(self) -> None:
        self._rpc("anvil_setBlockGasLimit", [hex(self._gas_limit)])
        self._rpc("evm_setAutomine", [True])

    def __enter__(self) -> BatchSender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._restore()

    def _nonce(self, account: LocalAccount) -> int:
        address = account.address
        if address not in self._nonces:
            self._nonces[address] = int(self.w3.eth.get_transaction_count(address, "pending"))
        nonce = self._nonces[address]
        self._nonces[address] = nonce + 1
        return nonce

    def send(self, account: LocalAccount, fn: ContractFunction, gas: int, label: str = "") -> HexBytes:
        """Sign `fn` as `account` with a fixed gas limit and send it."""
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": self._nonce(account),
            "to": fn.address,
            "data": self._encode(fn),
            "gas": gas,
            "maxFeePerGas": self._max_fee,
            "maxPriorityFeePerGas": self._tip - self.sent,
            "value": 0,
        }
        signed = account.sign_transaction(tx)
        tx_hash = HexBytes(signed.hash)
        self._unsent.append(signed.raw_transaction)
        self._pending.append(Pending(tx_hash, account.address, label or fn.fn_name, tx))
        self.sent += 1
        if len(self._unsent) >= self._receipt_batch:
            self._push()
            self._mine()
        return tx_hash

    def _encode(self, fn: ContractFunction) -> bytes:
        # web3 re-resolves the ABI on every encode; cache selector and types per function.
        key = (str(fn.address), str(fn.abi_element_identifier))
        entry = self._encoders.get(key)
        if entry is None:
            types = [type_string(dict(p)) for p in fn.abi["inputs"]]
            selector = function_signature_to_4byte_selector(f"{fn.abi['name']}({','.join(types)})")
            entry = self._encoders[key] = (selector, types)
        selector, types = entry
        return selector + encode(types, list(fn.args))

    def _mine(self) -> None:
        while int(self._rpc("txpool_status", [])["pending"], 16) > 0:
            # Full blocks raise the base fee by 12.5 % each; over hundreds of blocks it would
            # outgrow every fee cap and strand transactions, so keep it at zero while bulk-mining.
            self._rpc("anvil_setNextBlockBaseFeePerGas", ["0x0"])
            self._rpc("evm_mine", [])

    def _push(self) -> None:
        """Hand the signed transactions to the node, many per JSON-RPC request."""
        unsent, self._unsent = self._unsent, []
        if not unsent:
            return
        # web3's batch requests refuse eth_sendRawTransaction, so post the JSON-RPC batch directly.
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + bytes(raw).hex()]}
            for i, raw in enumerate(unsent)
        ]
        try:
            response = self._http.post(self._endpoint, json=payload, timeout=120)
            answers = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TransactionFailed(f"could not send a batch of {len(unsent)} transactions: {exc}") from None
        for answer in answers if isinstance(answers, list) else [answers]:
            if "error" in answer:
                raise TransactionFailed(f"the node refused a transaction: {answer['error']}")

    def flush(self, receipts: bool = True) -> list[TxReceipt]:
        """Mine every sent transaction; raise the decoded revert of the first that failed.

        Returns the receipts in sending order, or an empty list with `receipts=False`, which only
        checks each status (much cheaper than web3's full receipt formatting).
        """
        self._push()
        pending, self._pending = self._pending, []
        if not pending:
            return []
        self._mine()
        if not receipts:
            self._check_statuses(pending)
            return []
        found: list[TxReceipt] = []
        for start in range(0, len(pending), self._receipt_batch):
            chunk = pending[start : start + self._receipt_batch]
            found.extend(self._receipts(chunk))
        for item, receipt in zip(pending, found, strict=True):
            if receipt["status"] != 1:
                self._explain(item, receipt)
        return found

    def _check_statuses(self, pending: Sequence[Pending]) -> None:
        for start in range(0, len(pending), self._receipt_batch):
            chunk = pending[start : start + self._receipt_batch]
            payload = [
                {"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": ["0x" + p.tx_hash.hex()]}
                for i, p in enumerate(chunk)
            ]
            answers = {
                a["id"]: a.get("result") for a in self._http.post(self._endpoint, json=payload, timeout=120).json()
            }
            for i, item in enumerate(chunk):
                raw = answers.get(i)
                if raw is None:
                    self._dropped(item)
                elif raw.get("status") != "0x1":
                    self._explain(item, self.w3.eth.get_transaction_receipt(item.tx_hash))

    def _receipts(self, chunk: Sequence[Pending]) -> list[TxReceipt]:
        with self.w3.batch_requests() as batch:
            for item in chunk:
                batch.add(self.w3.eth.get_transaction_receipt(item.tx_hash))
            results = batch.execute()
        out: list[TxReceipt] = []
        for item, result in zip(chunk, results, strict=True):
            if not isinstance(result, Mapping) or result.get("status") is None:
                self._dropped(item)
            out.append(result)  # type: ignore[arg-type]
        return out

    def _dropped(self, item: Pending) -> None:
        # flush() mined until the pool was empty, so a transaction without a receipt was dropped.
        raise TransactionFailed(f"the node dropped {item.label} from {item.sender} (tx 0x{item.tx_hash.hex()})")

    def _explain(self, item: Pending, receipt: TxReceipt) -> None:
        call = {"from": item.sender, "to": item.tx["to"], "data": item.tx["data"], "gas": item.tx["gas"]}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise_decoded(exc)
        raise TransactionFailed(
            f"{item.label} from {item.sender} failed in block {receipt['blockNumber']} "
            f"(gas used {receipt['gasUsed']} of {item.tx['gas']})"
        )
