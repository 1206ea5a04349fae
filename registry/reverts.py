"""Python exceptions for the contracts' Solidity custom errors, one class per error name.

`from registry.reverts import PatentPoolNotQualified` gives the class raised when a call reverts
with `PatentPoolNotQualified(...)`; its `error_args` holds the decoded arguments by name.
"""

from __future__ import annotations

from functools import cache

from eth_abi.abi import decode
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3

from registry._abi import type_string
from registry.artifacts import CONTRACTS, load_artifact
from registry.errors import ContractRevert

__all__ = ["ContractRevert", "decode_revert", "error_classes", "revert_class"]


@cache
def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in CONTRACTS:
        for item in load_artifact(name)["abi"]:
            if item.get("type") != "error":
                continue
            types = [type_string(p) for p in item["inputs"]]
            names = [p["name"] or f"arg{i}" for i, p in enumerate(item["inputs"])]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            table[selector] = (item["name"], types, names)
    return table


@cache
def revert_class(error_name: str) -> type[ContractRevert]:
    """The ContractRevert subclass for a Solidity custom error name."""
    selector = next((s for s, v in _error_table().items() if v[0] == error_name), b"")
    return type(error_name, (ContractRevert,), {"error_name": error_name, "selector": "0x" + selector.hex()})


def error_classes() -> dict[str, type[ContractRevert]]:
    """Every custom error of the project's contracts, by name."""
    return {name: revert_class(name) for name, _, _ in _error_table().values()}


def decode_revert(data: bytes | str | None) -> ContractRevert | None:
    """Turn revert data into the matching ContractRevert, or None when it is not a known error."""
    if data is None:
        return None
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    if len(raw) < 4:
        return None
    entry = _error_table().get(raw[:4])
    if entry is None:
        return None
    name, types, names = entry
    try:
        values = decode(types, raw[4:])
    except Exception:
        return None
    # Addresses come back as checksummed strings, as everywhere else in the client.
    args = {
        n: Web3.to_checksum_address(v) if t == "address" else v for n, t, v in zip(names, types, values, strict=True)
    }
    return revert_class(name)(args)


def __getattr__(name: str) -> type[ContractRevert]:
    if not name.startswith("_") and any(v[0] == name for v in _error_table().values()):
        return revert_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
