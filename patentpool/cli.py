"""The `patentpool` command: composes the chain side (`registry`) and, later, the mirror side.

Every expected failure (bad input, unreachable node, wrong chain, bad key, missing artifacts, a
contract revert) ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from typer.core import TyperOption
from web3.exceptions import MismatchedABI, Web3ValidationError

from patentpool._common import (
    EXIT_ERROR,
    DeploymentsOption,
    JsonOption,
    err,
    fail,
    out,
    print_json,
    settings_deployments_dir,
    settings_rpc,
)
from patentpool.commands import asset, dispute, index, licence, lists, member, operate, pool, revenue, serve, token
from patentpool.shared import DEPLOYMENT, JSON, NODE, OPTS, SIGNER, WRITE, Opts, shared
from registry.errors import ContractRevert, RegistryError
from registry.settings import redact_url

app = typer.Typer(
    name="patentpool",
    help="A blockchain-backed patent-pool licensing registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """No `<bool>` beside a flag in help: a flag takes no value."""
    return None if self.is_flag else _display_type(self, ctx)


_display_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def package_version() -> str:
    """The installed distribution's version (the source tree's pyproject when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("patentpool")
    except PackageNotFoundError:
        return "unknown"


def _version(value: bool) -> None:
    if value:
        out.print(f"patentpool {package_version()}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """A blockchain-backed patent-pool licensing registry."""


for _command in ("pause", "unpause", "set_treasury", "transfer_admin", "accept_admin"):
    pool.app.command(_command.replace("_", "-"))(getattr(operate, _command))
pool.app.command("announce-withdrawal")(operate.announce_withdrawal)
pool.app.command("complete-withdrawal")(operate.complete_withdrawal)
licence.app.command("cancel")(operate.cancel_offer)
asset.app.command("update-dossier")(operate.update_dossier)
asset.app.command("reject-patent")(operate.reject_patent)
app.add_typer(operate.role_app, name="role")
for _command in ("members", "assets", "offers", "licences", "disputes"):
    pool.app.command(_command)(getattr(lists, _command))
revenue.app.command("statement")(lists.statement)
app.add_typer(pool.app, name="pool")
app.add_typer(asset.app, name="asset")
app.add_typer(member.app, name="member")
app.add_typer(licence.app, name="licence")
app.add_typer(revenue.app, name="revenue")
app.add_typer(dispute.app, name="dispute")
app.add_typer(token.app, name="token")
app.command("index")(index.index)
app.command("serve")(serve.serve)


def _explain(exc: ContractRevert) -> str:
    from patentpool.explain import explain_revert

    return explain_revert(exc)


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
@shared(NODE, SIGNER, WRITE, JSON)
def deploy(
    deployments_dir: DeploymentsOption = None,
    chain_id: Annotated[
        int | None, typer.Option("--chain-id", help="Refuse to deploy unless the node serves this chain.")
    ] = None,
    stablecoin: Annotated[
        bool | None,
        typer.Option("--stablecoin/--no-stablecoin", help="Deploy TestStablecoin (default: only on local chains)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing deployments/<chainId>.json; the old one is kept as <chainId>.<UTC time>.json.",
        ),
    ] = False,
    opts: Opts = OPTS,
) -> None:
    """Deploy PatentAsset, the pool implementation, PoolFactory (and TestStablecoin locally)."""
    from registry.chain import connect
    from registry.deploy import deploy_suite, manifest_path, write_deployment

    url = settings_rpc(opts.rpc)
    w3 = connect(url, expected_chain_id=chain_id)
    node_chain = int(w3.eth.chain_id)
    directory = settings_deployments_dir(deployments_dir)
    existing = manifest_path(node_chain, directory)
    # A second suite would orphan the first one's pools: the manifest is the only record of them.
    if existing.exists() and not force and not opts.send.planning:
        fail(
            f"{existing} already records a deployment on chain {node_chain}; replacing it would lose its pools. "
            "Pass --force to deploy anew (the old manifest is kept beside it), or use --deployments-dir"
        )
    opts.rpc = url
    chain = opts.session().signer
    deployment = deploy_suite(chain, with_stablecoin=stablecoin)
    if opts.send.planning:
        return  # the plan is printed by @shared; no manifest is written
    kept = None
    if existing.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = existing.with_name(f"{node_chain}.{stamp}.json")
        n = 1
        while kept.exists():  # two forced deploys within a second keep both old manifests
            kept, n = existing.with_name(f"{node_chain}.{stamp}-{n}.json"), n + 1
        existing.replace(kept)
    path = write_deployment(deployment, directory)
    data = deployment.to_json() | {"manifest": str(path)} | ({"previousManifest": str(kept)} if kept else {})
    if opts.as_json:
        print_json(data)
        return
    # 80 columns hold the name, the whole address and the block; the transactions are in the manifest.
    table = Table(title=f"Deployed on chain {deployment.chain_id}", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    table.add_column("contract", no_wrap=True)
    table.add_column("address", no_wrap=True, min_width=42)
    table.add_column("block", justify="right", no_wrap=True)
    for name, d in deployment.contracts.items():
        table.add_row(name, d.address, str(d.block_number))
    out.print(table)
    out.print(f"deployer: {deployment.deployer}", highlight=False)
    out.print(f"manifest written to {path} (with each deployment's transaction)", highlight=False, soft_wrap=True)
    if kept is not None:
        out.print(f"the previous manifest was kept as {kept}", highlight=False)


@app.command()
@shared(NODE, DEPLOYMENT, JSON)
def status(opts: Opts = OPTS) -> None:
    """Check that a deployment manifest matches the node: same chain, code at every address."""
    from registry.chain import connect
    from registry.deploy import load_deployment, manifest_path

    url = settings_rpc(opts.rpc)
    w3 = connect(url)
    node_chain = int(w3.eth.chain_id)
    path = opts.deployment or manifest_path(node_chain, settings_deployments_dir(opts.deployments_dir))
    manifest = load_deployment(path, chain_id=node_chain)
    missing = [n for n, d in manifest.contracts.items() if len(w3.eth.get_code(d.address)) == 0]
    if missing:
        fail(
            f"the node at {redact_url(url)} has no code at the manifest's {', '.join(missing)}: "
            "was it restarted since the deployment?"
        )
    data = {
        "chainId": node_chain,
        "block": int(w3.eth.block_number),
        "manifest": str(path),
        "contracts": {n: d.address for n, d in manifest.contracts.items()},
    }
    if opts.as_json:
        print_json(data)
    else:
        out.print(
            f"chain {node_chain} at block {data['block']}: {len(manifest.contracts)} contracts of {path} are deployed",
            highlight=False,
        )


@app.command()
def demo(
    small: Annotated[bool, typer.Option("--small", help="Seed a tenth of the deck's scale, for a quick look.")] = False,
    rpc: Annotated[str | None, typer.Option("--rpc", help="Use this local anvil instead of starting one.")] = None,
    port: Annotated[int, typer.Option(help="Port for the anvil the demo starts, on 127.0.0.1.")] = 8545,
    deployments_dir: DeploymentsOption = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where the demo's dossier files go.")] = Path(
        ".patentpool/demo"
    ),
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Keep the node, the indexer and the API running until Ctrl-C (default) or stop after seeding.",
        ),
    ] = True,
    api_port: Annotated[
        int, typer.Option("--api-port", help="Port of the API and pages on 127.0.0.1 while waiting.", min=1, max=65535)
    ] = 8000,
    as_json: JsonOption = False,
) -> None:
    """Start anvil, deploy, seed the seed deck's six pools (see registry/demo.py), index them and serve the API."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from registry.chain import Chain, connect
    from registry.demo import seed_demo
    from registry.deploy import deploy_suite, write_deployment
    from registry.keys import account_from_key
    from registry.node import ANVIL_DEV_KEYS, AnvilNode, start_anvil

    node: AnvilNode | None = None
    if rpc is None:
        node = start_anvil(port=port)
        url = node.url
    else:
        url = rpc
    try:
        w3 = connect(url)
        chain = Chain(w3, account_from_key(ANVIL_DEV_KEYS[0], int(w3.eth.chain_id)))
        console = err if as_json else out
        console.print(f"deploying to {redact_url(url)} (chain {chain.chain_id})", highlight=False)
        deployment = deploy_suite(chain, with_stablecoin=True)
        manifest = write_deployment(deployment, settings_deployments_dir(deployments_dir))
        columns = (TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            tasks: dict[str, Any] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done)

            result = seed_demo(w3, deployment, scale=0.1 if small else 1.0, data_dir=data_dir, progress=progress)
        data = {"rpc": url, "manifest": str(manifest), **result.to_json()}
        console.print("indexing the demo into SQL", highlight=False)
        database_url = _demo_database(data_dir)
        data["index"] = _index_demo(url, manifest, database_url, follow=False, quiet=as_json)
        if as_json:
            print_json(data)
        else:
            _print_demo(data)
        if node is not None and wait:
            api = _serve_demo(url, manifest, database_url, api_port, Path(result.dossier_dir))
            out.print(f"the API and pages are at http://127.0.0.1:{api_port} (JSON under /v1, docs at /docs)")
            out.print(
                f"anvil keeps running at {url} and the indexer follows it; Ctrl-C stops all three", highlight=False
            )
            try:
                _index_demo(url, manifest, database_url, follow=True, quiet=False)
            finally:
                api.should_exit = True
    finally:
        if node is not None:
            node.stop()


def _serve_demo(url: str, manifest: Path, database_url: str, port: int, dossier_dir: Path) -> Any:
    """The API over the demo's mirror and its dossier files, served by uvicorn in a thread; returns the server."""
    import threading

    import uvicorn

    from api.main import create_app
    from api.settings import ApiSettings

    settings = ApiSettings(database_url=database_url, rpc_url=url, deployment=manifest, dossier_dir=dossier_dir)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            fail(f"the API could not start on 127.0.0.1:{port} (is the port taken? pick another with --api-port)")
        time.sleep(0.05)
    return server


def _demo_database(data_dir: Path) -> str:
    """The demo's mirror: DATABASE_URL's where one is set, else a fresh SQLite file beside its dossiers
    (each demo deploys a new suite, so its mirror starts afresh)."""
    from indexer.settings import get_settings

    settings = get_settings()
    if "database_url" in settings.model_fields_set:
        return settings.database_url
    database = data_dir / "patentpool.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{database}"


def _index_demo(url: str, manifest: Path, database_url: str, follow: bool, quiet: bool) -> dict[str, Any]:
    """Mirror the demo into `database_url`: to the head, or following it until Ctrl-C."""
    from patentpool.commands.index import run_index

    return run_index(url, manifest, follow=follow, quiet=quiet, database_url=database_url)


def _print_demo(data: dict[str, Any]) -> None:
    # Two tables that each fit 80 columns: the counts, then every pool's whole address.
    table = Table(
        title=f"Seeded {data['transactions']:,} transactions in {data['seconds']} s",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 0),
    )
    table.add_column("pool", overflow="fold")
    table.add_column("lifecycle", no_wrap=True)
    for column in ("members", "assets", "refused", "licences", "suspended"):
        table.add_column(column, justify="right", no_wrap=True)
    for p in data["pools"]:
        counts = (p["members"], p["assets"], len(p["refused"]), p["licences"], len(p["suspendedAssets"]))
        table.add_row(p["name"], p["lifecycle"], *(f"{n:,}" for n in counts))
    out.print(table)
    addresses = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    addresses.add_column("pool", overflow="fold")
    addresses.add_column("address", no_wrap=True, min_width=42)
    for p in data["pools"]:
        addresses.add_row(p["name"], p["address"])
    out.print(addresses)
    out.print(f"manifest: {data['manifest']}; dossiers: {data['dossierDir']}", highlight=False)
    index = data["index"]
    out.print(
        f"SQL mirror: {index['database']} ({index['totalEvents']:,} events to block {index['checkpoint']['block']})",
        highlight=False,
    )
    pool = next(p for p in data["pools"] if p["memberSample"] and p["revokedLicensees"] and p["suspendedAssets"])
    asset = pool["assetSample"][0]
    base = f"patentpool licence verify --rpc {data['rpc']} --pool {pool['address']}"
    out.print(f"Try it on the {pool['name']} pool (exit code 0 licensed, 1 not):", highlight=False)
    for label, who, asset_id in (
        ("a member", pool["memberSample"][0], asset),
        ("a unified licensee", pool["unifiedLicensees"][0], asset),
        ("a revoked licensee", pool["revokedLicensees"][0], asset),
        ("a non-member", pool["founders"][0], asset),
        ("a suspended asset", pool["memberSample"][0], pool["suspendedAssets"][0]),
    ):
        out.print(f"  {label}: {base} --licensee {who} --asset {asset_id}", highlight=False, soft_wrap=True)


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
        err.print(f"[bold red]error:[/] the contract refused: {_explain(exc)}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except RegistryError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except (MismatchedABI, Web3ValidationError) as exc:
        # A value the command did not bound reached the ABI encoder: say which, in one line.
        reason = next((line.strip() for line in str(exc).splitlines() if "is not compatible" in line), None)
        err.print(
            f"[bold red]error:[/] a value does not fit the contract's argument types: {reason or type(exc).__name__}",
            highlight=False,
            soft_wrap=True,
        )
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
