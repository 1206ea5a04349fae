"""Compiling the Solidity sources into the committed artifacts, with py-solc-x.

A native `solc` of the pinned version is used where one is installed (py-solc-x's own installs or
`solc` on PATH); otherwise py-solc-x drives the npm `solc` package through `solcjs-wrapper.mjs`.
Both produce the same bytes, so `compile --check` compares whatever is available against the
committed artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from registry.artifacts import ARTIFACTS_DIR, CONTRACTS, Artifact
from registry.errors import CompileError

__all__ = [
    "CONTRACTS_DIR",
    "PROJECT_ROOT",
    "SOLC_VERSION",
    "CompileResult",
    "check_artifacts",
    "compile_contracts",
    "find_compiler",
    "write_artifacts",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
NODE_MODULES = PROJECT_ROOT / "node_modules"
WRAPPER = Path(__file__).resolve().parent / "solcjs-wrapper.mjs"

#: The one compiler version the project pins (package.json pins the same npm `solc`).
SOLC_VERSION = "0.8.28"

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}


@dataclass(frozen=True)
class CompileResult:
    """Artifacts of one compile, by contract name, and the compiler that made them."""

    artifacts: dict[str, Artifact]
    compiler: str
    compiler_path: str


def find_compiler() -> tuple[Path, str]:
    """Return (path, description) of a compiler for SOLC_VERSION: native first, then solcjs."""
    import solcx
    from packaging.version import Version

    wanted = Version(SOLC_VERSION)
    try:
        for version in solcx.get_installed_solc_versions():
            if version == wanted:
                return Path(solcx.install.get_executable(version)), f"native solc {version}"
    except Exception:  # no solcx install folder at all
        pass
    native = shutil.which("solc")
    if native:
        try:
            if solcx.wrapper.get_solc_version(native) == wanted:
                return Path(native), f"native solc {wanted} ({native})"
        except Exception:
            pass
    if not shutil.which("node"):
        raise CompileError(f"no native solc {SOLC_VERSION} and no `node` to run the npm `solc`")
    if not (NODE_MODULES / "solc" / "package.json").exists():
        raise CompileError(
            f"no native solc {SOLC_VERSION} and the npm `solc` package is not installed; "
            "run `npm ci` in the project folder"
        )
    _ensure_executable(WRAPPER)
    return WRAPPER, f"solcjs {SOLC_VERSION} (npm solc via {WRAPPER.name})"


def _ensure_executable(path: Path) -> None:
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _source_files(contracts_dir: Path) -> list[Path]:
    return sorted(p for p in contracts_dir.rglob("*.sol") if p.is_file())


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR, names: Iterable[str] = CONTRACTS) -> CompileResult:
    """Compile every source under `contracts_dir` and return the artifacts of `names`."""
    import solcx

    solc_path, description = find_compiler()
    root = contracts_dir.parent
    sources = {
        p.relative_to(root).as_posix(): {"content": p.read_text(encoding="utf-8")} for p in _source_files(contracts_dir)
    }
    if not sources:
        raise CompileError(f"no Solidity sources under {contracts_dir}")
    request = {"language": "Solidity", "sources": sources, "settings": SETTINGS}
    env_before = os.environ.get("PATENTPOOL_NODE_MODULES")
    os.environ["PATENTPOOL_NODE_MODULES"] = str(NODE_MODULES)
    cwd = Path.cwd()
    try:
        os.chdir(root)
        output = solcx.compile_standard(request, solc_binary=solc_path, allow_empty=True)
    except solcx.exceptions.SolcError as exc:
        raise CompileError(f"the compiler failed: {exc.message}", [exc.stderr_data or ""]) from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompileError(f"could not run the compiler {solc_path}: {exc}") from None
    finally:
        os.chdir(cwd)
        if env_before is None:
            os.environ.pop("PATENTPOOL_NODE_MODULES", None)
        else:
            os.environ["PATENTPOOL_NODE_MODULES"] = env_before
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("the Solidity sources do not compile", [e.get("formattedMessage", "") for e in errors])

    # Every source the compiler read (ours and OpenZeppelin's), hashed, so an artifact says
    # exactly which text it was built from.
    source_hashes = {}
    for unit in sorted(output.get("sources", {})):
        text = sources[unit]["content"] if unit in sources else _read_unit(unit, root)
        source_hashes[unit] = "0x" + keccak(text.encode("utf-8")).hex()
    source_hash = "0x" + keccak(json.dumps(source_hashes, sort_keys=True).encode()).hex()

    by_name: dict[str, tuple[str, dict[str, Any]]] = {}
    for unit, contracts in output.get("contracts", {}).items():
        for cname, data in contracts.items():
            if unit.startswith("contracts/"):
                by_name[cname] = (unit, data)
    version = solcx.wrapper.get_solc_version(solc_path, with_commit_hash=True)
    artifacts: dict[str, Artifact] = {}
    for name in names:
        if name not in by_name:
            raise CompileError(f"contract {name} is not defined under {contracts_dir}")
        unit, data = by_name[name]
        artifacts[name] = Artifact(
            contractName=name,
            sourceName=unit,
            abi=data["abi"],
            bytecode="0x" + data["evm"]["bytecode"]["object"],
            deployedBytecode="0x" + data["evm"]["deployedBytecode"]["object"],
            compiler={"name": "solc", "version": _short_version(str(version))},
            settings=SETTINGS,
            sourceHash=source_hash,
            sources=source_hashes,
        )
    _merge_pool_abi(artifacts)
    return CompileResult(artifacts, description, str(solc_path))


def _merge_pool_abi(artifacts: dict[str, Artifact]) -> None:
    """Give `PatentPool`'s artifact the ABI of the whole pool.

    A pool's code is split in two contracts (EIP-170): `PatentPool`, the clones' implementation,
    forwards every call it does not implement by delegatecall to `PatentPoolDisputes`. Both run at
    the pool's one address, so the pool's ABI is `PatentPool`'s plus the functions only
    `PatentPoolDisputes` has (their events and errors are shared). Clients, the indexer and the API
    read that one ABI; `PatentPoolDisputes`' own artifact is for deploying it.
    """
    pool, disputes = artifacts.get("PatentPool"), artifacts.get("PatentPoolDisputes")
    if pool is None or disputes is None:
        return

    def key(entry: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
        return entry["type"], entry.get("name", ""), tuple(i["type"] for i in entry.get("inputs", []))

    known = {key(e) for e in pool["abi"]}
    extra = [e for e in disputes["abi"] if e["type"] in ("function", "event", "error") and key(e) not in known]
    pool["abi"] = [*pool["abi"], *sorted(extra, key=lambda e: (e["type"], e.get("name", "")))]


def _read_unit(unit: str, root: Path) -> str:
    # Imported units (OpenZeppelin) resolve beside the sources, else in this project's node_modules.
    for base in (root, PROJECT_ROOT):
        path = base / unit
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise CompileError(f"the compiler read {unit}, which cannot be found to hash it")


def _short_version(version: str) -> str:
    # "0.8.28+commit.7893614a.Emscripten.clang" and the native "0.8.28+commit.7893614a" are the
    # same compiler; keep the part both report.
    parts = version.split(".")
    return ".".join(parts[:4]) if "+commit" in version else version


def _render(artifact: Artifact) -> str:
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(result: CompileResult, directory: Path = ARTIFACTS_DIR) -> list[Path]:
    """Write each artifact to `directory/<name>.json`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in result.artifacts.items():
        path = directory / f"{name}.json"
        path.write_text(_render(artifact), encoding="utf-8")
        written.append(path)
    return written


def check_artifacts(result: CompileResult, directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of the contracts whose committed artifact differs from `result` (or is missing)."""
    stale = []
    for name, artifact in result.artifacts.items():
        path = directory / f"{name}.json"
        committed = path.read_text(encoding="utf-8") if path.exists() else None
        if committed != _render(artifact):
            stale.append(name)
    return stale
