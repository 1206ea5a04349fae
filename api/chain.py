"""Live reads from the node: the head, token metadata and `isLicensed`, with no key and no signer.

Everything here is an eth_call or a block read through web3.py; a node that does not answer is a
`Problem(502)` naming the (redacted) URL, never a traceback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from eth_abi.abi import decode, encode
from eth_typing import ABIFunction
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from web3 import Web3
from web3.types import BlockIdentifier, RPCEndpoint

from api.problems import Problem
from registry.artifacts import load_artifact
from registry.client import contract_at
from registry.settings import redact_url

__all__ = ["ChainReader", "Head"]


@dataclass(frozen=True)
class Head:
    number: int
    hash: str
    timestamp: int


@dataclass
class ChainReader:
    """The node the API reads live from (lazily connected; safe to share between threads)."""

    url: str
    timeout: float = 10.0
    _tokens: dict[str, tuple[int, str]] = field(default_factory=dict)
    _functions: dict[tuple[str, str], _Function] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def w3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": self.timeout}))

    def _unavailable(self, exc: Exception) -> Problem:
        return Problem(502, f"the node at {redact_url(self.url)} did not answer ({type(exc).__name__})", kind="chain")

    def head(self) -> Head:
        """The latest block the node has (one eth_getBlockByNumber, without transactions)."""
        block = self._request("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise Problem(502, "the node has no latest block", kind="chain")
        return Head(int(block["number"], 16), block["hash"], int(block["timestamp"], 16))

    def _request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request straight through the provider (no web3.py formatting); its result."""
        try:
            answer = self.w3.provider.make_request(RPCEndpoint(method), params)
        except Exception as exc:
            raise self._unavailable(exc) from None
        if "error" in answer or "result" not in answer:
            error: Any = answer.get("error") or {}
            message = error.get("message", "no result") if isinstance(error, dict) else str(error)
            raise Problem(502, f"the node refused {method} ({message})", kind="chain")
        return answer["result"]

    def token(self, address: str) -> tuple[int, str] | None:
        """(decimals, symbol) of an ERC-20, read once; None while the node cannot be asked."""
        if address in self._tokens:
            return self._tokens[address]
        if not address or int(address, 16) == 0:
            return None
        try:
            contract = contract_at(self.w3, "TestStablecoin", address)
            info = (int(contract.functions.decimals().call()), str(contract.functions.symbol().call()))
        except Exception:
            return None
        with self._lock:
            self._tokens[address] = info
        return info

    def call(self, contract: str, address: str, function: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        """A view function's result at `block` (a single output as itself, several as a tuple).

        One eth_call, encoded and decoded with eth-abi from the committed artifact's ABI (read once
        per function): web3.py's contract objects cost more Python per call than the node's answer
        takes (measured in docs/benchmarks.md, "Public API").
        """
        abi_function = self._function(contract, function)
        data = abi_function.selector + encode(abi_function.inputs, args)
        where = hex(block) if isinstance(block, int) else block
        result = self._request("eth_call", [{"to": address, "data": "0x" + data.hex()}, where])
        if not isinstance(result, str):
            raise Problem(502, f"the node answered {function} without data", kind="chain")
        values = decode(abi_function.outputs, bytes.fromhex(result[2:]))
        return values[0] if len(values) == 1 else values

    def _function(self, contract: str, function: str) -> _Function:
        found = self._functions.get((contract, function))
        if found is None:
            entry = cast(
                ABIFunction,
                next(
                    item
                    for item in load_artifact(contract)["abi"]
                    if item.get("type") == "function" and item["name"] == function
                ),
            )
            found = _Function(
                function_abi_to_4byte_selector(entry),
                tuple(get_abi_input_types(entry)),
                tuple(get_abi_output_types(entry)),
            )
            with self._lock:
                self._functions[(contract, function)] = found
        return found


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
