"""Connecting to a node and sending signed transactions, with reverts decoded to exceptions."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception
from web3.types import EventData, TxParams, TxReceipt

from registry.errors import ChainIdMismatch, RpcUnreachable, TransactionFailed
from registry.reverts import decode_revert

__all__ = ["Chain", "TxResult", "connect", "decode_events", "raise_decoded"]

T = TypeVar("T")
#: The least extra gas a transaction gets over its estimate (see `Chain.transact`): more than one
#: new storage slot (22,100 gas) that the moment of mining can add to what the estimate saw.
_TIME_MARGIN_GAS = 30_000


def connect(url: str, expected_chain_id: int | None = None, timeout: float = 60.0) -> Web3:
    """A Web3 for a JSON-RPC URL (http(s):// or ws(s)://) that is known to answer.

    Raises RpcUnreachable when nothing answers and ChainIdMismatch when the node serves another
    chain than `expected_chain_id`.
    """
    if url.startswith(("ws://", "wss://")):
        raise RpcUnreachable(url, "websocket URLs are not supported; use the node's http(s) URL")
    if not url.startswith(("http://", "https://")):
        raise RpcUnreachable(url, "not an http(s):// URL")
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    try:
        chain_id = int(w3.eth.chain_id)
    except requests.exceptions.Timeout:
        raise RpcUnreachable(url, f"no answer within {timeout:.0f} s") from None
    except requests.exceptions.ConnectionError:
        raise RpcUnreachable(url, "connection refused or host unreachable") from None
    except Exception as exc:
        raise RpcUnreachable(url, f"not a JSON-RPC endpoint ({_short(exc)[:160]})") from None
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatch(expected_chain_id, chain_id)
    return w3


@dataclass(frozen=True)
class TxResult(Generic[T]):
    """A mined transaction: where it landed, what it emitted, and the call's result."""

    value: T
    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    receipt: TxReceipt = field(repr=False)


def _revert_data(exc: Exception) -> Any:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    return data


def raise_decoded(exc: Exception) -> None:
    """Re-raise a revert as the matching ContractRevert subclass, when it is one.

    Understands web3's ContractLogicError (JSON-RPC nodes such as anvil) and eth-tester's
    TransactionFailed, which carries the revert data only as a bytes literal in its message.
    """
    if isinstance(exc, ContractLogicError):
        decoded = decode_revert(_revert_data(exc))
    elif _is_eth_tester_failure(exc):
        decoded = decode_revert(_eth_tester_revert_data(exc))
    else:
        decoded = None
    if decoded is not None:
        raise decoded from None


def _is_eth_tester_failure(exc: Exception) -> bool:
    return type(exc).__name__ == "TransactionFailed" and type(exc).__module__.startswith("eth_tester")


def _eth_tester_revert_data(exc: Exception) -> bytes | None:
    # The message reads "execution reverted: b'\\x0a\\xab...'"; the literal is the revert data.
    text = str(exc.args[0]) if exc.args else ""
    start = text.find("b'") if "b'" in text else text.find('b"')
    if start < 0:
        return None
    try:
        value = ast.literal_eval(text[start:])
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, bytes) else None


class Chain:
    """A Web3 plus the account that signs: builds, signs, sends and waits for transactions."""

    def __init__(self, w3: Web3, signer: LocalAccount) -> None:
        self.w3 = w3
        self.signer = signer
        self.chain_id = int(w3.eth.chain_id)

    @property
    def address(self) -> ChecksumAddress:
        return self.signer.address

    def as_signer(self, signer: LocalAccount) -> Chain:
        """The same node, another signing account."""
        return Chain(self.w3, signer)

    def call(self, fn: ContractFunction) -> Any:
        """eth_call a view, with reverts decoded."""
        try:
            return fn.call({"from": self.address})
        except Exception as exc:
            raise_decoded(exc)
            raise

    def transact(self, fn: ContractFunction, events: Contract | None = None) -> TxResult[None]:
        """Send `fn` signed by this chain's signer and wait for it to be mined."""
        params: TxParams = {"from": self.address, "chainId": self.chain_id}
        try:
            tx = fn.build_transaction(params)
        except ContractLogicError as exc:
            raise_decoded(exc)
            raise TransactionFailed(f"{fn.fn_name} would revert: {exc}") from None
        except Exception as exc:
            raise_decoded(exc)
            raise
        # The estimate runs in the latest block's context, but the transaction is mined in a later
        # one: a write of `block.timestamp` that the estimate saw as rewriting the same value (100
        # gas) can cost thousands once the time has moved (an announcement repeated in the next
        # block, a checkpoint pushed at a new key: a new storage slot, 22,100 gas). A fifth more gas,
        # and never less than 30,000 more, covers it; only gas used is paid.
        tx["gas"] = int(tx["gas"]) + max(int(tx["gas"]) // 5, _TIME_MARGIN_GAS)
        return self._send(tx, fn_name=fn.fn_name)

    def deploy(self, contract: type[Contract], *args: Any) -> TxResult[ChecksumAddress]:
        """Deploy a contract class and wait for it; the value is the new address."""
        try:
            tx = contract.constructor(*args).build_transaction({"from": self.address, "chainId": self.chain_id})
        except Exception as exc:
            raise_decoded(exc)
            raise
        result = self._send(tx, fn_name="constructor")
        address = result.receipt["contractAddress"]
        if address is None:
            raise TransactionFailed("the deployment mined without a contract address")
        return TxResult(
            Web3.to_checksum_address(address),
            result.tx_hash,
            result.block_number,
            result.block_hash,
            result.gas_used,
            result.receipt,
        )

    def _send(self, tx: TxParams, fn_name: str) -> TxResult[None]:
        tx = dict(tx)  # type: ignore[assignment]
        tx["nonce"] = self.w3.eth.get_transaction_count(self.address, "pending")
        signed = self.signer.sign_transaction(tx)  # type: ignore[arg-type]
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except ContractLogicError as exc:
            raise_decoded(exc)
            raise TransactionFailed(f"{fn_name} was rejected: {exc}") from None
        except (Web3Exception, ValueError) as exc:
            raise TransactionFailed(f"{fn_name} could not be sent: {_short(exc)}") from None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            self._explain_failure(tx, receipt)
            raise TransactionFailed(f"{fn_name} failed in block {receipt['blockNumber']} (tx {tx_hash.hex()})")
        return TxResult(
            None,
            _hex(tx_hash),
            int(receipt["blockNumber"]),
            _hex(receipt["blockHash"]),
            int(receipt["gasUsed"]),
            receipt,
        )

    def _explain_failure(self, tx: TxParams, receipt: TxReceipt) -> None:
        replay: TxParams = {k: v for k, v in tx.items() if k in ("from", "to", "data", "value", "gas")}  # type: ignore[assignment]
        try:
            self.w3.eth.call(replay, receipt["blockNumber"] - 1)
        except ContractCustomError as exc:
            raise_decoded(exc)
        except Exception:
            return


def decode_events(contract: Contract, receipt: TxReceipt, name: str) -> list[EventData]:
    """The `name` events a contract emitted in a receipt, decoded."""
    event = contract.events[name]()
    topic = HexBytes(event.topic)
    return [
        event.process_log(log)
        for log in receipt["logs"]
        if log["address"] == contract.address and log["topics"] and HexBytes(log["topics"][0]) == topic
    ]


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _short(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
