"""ABI helpers shared inside the package."""

from __future__ import annotations

from typing import Any


def type_string(param: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out: "(uint256,address)[]"."""
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(type_string(c) for c in param["components"]) + ")" + t[5:]
    return t
