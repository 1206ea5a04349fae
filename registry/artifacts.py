"""Reading the committed contract artifacts: ABIs and bytecode, with no compiler needed."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

from registry.errors import ArtifactError

__all__ = ["ARTIFACTS_DIR", "CONTRACTS", "Artifact", "artifacts_dir", "load_artifact"]

#: The committed artifacts, inside the package.
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


def artifacts_dir() -> Path:
    """Where artifacts are read from: PATENTPOOL_ARTIFACTS_DIR, else the committed ones."""
    override = os.environ.get("PATENTPOOL_ARTIFACTS_DIR")
    return Path(override) if override else ARTIFACTS_DIR


#: The contracts the project deploys or calls, by name; each has `artifacts/<name>.json`.
#: `PatentPool`'s ABI is the whole pool's: its own functions and those it runs by delegatecall on
#: `PatentPoolDisputes` (see `registry.compile`).
CONTRACTS: tuple[str, ...] = ("PatentAsset", "PatentPool", "PatentPoolDisputes", "PoolFactory", "TestStablecoin")


class Artifact(TypedDict):
    """One compiled contract as committed in `registry/artifacts/<name>.json`."""

    contractName: str
    sourceName: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployedBytecode: str
    compiler: dict[str, str]
    settings: dict[str, Any]
    sourceHash: str
    sources: dict[str, str]


@cache
def load_artifact(name: str, directory: Path | None = None) -> Artifact:
    """Load a committed artifact by contract name; raises ArtifactError when missing or broken."""
    path = (directory or artifacts_dir()) / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"missing contract artifact {path}; run `patentpool compile` to create it") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"unreadable contract artifact {path}: {exc}") from None
    for key in ("abi", "bytecode"):
        if key not in data:
            raise ArtifactError(f"contract artifact {path} lacks {key!r}; run `patentpool compile`")
    return data  # type: ignore[no-any-return]
