"""The `patentpool` command: composes the chain side (`registry`) and, later, the mirror side.

Every expected failure (bad input, unreachable node, wrong chain, bad key, missing artifacts, a
contract revert) ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from web3 import Web3

from registry.errors import ContractRevert, RegistryError

app = typer.Typer(
    name="patentpool",
    help="A blockchain-backed patent-pool licensing registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
licence_app = typer.Typer(help="Unified licences and licence checks.", no_args_is_help=True)
app.add_typer(licence_app, name="licence")

out = Console()
err = Console(stderr=True)

EXIT_ERROR = 2

RpcOption = Annotated[
    str | None,
    typer.Option("--rpc", help="JSON-RPC URL of the node [env PATENTPOOL_RPC_URL, default http://127.0.0.1:8545]."),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--private-key",
        help="Hex private key of the signer [env PATENTPOOL_PRIVATE_KEY]. Prefer the environment or a keystore.",
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
        help="Folder of deployment manifests [env PATENTPOOL_DEPLOYMENTS_DIR, default deployments].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def fail(message: str) -> NoReturn:
    """Print one error line and exit 2."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_ERROR)


def _explain(exc: ContractRevert) -> str:
    from patentpool.explain import explain_revert

    return explain_revert(exc)


def _rpc(rpc: str | None) -> str:
    from registry.settings import get_settings

    return rpc or get_settings().rpc_url


def _deployments_dir(directory: Path | None) -> Path:
    from registry.settings import get_settings

    return directory or get_settings().deployments_dir


def _signer(chain_id: int, private_key: str | None, keystore: Path | None) -> Any:
    from registry.keys import resolve_signer
    from registry.settings import get_settings

    settings = get_settings()
    password = settings.keystore_password.get_secret_value() if settings.keystore_password else None
    key = private_key or (settings.private_key.get_secret_value() if settings.private_key else None)
    prompt = (lambda text: typer.prompt(text, hide_input=True)) if sys.stdin.isatty() else None
    return resolve_signer(chain_id, key, keystore or settings.keystore, password, prompt)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@app.command()
def compile(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only compare a fresh compile with the committed artifacts; exit 1 when they differ."
        ),
    ] = False,
    contracts_dir: Annotated[
        Path | None,
        typer.Option(
            "--contracts-dir", help="Compile the Solidity sources of this folder instead of the project's contracts/."
        ),
    ] = None,
) -> None:
    """Compile contracts/ into registry/artifacts/ (py-solc-x; native solc or the npm solc)."""
    from registry.compile import CONTRACTS_DIR, check_artifacts, compile_contracts, write_artifacts

    source_dir = contracts_dir or CONTRACTS_DIR
    if not source_dir.is_dir():
        fail(f"no contracts folder at {source_dir}")
    result = compile_contracts(source_dir)
    if check:
        stale = check_artifacts(result)
        if stale:
            err.print(
                f"[bold red]stale artifacts:[/] {', '.join(stale)} differ from a fresh compile "
                f"({result.compiler}); run `patentpool compile` and commit registry/artifacts/",
                highlight=False,
            )
            raise typer.Exit(1)
        out.print(f"artifacts match a fresh compile ({result.compiler})", highlight=False)
        return
    for path in write_artifacts(result):
        out.print(f"wrote {path}", highlight=False)
    out.print(f"compiled with {result.compiler}", highlight=False)


@app.command()
def node(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8545,
    chain_id: Annotated[int, typer.Option("--chain-id", help="Chain id.")] = 31337,
    block_time: Annotated[
        float | None, typer.Option("--block-time", help="Seconds per block (default: mine on every transaction).")
    ] = None,
) -> None:
    """Run a local anvil node in the foreground until Ctrl-C."""
    from registry.node import ANVIL_DEV_KEYS, start_anvil

    anvil = start_anvil(port=port, chain_id=chain_id, block_time=block_time)
    out.print(f"anvil is listening on {anvil.url} (chain id {chain_id}); Ctrl-C stops it", highlight=False)
    out.print(f"development account 0 key: {ANVIL_DEV_KEYS[0]} (public, local chains only)", highlight=False)
    _wait_for_interrupt(anvil.process)
    anvil.stop()
    out.print("anvil stopped")


def _wait_for_interrupt(process: Any) -> None:
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while process.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass


