"""What every `patentpool` subcommand shares: options, the node session, parsing and output."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
from web3.contract import Contract
from web3.types import RPCEndpoint

from patentpool.sending import CommandChain, SendOptions
from registry.chain import Chain, TxResult, connect
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment, load_deployment, manifest_path
from registry.reverts import decode_revert

out = Console()
err = Console(stderr=True)

EXIT_ERROR = 2

RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        envvar="PATENTPOOL_RPC_URL",
        help="JSON-RPC URL of the node (default http://127.0.0.1:8545).",
        show_default=False,
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--private-key",
        envvar="PATENTPOOL_PRIVATE_KEY",
        help="Hex private key of the signer; prefer the environment or a keystore. Never shown.",
        show_default=False,
    ),
]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        envvar="PATENTPOOL_KEYSTORE",
        help="Encrypted JSON keystore of the signer; password from PATENTPOOL_KEYSTORE_PASSWORD or a prompt.",
        show_default=False,
    ),
]
DeploymentsOption = Annotated[
    Path | None,
    typer.Option(
        "--deployments-dir",
        envvar="PATENTPOOL_DEPLOYMENTS_DIR",
        help="Folder of deployment manifests (default: deployments).",
        show_default=False,
    ),
]
DeploymentOption = Annotated[
    Path | None,
    typer.Option(
        "--deployment", help="Deployment manifest (default: <deployments-dir>/<chainId>.json).", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
# The question `licence verify` asks and `licence certify` proves: one declaration for both.
PoolQueryOption = Annotated[str, typer.Option("--pool", help="Pool address.", show_default=False)]
LicenseeOption = Annotated[str, typer.Option("--licensee", help="Licensee address.", show_default=False)]
AssetOption = Annotated[int, typer.Option("--asset", help="Asset (patent family token) id.", min=1, show_default=False)]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Time to ask about: unix seconds or YYYY-MM-DD (default: the block's time)."),
]
BlockOption = Annotated[
    int | None,
    typer.Option("--block", help="Read the chain as it was at this block (default: the latest).", min=0),
]
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

    if private_key and keystore is not None:
        fail("give --private-key or --keystore, not both: it is unclear which should sign")
    settings = get_settings()
    password = settings.keystore_password.get_secret_value() if settings.keystore_password else None
    # An explicit --keystore wins over a key in the environment; a key wins over a keystore setting.
    from_env = settings.private_key.get_secret_value() if settings.private_key and keystore is None else None
    key = private_key or from_env
    prompt = (lambda text: str(typer.prompt(text, hide_input=True))) if sys.stdin.isatty() else None
    return resolve_signer(chain_id, key, None if key else keystore or settings.keystore, password, prompt)


def parse_address(value: str, what: str) -> ChecksumAddress:
    """A checksummed address, or a clear error for a malformed or checksum-broken one."""
    text = value.strip()
    if not Web3.is_address(text):
        fail(f"{what} {value!r} is not an Ethereum address (0x followed by 40 hex digits)")
    if text != text.lower() and text[2:] != text[2:].upper() and not Web3.is_checksum_address(text):
        fail(f"{what} {value!r} has a broken checksum (mixed case that does not match EIP-55); check for a typo")
    return Web3.to_checksum_address(text)


UINT256_MAX = 2**256 - 1
#: Longest text the command puts on-chain as a name, field, territory or title (the contracts take any length).
MAX_TEXT = 200
#: Longest URI the command puts on-chain (a dossier's published address).
MAX_URI = 2048
#: Latest moment the command accepts: 9999-12-31T23:59:59Z (a larger number is a typo or milliseconds).
MAX_TIME = 253_402_300_799

_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<frac>[0-9]*))?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")


def parse_amount(text: str, decimals: int, what: str, *, allow_zero: bool = True) -> int:
    """A decimal token amount ("500", "12.5", "1_000") in the token's smallest units, exactly.

    Parsed as digits, never through a float or a limited-precision Decimal: an amount with more
    decimals than the token has, an exponent, a sign, or more than a uint256 holds is refused."""
    cleaned = text.strip().replace("_", "")
    if "," in cleaned:
        # Thousands separators only: "1,5" is a decimal comma somewhere, and must not become 15.
        if not _GROUPED.fullmatch(cleaned.lstrip("+-")):
            fail(f"{what} {text!r} has a comma that does not separate thousands; write decimals with a point")
        cleaned = cleaned.replace(",", "")
    if cleaned.startswith("-"):
        fail(f"{what} {text!r} is negative")
    match = _AMOUNT.fullmatch(cleaned.removeprefix("+"))
    if match is None or not (match["whole"] or match["frac"]):
        fail(f"{what} {text!r} is not a plain decimal amount (digits and an optional point, no exponent)")
    whole: str = match["whole"].lstrip("0") or "0"
    frac: str = (match["frac"] or "").rstrip("0")
    if len(frac) > decimals:
        fail(f"{what} {text!r} has more than {decimals} decimal places (the token's precision)")
    # Bound the digits before int(): a uint256 has 78 digits, and Python refuses 4300+.
    if len(whole) + decimals > 78:
        fail(f"{what} {text!r} is more than the largest amount a contract can hold (2^256 - 1 base units)")
    units = int(whole + frac.ljust(decimals, "0"))
    if units > UINT256_MAX:
        fail(f"{what} {text!r} is more than the largest amount a contract can hold (2^256 - 1 base units)")
    if units == 0 and not allow_zero:
        fail(f"{what} must be more than zero")
    return units


def content_uri(path: Path) -> str:
    """A content address for a file: `sha256:` and the hex SHA-256 of its bytes (anyone holding
    a copy can check it; a local file:// path would name nothing anyone else can read)."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def parse_text(text: str, what: str, *, limit: int = MAX_TEXT, allow_empty: bool = False) -> str:
    """A string bound for the chain: stripped, not empty (unless allowed) and at most `limit` characters."""
    value = text.strip()
    if not value and not allow_empty:
        fail(f"{what} must not be empty")
    if len(value) > limit:
        fail(f"{what} is {len(value):,} characters long; at most {limit} are accepted")
    return value


def format_amount(units: int, decimals: int) -> str:
    """Base units as a decimal amount with thousands separators, exactly (two decimals at least)."""
    whole, frac = divmod(units, 10**decimals)
    digits = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    if len(digits) <= 2:
        digits = digits.ljust(min(decimals, 2), "0")
    return f"{whole:,}.{digits}" if digits else f"{whole:,}"


def token_symbol(token: Any) -> str:
    """An ERC-20's symbol for showing amounts ("" when the token has none, or it is not text)."""
    try:
        symbol = token.contract.functions.symbol().call()
    except Exception:
        return ""
    return symbol.strip()[:16] if isinstance(symbol, str) else ""


def with_symbol(units: int, decimals: int, symbol: str) -> str:
    """An amount in token units with the token's symbol, e.g. "1,500.00 tUSD"."""
    return f"{format_amount(units, decimals)} {symbol}".rstrip()


def iso_time(ts: int) -> str:
    """A unix time as an ISO 8601 date-time in UTC."""
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return f"unix {ts}"


def parse_time(text: str, what: str) -> int:
    """Unix seconds from an integer, an ISO date (midnight UTC) or an ISO date-time."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        return _bounded_time(int(stripped) if len(stripped) < 40 else 10**40, text, what)
    try:
        if len(stripped) == 10:
            moment = datetime.combine(date.fromisoformat(stripped), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(stripped)
    except ValueError:
        fail(f"{what} {text!r} is neither unix seconds nor an ISO date (YYYY-MM-DD) or date-time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    if seconds < 0:
        fail(f"{what} {text!r} is before 1970-01-01, which the contracts cannot represent")
    return seconds


def _bounded_time(value: int, text: str, what: str) -> int:
    if value <= MAX_TIME:
        return value
    if value // 1000 <= MAX_TIME:
        fail(f"{what} {text!r} looks like milliseconds ({iso_time(value // 1000)} in seconds); give unix seconds")
    fail(f"{what} {text!r} is after the year 9999; give unix seconds or YYYY-MM-DD")


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


def command_chain(w3: Web3, signer: LocalAccount, send: SendOptions | None = None) -> CommandChain:
    """A signing Chain whose failures for want of gas money are one line naming the account."""
    return CommandChain(w3, signer, send)


@dataclass(frozen=True)
class Step:
    """One call a command means to send: what to call it in messages, and the encoded call."""

    label: str
    contract: Contract
    fn_name: str
    args: tuple[Any, ...] = ()

    def data(self) -> str:
        return str(self.contract.encode_abi(self.fn_name, args=list(self.args)))


def simulate(s: Session, steps: Sequence[Step], *, gas_for_all: bool = False) -> None:
    """Run `steps` in order, as the signer, in one simulated block (eth_simulateV1) and refuse with
    exit 2, naming the step, when any would revert: nothing is sent unless the whole sequence
    would succeed (an approval is never left behind by a call that then fails).

    With `gas_for_all`, also refuse when the signer's ether would not pay for the gas of every
    step (the simulation's gas, a tenth more, at the fee cap the sender will offer), so that the
    first steps are not sent when the last cannot be.

    A node without eth_simulateV1 gets each step by eth_call alone; a step after an approval may
    then lack the allowance, which is not taken for a refusal."""
    sender = s.signer.address
    calls = [{"from": sender, "to": step.contract.address, "data": step.data()} for step in steps]
    payload = {"blockStateCalls": [{"calls": calls}], "validation": False}
    response = s.w3.provider.make_request(RPCEndpoint("eth_simulateV1"), [payload, "latest"])
    error = response.get("error")
    if error is None:
        results = response["result"][0]["calls"]
        for step, result in zip(steps, results, strict=True):
            if int(result["status"], 16) != 1:
                _refuse_step(step, result.get("returnData"), result.get("error", {}).get("message", ""))
        if gas_for_all and s.send.safe_json is None:
            _require_gas_money(s, steps, sum(int(r["gasUsed"], 16) for r in results))
        return
    if not _unsupported(error):
        fail(f"the node could not simulate {steps[-1].label} before sending: {error.get('message', error)}")
    approved = False
    for step, call in zip(steps, calls, strict=True):
        try:
            s.w3.eth.call(call)  # type: ignore[arg-type]
        except Exception as exc:
            decoded = decode_revert(_revert_bytes(exc))
            if approved and decoded is not None and decoded.error_name == "ERC20InsufficientAllowance":
                continue
            _refuse_step(step, _revert_bytes(exc), str(exc))
        approved = approved or step.fn_name == "approve"


def _require_gas_money(s: Session, steps: Sequence[Step], gas: int) -> None:
    latest = s.w3.eth.get_block("latest")
    # web3 offers maxFeePerGas = tip + 2 * base fee; the node wants that much per gas unit at hand.
    fee_cap = int(s.w3.eth.max_priority_fee) + 2 * int(latest.get("baseFeePerGas", 0))
    need = gas * fee_cap * 11 // 10
    balance = int(s.w3.eth.get_balance(s.signer.address))
    if balance < need:
        fail(
            f"nothing was sent: {s.signer.address} holds {Web3.from_wei(balance, 'ether')} ETH, but "
            f"{' and '.join(step.label for step in steps)} need about {Web3.from_wei(need, 'ether')} ETH "
            "of gas; fund it and retry"
        )


def _unsupported(error: Any) -> bool:
    text = str(error.get("message", "")).lower() if isinstance(error, dict) else str(error).lower()
    code = error.get("code") if isinstance(error, dict) else None
    return code == -32601 or "not supported" in text or "not found" in text or "does not exist" in text


def _revert_bytes(exc: Exception) -> Any:
    data = getattr(exc, "data", None)
    return data.get("data") if isinstance(data, dict) else data


def _refuse_step(step: Step, data: Any, message: str) -> NoReturn:
    from patentpool.explain import explain_revert

    decoded = decode_revert(data) if data else None
    why = explain_revert(decoded) if decoded is not None else (message or "it would revert without a reason")
    fail(f"nothing was sent: {step.label} would be refused by the contract: {why}")


@dataclass
class Session:
    """A connected node, the deployment manifest and (when a command writes) the signer."""

    url: str
    deployment_path: Path | None
    deployments_dir: Path | None
    private_key: str | None = None
    keystore: Path | None = None
    send: SendOptions = field(default_factory=SendOptions)
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
    def signer(self) -> CommandChain:
        """The chain that writes: signing with the resolved key, or (--dry-run, --safe-json) a
        planning chain that signs nothing, as --from or the key's account."""
        fees = (
            parse_amount(self.send.max_fee_per_gas, 9, "--max-fee-per-gas", allow_zero=False)
            if self.send.max_fee_per_gas is not None
            else None,
            parse_amount(self.send.max_priority_fee_per_gas, 9, "--max-priority-fee-per-gas")
            if self.send.max_priority_fee_per_gas is not None
            else None,
        )
        if fees[0] is not None and fees[1] is not None and fees[1] > fees[0]:
            fail("--max-priority-fee-per-gas is above --max-fee-per-gas: the tip cannot exceed the fee cap")
        if self.send.sender is not None and not self.send.planning:
            fail("--from is for --dry-run and --safe-json: a transaction that is sent comes from the signer's key")
        if self.send.safe_json is not None and self.send.sender is None:
            fail("--safe-json needs --from SAFE: the address of the Safe that holds the role and will send the calls")
        if self.send.planning and self.send.sender is not None:
            return CommandChain(self.w3, None, self.send, parse_address(self.send.sender, "--from"), fees)
        return CommandChain(
            self.w3, resolve_cli_signer(self.chain_id, self.private_key, self.keystore), self.send, None, fees
        )

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
    """A session without the shared-option object (commands use `opts.session()`)."""
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
