"""The indexer's optional compiled speed-ups: `indexer/_speedups.c`, built by `pip install` (see
setup.py) where a C compiler is found.

It does three of the reading thread's per-log steps in C: parsing eth_getLogs answers, reading
events whose data is static words, and the per-block integrity digest (with a keccak-256 of its
own). The Python functions in decode.py and digest.py stay the reference: the C code handles the
common case (well-formed hex in plain strings) and hands everything else to them, and the tests
compare the two on random and altered input. Without the extension, or with
PATENTPOOL_PURE_PYTHON=1 in the environment, the indexer runs the Python code alone, with the same
results, more slowly (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["DISABLE_VARIABLE", "load", "status"]

#: Set to 1 (any non-empty value but 0) to run the pure-Python code even where the extension is built.
DISABLE_VARIABLE = "PATENTPOOL_PURE_PYTHON"


def _disabled() -> bool:
    return os.environ.get(DISABLE_VARIABLE, "") not in ("", "0")


def load() -> ModuleType | None:
    """The compiled module, or None when it is not built or is switched off."""
    if _disabled():
        return None
    try:
        from indexer import _speedups  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _speedups  # type: ignore[no-any-return]


def status() -> str:
    """One line for humans: which code the indexer runs."""
    if _disabled():
        return f"pure Python ({DISABLE_VARIABLE} is set)"
    return "compiled speed-ups" if load() is not None else "pure Python (indexer/_speedups.c is not built)"
