"""Live reads from the node: the head, token metadata and `isLicensed`, with no key and no signer.

Everything here is an eth_call or a block read through web3.py; a node that does not answer is a
`Problem(502)` naming the (redacted) URL, never a traceback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from web3 import Web3
from web3.types import BlockIdentifier

from api.problems import Problem
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
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def w3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": self.timeout}))

    def _unavailable(self, exc: Exception) -> Problem:
        return Problem(502, f"the node at {redact_url(self.url)} did not answer ({type(exc).__name__})", kind="chain")

    def head(self) -> Head:
        """The latest block the node has."""
        try:
            block = self.w3.eth.get_block("latest")
        except Exception as exc:
            raise self._unavailable(exc) from None
        return Head(int(block["number"]), "0x" + bytes(block["hash"]).hex(), int(block["timestamp"]))

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
        """A view function's result at `block`."""
        try:
            fn = contract_at(self.w3, contract, address).functions[function](*args)
            return fn.call(block_identifier=block)
        except Problem:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from None