@app.command()
def deploy(
    rpc: RpcOption = None,
    private_key: KeyOption = None,
    keystore: KeystoreOption = None,
    deployments_dir: DeploymentsOption = None,
    chain_id: Annotated[
        int | None, typer.Option("--chain-id", help="Refuse to deploy unless the node serves this chain.")
    ] = None,
    stablecoin: Annotated[
        bool | None,
        typer.Option("--stablecoin/--no-stablecoin", help="Deploy TestStablecoin (default: only on local chains)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy PatentAsset, the pool implementation, PoolFactory (and TestStablecoin locally)."""
    from registry.chain import Chain, connect
    from registry.deploy import deploy_suite, write_deployment

    url = _rpc(rpc)
    w3 = connect(url, expected_chain_id=chain_id)
    signer = _signer(int(w3.eth.chain_id), private_key, keystore)
    chain = Chain(w3, signer)
    deployment = deploy_suite(chain, with_stablecoin=stablecoin)
    path = write_deployment(deployment, _deployments_dir(deployments_dir))
    data = deployment.to_json() | {"manifest": str(path)}
    if as_json:
        _print_json(data)
        return
    table = Table(title=f"Deployed on chain {deployment.chain_id} by {deployment.deployer}")
    for column in ("contract", "address", "block", "tx"):
        table.add_column(column)
    for name, d in deployment.contracts.items():
        table.add_row(name, d.address, str(d.block_number), d.tx_hash)
    out.print(table)
    out.print(f"manifest written to {path}", highlight=False)


@app.command()
def status(
    rpc: RpcOption = None,
    deployments_dir: DeploymentsOption = None,
    deployment: Annotated[
        Path | None, typer.Option("--deployment", help="Manifest file (default: <deployments-dir>/<chainId>.json).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check that a deployment manifest matches the node: same chain, code at every address."""
    from registry.chain import connect
    from registry.deploy import load_deployment, manifest_path

    url = _rpc(rpc)
    w3 = connect(url)
    node_chain = int(w3.eth.chain_id)
    path = deployment or manifest_path(node_chain, _deployments_dir(deployments_dir))
    manifest = load_deployment(path, chain_id=node_chain)
    missing = [n for n, d in manifest.contracts.items() if len(w3.eth.get_code(d.address)) == 0]
    if missing:
        fail(
            f"the node at {url} has no code at the manifest's {', '.join(missing)}: "
            "was it restarted since the deployment?"
        )
    data = {
        "chainId": node_chain,
        "block": int(w3.eth.block_number),
        "manifest": str(path),
        "contracts": {n: d.address for n, d in manifest.contracts.items()},
    }
    if as_json:
        _print_json(data)
    else:
        out.print(
            f"chain {node_chain} at block {data['block']}: {len(manifest.contracts)} contracts of {path} are deployed",
            highlight=False,
        )


@app.command()
def demo(
    rpc: Annotated[str | None, typer.Option("--rpc", help="Use this local node instead of starting anvil.")] = None,
    port: Annotated[int, typer.Option(help="Port for the anvil the demo starts, on 127.0.0.1.")] = 8545,
    deployments_dir: DeploymentsOption = None,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="Keep the node running until Ctrl-C (default) or stop after seeding."),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Start anvil, deploy the suite and seed a demo pool; the node keeps running until Ctrl-C."""
    from registry.chain import Chain, connect
    from registry.deploy import deploy_suite, write_deployment
    from registry.keys import account_from_key
    from registry.node import ANVIL_DEV_KEYS, AnvilNode, start_anvil
    from registry.seed import seed_demo

    node: AnvilNode | None = None
    if rpc is None:
        node = start_anvil(port=port)
        url = node.url
    else:
        url = rpc
    try:
        w3 = connect(url)
        chain = Chain(w3, account_from_key(ANVIL_DEV_KEYS[0], int(w3.eth.chain_id)))
        status_line = err if as_json else out
        status_line.print(f"deploying to {url} (chain {chain.chain_id})", highlight=False)
        deployment = deploy_suite(chain, with_stablecoin=True)
        manifest = write_deployment(deployment, _deployments_dir(deployments_dir))
        with status_line.status("seeding the demo pool") as spinner:
            summary = seed_demo(w3, deployment, progress=lambda text: spinner.update(text))
        data = {"rpc": url, "manifest": str(manifest), **summary.to_json()}
        if as_json:
            _print_json(data)
        else:
            _print_demo(data)
        if node is not None and wait:
            out.print(f"anvil keeps running at {url}; Ctrl-C stops it", highlight=False)
            _wait_for_interrupt(node.process)
    finally:
        if node is not None:
            node.stop()


def _print_demo(data: dict[str, Any]) -> None:
    table = Table(title=f"Demo pool {data['poolName']} at {data['pool']}")
    table.add_column("what")
    table.add_column("detail")
    for family, asset_id in data["assets"].items():
        note = " (suspended by an upheld dispute)" if asset_id == data["suspendedAsset"] else ""
        table.add_row(f"asset {asset_id}", family + note)
    for family, reason in data["refused"].items():
        table.add_row("refused", f"{family}: {reason}")
    table.add_row("members", str(len(data["members"])))
    for label, who in data["licensees"].items():
        table.add_row(f"{label} licensee", who)
    out.print(table)
    asset = next(iter(data["assets"].values()))
    out.print(f"manifest: {data['manifest']}", highlight=False)
    out.print(
        f"try: patentpool licence verify --rpc {data['rpc']} --pool {data['pool']} "
        f"--licensee {data['members'][0]} --asset {asset}",
        highlight=False,
        soft_wrap=True,
    )


@licence_app.command("verify")
def licence_verify(
    pool: Annotated[str, typer.Option("--pool", help="Pool address.")],
    licensee: Annotated[str, typer.Option("--licensee", help="Licensee address.")],
    asset: Annotated[int, typer.Option("--asset", help="Asset (patent family token) id.", min=1)],
    at: Annotated[
        int | None, typer.Option("--at", help="Unix time to ask about (default: the latest block's time).", min=0)
    ] = None,
    rpc: RpcOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the pool contract whether an account is licensed for an asset. Exit 0 yes, 1 no, 2 error."""
    from registry.chain import Chain, connect
    from registry.client import PatentPoolClient
    from registry.keys import account_from_key
    from registry.node import ANVIL_DEV_KEYS

    pool_address = _address(pool, "--pool")
    licensee_address = _address(licensee, "--licensee")
    w3 = connect(_rpc(rpc))
    if len(w3.eth.get_code(Web3.to_checksum_address(pool_address))) == 0:
        fail(f"no contract at pool address {pool_address} on chain {w3.eth.chain_id}")
    # Reads need no key; a throw-away account stands in as the caller.
    chain = Chain(w3, account_from_key(ANVIL_DEV_KEYS[-1]))
    client = PatentPoolClient(chain, pool_address)
    block = w3.eth.get_block("latest")
    when = at if at is not None else int(block["timestamp"])
    licensed = client.is_licensed(licensee_address, asset, when, block=int(block["number"]))
    result = {
        "pool": pool_address,
        "licensee": licensee_address,
        "assetId": asset,
        "at": when,
        "licensed": licensed,
        "chainId": int(w3.eth.chain_id),
        "blockNumber": int(block["number"]),
        "blockHash": "0x" + bytes(block["hash"]).hex(),
    }
    if as_json:
        _print_json(result)
    else:
        verdict = "[green]LICENSED[/]" if licensed else "[red]NOT LICENSED[/]"
        out.print(
            f"{verdict}: {licensee_address} for asset {asset} at {when}, "
            f"read at block {result['blockNumber']} ({result['blockHash']})",
            highlight=False,
        )
    raise typer.Exit(0 if licensed else 1)


def _address(value: str, option: str) -> str:
    from web3 import Web3

    text = value.strip()
    if not Web3.is_address(text):
        fail(f"{option} {value!r} is not an Ethereum address (0x followed by 40 hex digits)")
    if text != text.lower() and text[2:] != text[2:].upper() and not Web3.is_checksum_address(text):
        fail(f"{option} {value!r} has a broken checksum (mixed case that does not match EIP-55); check for a typo")
    return str(Web3.to_checksum_address(text))


def main() -> None:
    """Entry point of the `patentpool` console script."""
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except ContractRevert as exc:
        err.print(f"[bold red]reverted:[/] {_explain(exc)}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except RegistryError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        # Usage errors of the click that typer bundles: they know how to show themselves.
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            sys.exit(EXIT_ERROR)
        raise


if __name__ == "__main__":
    main()
