"""Stand up a patent pool from a description file, idempotently: a thin entry point over
`registry.pool_config` that runs two ways.

Plain Python (web3.py + eth-account):

    python scripts/deploy_pool.py [--rpc URL] [--deployment deployments/31337.json]
        [--private-key HEX | --keystore FILE] [--verbose] examples/pools/lidar.toml

ApeWorX ape (`ape run` calls `main()` once it has connected to the network):

    ape run deploy_pool --network ethereum:local:foundry

Under ape the signer is `accounts.load($PATENTPOOL_APE_ACCOUNT)` (a keyfile account; its passphrase
from PATENTPOOL_KEYSTORE_PASSWORD, APE_ACCOUNTS_<alias>_PASSPHRASE or a prompt) or, on local
chains, `accounts.test_accounts[0]`; the pool file is $PATENTPOOL_POOL_FILE (default
examples/pools/lidar.toml) and the manifest $PATENTPOOL_DEPLOYMENT (default
deployments/<chainId>.json).

Both print the result as JSON: {"pool", "created", "changed", "txs", ...}. A missing manifest (or
one whose contracts have no code on the node) deploys the suite first. `--plan` (plain Python)
prints the steps a run would send under "plan" and sends nothing. An existing pool is changed only
when the file names its address (`address = "0x..."`); a pool of the same name found without it
is refused, with the changes listed, if the run would change it. Expected failures print
one line to stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry.chain import Chain, connect
from registry.errors import RegistryError, SigningKeyError
from registry.keys import account_from_key, load_keystore, resolve_signer
from registry.node import LOCAL_CHAIN_IDS
from registry.pool_config import (
    PoolConfig,
    ensure_deployment,
    existing_deployment,
    load_pool_config,
    new_pool_steps,
    stand_up_pool,
)

DEFAULT_POOL_FILE = "examples/pools/lidar.toml"


def _stderr(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def run(
    chain: Chain,
    config: PoolConfig,
    deployment_path: Path | None,
    progress: Callable[[str], None] | None = None,
    plan: bool = False,
) -> dict[str, Any]:
    """Make sure the suite is deployed, then stand the pool up; with `plan`, say what that would
    send and send nothing."""
    if plan:
        existing = existing_deployment(chain, deployment_path, progress)
        if existing is None:
            steps = ["deploySuite", "createPool", *new_pool_steps(config)]
            return {"pool": None, "name": config.name, "created": True, "deployedSuite": False, "plan": steps}
        return stand_up_pool(chain, existing, config, progress, plan=True) | {"deployedSuite": False}
    deployment, deployed = ensure_deployment(chain, deployment_path, progress)
    result = stand_up_pool(chain, deployment, config, progress)
    result["deployedSuite"] = deployed
    return result


def _prompt(label: str) -> str:
    if not sys.stdin.isatty():
        raise SigningKeyError(f"{label}: no terminal to ask on; set PATENTPOOL_KEYSTORE_PASSWORD")
    return getpass.getpass(f"{label}: ")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploy_pool.py", description="Stand up a patent pool from a TOML/YAML file (idempotent)."
    )
    parser.add_argument("pool_file", type=Path, help="the pool description (.toml, .yaml or .yml)")
    parser.add_argument(
        "--rpc",
        default=os.environ.get("PATENTPOOL_RPC_URL", "http://127.0.0.1:8545"),
        help="JSON-RPC URL (default: $PATENTPOOL_RPC_URL or http://127.0.0.1:8545)",
    )
    parser.add_argument(
        "--deployment", type=Path, default=None, help="manifest path (default: deployments/<chainId>.json)"
    )
    parser.add_argument("--private-key", default=None, help="signing key (default: $PATENTPOOL_PRIVATE_KEY)")
    parser.add_argument("--keystore", type=Path, default=None, help="encrypted V3 keystore file to sign with")
    parser.add_argument(
        "--plan",
        action="store_true",
        help='print the steps a run would send (JSON, under "plan") and send nothing',
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="report each step on stderr")
    return parser


def plain_main(argv: list[str] | None = None) -> int:
    """The plain web3.py entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        config = load_pool_config(args.pool_file)
        w3 = connect(args.rpc)
        chain_id = int(w3.eth.chain_id)
        signer = resolve_signer(chain_id, args.private_key, args.keystore, prompt=_prompt)
        result = run(Chain(w3, signer), config, args.deployment, _stderr if args.verbose else None, args.plan)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2))
    return 0


def _ape_signer(chain_id: int) -> Any:
    """A LocalAccount for the ape account to use (see the module docstring)."""
    from ape import accounts

    alias = os.environ.get("PATENTPOOL_APE_ACCOUNT")
    if alias:
        try:
            account = accounts.load(alias)
        except Exception as exc:
            raise SigningKeyError(f"no ape account {alias!r}: {exc}") from None
        keyfile = getattr(account, "keyfile_path", None)
        if keyfile is None:
            raise SigningKeyError(f"ape account {alias!r} is not a keyfile account; only those are supported")
        password = os.environ.get("PATENTPOOL_KEYSTORE_PASSWORD") or os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE")
        if password is None:
            password = _prompt(f"Passphrase for ape account {alias}")
        return load_keystore(Path(keyfile), password)
    if chain_id not in LOCAL_CHAIN_IDS:
        raise SigningKeyError(
            f"chain {chain_id} is not local: set PATENTPOOL_APE_ACCOUNT to an ape account alias (ape accounts list)"
        )
    return account_from_key(str(accounts.test_accounts[0].private_key), chain_id)


def ape_main() -> int:
    """The ape entry point: ape's connected provider and an ape account; returns the exit code."""
    from ape import networks

    try:
        config = load_pool_config(Path(os.environ.get("PATENTPOOL_POOL_FILE", DEFAULT_POOL_FILE)))
        w3 = networks.provider.web3
        chain_id = int(w3.eth.chain_id)
        chain = Chain(w3, _ape_signer(chain_id))
        manifest = os.environ.get("PATENTPOOL_DEPLOYMENT")
        result = run(chain, config, Path(manifest) if manifest else None, _stderr)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2), flush=True)
    return 0


def _under_ape_run() -> bool:
    return __name__ != "__main__" and "ape_run._cli" in sys.modules


def main() -> None:
    """What `ape run deploy_pool` calls (and `python scripts/deploy_pool.py` too)."""
    code = ape_main() if _under_ape_run() else plain_main()
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
