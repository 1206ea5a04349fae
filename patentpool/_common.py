"""What every `patentpool` subcommand shares: options, the node session, parsing and output."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from rich.console import Console
from rich.table import Table
from web3 import Web3

from registry.chain import Chain, TxResult, connect
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment, load_deployment, manifest_path

out = Console()
err = Console(stderr=True)

EXIT_ERROR = 2

RpcOption = Annotated[
    str | None,
    typer.Option("--rpc", help="JSON-RPC URL of the node (env PATENTPOOL_RPC_URL, default http://127.0.0.1:8545)."),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--private-key",
        help="Hex private key of the signer (env PATENTPOOL_PRIVATE_KEY). Prefer the environment or a keystore.",
        show_default=False,
    ),
]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        help="Encrypted JSON keystore of the signer; password from PATENTPOOL_KEYSTORE_PASSWORD or a prompt.",
    ),
]
DeploymentsOption = Annotated[
    Path | None,
    typer.Option(
        "--deployments-dir",
        help="Folder of deployment manifests (env PATENTPOOL_DEPLOYMENTS_DIR, default deployments).",
    ),
]
DeploymentOption = Annotated[
    Path | None,
    typer.Option("--deployment", help="Deployment manifest (default: deployments/<chainId>.json)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
PoolArg = Annotated[str, typer.Argument(help="Address of the pool.", show_default=False)]

# Reads need no key: calls are made "from" this throw-away address, which never signs anything.
_READER: LocalAccount = Account.from_key("0x" + "00" * 31 + "01")


def fail(message: str) -> NoReturn:
    """Print one error line and exit 2."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_ERROR)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def settings_rpc(rpc: str | None) -> str:
    from registry.settings import get_settings

    return rpc or get_settings().rpc_url


def settings_deployments_dir(directory: Path | None) -> Path:
    from registry.settings import get_settings

    return directory or get_settings().deployments_dir


def resolve_cli_signer(chain_id: int, private_key: str | None, keystore: Path | None) -> LocalAccount:
    """The signer from options, then settings/environment, prompting for a keystore password on a tty."""
    from registry.keys import resolve_signer
    from registry.settings import get_settings

    settings = get_settings()
    password = settings.keystore_password.get_secret_value() if settings.keystore_password else None
    key = private_key or (settings.private_key.get_secret_value() if settings.private_key else None)
    prompt = (lambda text: str(typer.prompt(text, hide_input=True))) if sys.stdin.isatty() else None
    return resolve_signer(chain_id, key, keystore or settings.keystore, password, prompt)


def parse_address(value: str, what: str) -> ChecksumAddress:
    """A checksummed address, or a clear error for a malformed or checksum-broken one."""
    text = value.strip()
    if not Web3.is_address(text):
        fail(f"{what} {value!r} is not an Ethereum address (0x followed by 40 hex digits)")
    if text != text.lower() and text[2:] != text[2:].upper() and not Web3.is_checksum_address(text):
        fail(f"{what} {value!r} has a broken checksum (mixed case that does not match EIP-55); check for a typo")
    return Web3.to_checksum_address(text)


def parse_amount(text: str, decimals: int, what: str) -> int:
    """A decimal token amount ("500", "12.5") in the token's smallest units."""
    try:
        value = Decimal(text.replace("_", "").replace(",", ""))
    except InvalidOperation:
        fail(f"{what} {text!r} is not a number")
    if value < 0:
        fail(f"{what} {text!r} is negative")
    units = value * (Decimal(10) ** decimals)
    if units != units.to_integral_value():
        fail(f"{what} {text!r} has more than {decimals} decimal places")
    return int(units)


def format_amount(units: int, decimals: int) -> str:
    value = Decimal(units) / (Decimal(10) ** decimals)
    return f"{value:,.{min(decimals, 2)}f}" if value == value.quantize(Decimal("0.01")) else f"{value:,}"


