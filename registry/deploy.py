"""Deploying the contract suite and recording it in a manifest, `deployments/<chainId>.json`."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from registry.artifacts import load_artifact
from registry.chain import Chain, TxResult
from registry.client import PatentAssetClient
from registry.errors import ChainIdMismatch, DeploymentError
from registry.node import LOCAL_CHAIN_IDS

__all__ = [
    "DEFAULT_DEPLOYMENTS_DIR",
    "Deployed",
    "Deployment",
    "deploy_suite",
    "load_deployment",
    "manifest_path",
    "write_deployment",
]

DEFAULT_DEPLOYMENTS_DIR = Path("deployments")


@dataclass(frozen=True)
class Deployed:
    """Where one contract was deployed, and by which transaction."""

    address: ChecksumAddress
    tx_hash: str
    block_number: int
    block_hash: str


@dataclass(frozen=True)
class Deployment:
    """The manifest of one deployment of the suite on one chain."""

    chain_id: int
    deployer: str
    contracts: dict[str, Deployed]
    roles: dict[str, list[str]] = field(default_factory=dict)

    def address(self, name: str) -> ChecksumAddress:
        try:
            return self.contracts[name].address
        except KeyError:
            raise DeploymentError(f"the deployment on chain {self.chain_id} has no {name}") from None

    @property
    def payment_token(self) -> ChecksumAddress | None:
        token = self.contracts.get("TestStablecoin")
        return token.address if token else None

    @property
    def start_block(self) -> int:
        return min(c.block_number for c in self.contracts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "deployer": self.deployer,
            "startBlock": self.start_block,
            "contracts": {
                name: {
                    "address": d.address,
                    "txHash": d.tx_hash,
                    "blockNumber": d.block_number,
                    "blockHash": d.block_hash,
                }
                for name, d in self.contracts.items()
            },
            "roles": self.roles,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        try:
            contracts = {
                name: Deployed(
                    Web3.to_checksum_address(c["address"]), c["txHash"], int(c["blockNumber"]), c["blockHash"]
                )
                for name, c in data["contracts"].items()
            }
            return cls(int(data["chainId"]), data["deployer"], contracts, data.get("roles", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise DeploymentError(f"malformed deployment manifest: {exc!r}") from None


def _record(result: TxResult[ChecksumAddress]) -> Deployed:
    return Deployed(result.value, result.tx_hash, result.block_number, result.block_hash)


def deploy_suite(chain: Chain, with_stablecoin: bool | None = None) -> Deployment:
    """Deploy PatentAsset, the PatentPool implementation and PoolFactory (and, on local chains or
    when asked, TestStablecoin); the deployer receives every admin and operating role."""
    if with_stablecoin is None:
        with_stablecoin = chain.chain_id in LOCAL_CHAIN_IDS
    w3 = chain.w3

    def cls(name: str) -> Any:
        art = load_artifact(name)
        return w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])

    deployer = chain.address
    contracts: dict[str, Deployed] = {}
    asset = chain.deploy(cls("PatentAsset"), deployer)
    contracts["PatentAsset"] = _record(asset)
    # The second half of every pool's code (see contracts/PatentPool.sol), fixed in the implementation.
    disputes = chain.deploy(cls("PatentPoolDisputes"))
    contracts["PatentPoolDisputes"] = _record(disputes)
    impl = chain.deploy(cls("PatentPool"), disputes.value)
    contracts["PatentPoolImplementation"] = _record(impl)
    factory = chain.deploy(cls("PoolFactory"), impl.value, asset.value, deployer)
    contracts["PoolFactory"] = _record(factory)
    # The factory registers each pool it makes with the asset registry, so that pools follow their
    # families' tokens (issue 14, point 2).
    PatentAssetClient(chain, asset.value).grant_role("POOL_FACTORY_ROLE", factory.value)
    if with_stablecoin:
        contracts["TestStablecoin"] = _record(chain.deploy(cls("TestStablecoin")))
    roles = {
        "PatentAsset": ["DEFAULT_ADMIN_ROLE", "VERIFIER_ROLE", "EVALUATOR_ROLE"],
        "PoolFactory": ["DEFAULT_ADMIN_ROLE", "POOL_CREATOR_ROLE"],
    }
    holders: dict[str, list[str]] = {f"{c}:{r}": [deployer] for c, rs in roles.items() for r in rs}
    holders["PatentAsset:POOL_FACTORY_ROLE"] = [factory.value]
    return Deployment(chain.chain_id, deployer, contracts, holders)


def manifest_path(chain_id: int, directory: Path = DEFAULT_DEPLOYMENTS_DIR) -> Path:
    return directory / f"{chain_id}.json"


def write_deployment(deployment: Deployment, directory: Path = DEFAULT_DEPLOYMENTS_DIR) -> Path:
    """Write the manifest atomically (temp file + rename) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = manifest_path(deployment.chain_id, directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(deployment.to_json(), fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def load_deployment(path: Path, chain_id: int | None = None) -> Deployment:
    """Read a manifest; with `chain_id`, refuse one made for another chain."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeploymentError(f"no deployment manifest at {path}; run `patentpool deploy` first") from None
    except (OSError, ValueError) as exc:
        raise DeploymentError(f"unreadable deployment manifest {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DeploymentError(f"malformed deployment manifest {path}: not a JSON object")
    deployment = Deployment.from_json(data)
    if chain_id is not None and deployment.chain_id != chain_id:
        raise ChainIdMismatch(deployment.chain_id, chain_id)
    return deployment
