"""The chain side of patentpool: compile, connect, deploy and call the contracts.

No SQL and no HTTP here; `indexer` builds on this package, never the other way round.
"""

from registry.artifacts import CONTRACTS, load_artifact
from registry.chain import Chain, TxResult, connect
from registry.client import (
    PatentAssetClient,
    PatentPoolClient,
    PoolFactoryClient,
    StablecoinClient,
    contract_at,
)
from registry.deploy import Deployment, deploy_suite, load_deployment, write_deployment
from registry.errors import (
    ArtifactError,
    ChainIdMismatch,
    CompileError,
    ConfigError,
    ContractRevert,
    DeploymentError,
    NodeError,
    RegistryError,
    RpcUnreachable,
    SigningKeyError,
    TransactionFailed,
)
from registry.keys import resolve_signer
from registry.node import AnvilNode, in_process_web3, start_anvil
from registry.types import (
    AssetId,
    DisputeId,
    LicenceId,
    Lifecycle,
    OfferId,
    PatentStatus,
    PoolKind,
    Tier,
)

__all__ = [
    "CONTRACTS",
    "AnvilNode",
    "ArtifactError",
    "AssetId",
    "Chain",
    "ChainIdMismatch",
    "CompileError",
    "ConfigError",
    "ContractRevert",
    "Deployment",
    "DeploymentError",
    "DisputeId",
    "LicenceId",
    "Lifecycle",
    "NodeError",
    "OfferId",
    "PatentAssetClient",
    "PatentPoolClient",
    "PatentStatus",
    "PoolFactoryClient",
    "PoolKind",
    "RegistryError",
    "RpcUnreachable",
    "SigningKeyError",
    "StablecoinClient",
    "Tier",
    "TransactionFailed",
    "TxResult",
    "connect",
    "contract_at",
    "deploy_suite",
    "in_process_web3",
    "load_artifact",
    "load_deployment",
    "resolve_signer",
    "start_anvil",
    "write_deployment",
]