def iso_time(ts: int) -> str:
    """A unix time as an ISO 8601 date-time in UTC."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


def parse_time(text: str, what: str) -> int:
    """Unix seconds from an integer, an ISO date (midnight UTC) or an ISO date-time."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    try:
        if len(stripped) == 10:
            return int(datetime.combine(date.fromisoformat(stripped), datetime.min.time(), UTC).timestamp())
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        fail(f"{what} {text!r} is neither unix seconds nor an ISO date (YYYY-MM-DD) or date-time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_hash_or_text(text: str) -> bytes:
    """A bytes32: 0x-prefixed 64 hex digits as given, a readable file's keccak, else the text's keccak."""
    stripped = text.strip()
    if stripped.startswith("0x") and len(stripped) == 66:
        try:
            return bytes.fromhex(stripped[2:])
        except ValueError:
            pass
    path = Path(stripped)
    if len(stripped) < 4096 and path.is_file():
        return bytes(Web3.keccak(path.read_bytes()))
    return bytes(Web3.keccak(text=stripped))


def tx_json(result: TxResult[Any]) -> dict[str, Any]:
    return {
        "txHash": result.tx_hash,
        "blockNumber": result.block_number,
        "blockHash": result.block_hash,
        "gasUsed": result.gas_used,
    }


@dataclass
class Session:
    """A connected node, the deployment manifest and (when a command writes) the signer."""

    url: str
    deployment_path: Path | None
    deployments_dir: Path | None
    private_key: str | None = None
    keystore: Path | None = None
    _pools_checked: set[str] = field(default_factory=set)

    @cached_property
    def w3(self) -> Web3:
        return connect(settings_rpc(self.url))

    @cached_property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @cached_property
    def deployment(self) -> Deployment:
        path = self.deployment_path or manifest_path(self.chain_id, settings_deployments_dir(self.deployments_dir))
        manifest = load_deployment(path, chain_id=self.chain_id)
        if len(self.w3.eth.get_code(manifest.address("PoolFactory"))) == 0:
            fail(f"the node has no code at the PoolFactory of {path}: was the chain restarted since the deployment?")
        return manifest

    @cached_property
    def reader(self) -> Chain:
        return Chain(self.w3, _READER)

    @cached_property
    def signer(self) -> Chain:
        return Chain(self.w3, resolve_cli_signer(self.chain_id, self.private_key, self.keystore))

    def chain(self, write: bool) -> Chain:
        return self.signer if write else self.reader

    def factory(self, write: bool = False) -> PoolFactoryClient:
        return PoolFactoryClient(self.chain(write), self.deployment.address("PoolFactory"))

    def assets(self, write: bool = False) -> PatentAssetClient:
        return PatentAssetClient(self.chain(write), self.deployment.address("PatentAsset"))

    def pool(self, address: str, write: bool = False) -> PatentPoolClient:
        """A pool of this deployment's factory; a clear error for anything else."""
        checksum = parse_address(address, "pool")
        if checksum not in self._pools_checked:
            if not self.factory().is_pool(checksum):
                fail(f"{checksum} is not a pool of the PoolFactory at {self.deployment.address('PoolFactory')}")
            self._pools_checked.add(checksum)
        return PatentPoolClient(self.chain(write), checksum)

    def token(self, pool: PatentPoolClient, write: bool = False) -> StablecoinClient:
        return StablecoinClient(self.chain(write), pool.profile()["paymentToken"])


def session(
    rpc: str | None,
    deployment: Path | None = None,
    private_key: str | None = None,
    keystore: Path | None = None,
    deployments_dir: Path | None = None,
) -> Session:
    return Session(settings_rpc(rpc), deployment, deployments_dir, private_key, keystore)


def table(title: str, rows: list[tuple[str, Any]]) -> Table:
    """A two-column key/value table."""
    t = Table(title=title, show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value")
    for key, value in rows:
        t.add_row(key, "0x" + value.hex() if isinstance(value, bytes) else str(value))
    return t


def done(message: str, result: TxResult[Any]) -> None:
    out.print(f"{message} (block {result.block_number}, tx {result.tx_hash})", highlight=False, soft_wrap=True)
