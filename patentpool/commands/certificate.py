"""`patentpool licence certify` and `patentpool licence check`: licence certificates (docs/certificates.md).

`certify` asks the node and writes the certificate (registry/certificate.py); `check` runs the
stand-alone checker, scripts/check_certificate.py, loaded from its file so that what a third
party runs and what this command runs are one program. Registered on the `licence` app."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from patentpool._common import (
    AssetOption,
    AtOption,
    BlockOption,
    JsonOption,
    LicenseeOption,
    PoolQueryOption,
    fail,
    out,
    parse_address,
    parse_time,
    print_json,
    settings_rpc,
)
from patentpool.shared import JSON, NODE, OPTS, Opts, shared

__all__ = ["CHECKER", "certify", "check", "load_checker"]

#: The stand-alone checker's file, beside the packages in the project folder.
CHECKER = Path(__file__).resolve().parents[2] / "scripts" / "check_certificate.py"
_MODULE = "patentpool_check_certificate"


def load_checker() -> ModuleType:
    """scripts/check_certificate.py as a module (once per process)."""
    loaded = sys.modules.get(_MODULE)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(_MODULE, CHECKER)
    if spec is None or spec.loader is None or not CHECKER.is_file():
        fail(f"the certificate checker is not installed here ({CHECKER} is missing)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        del sys.modules[_MODULE]
        fail(f"the certificate checker needs a package that is not installed: {exc}")
    return module


@shared(NODE, JSON)
def certify(
    pool: PoolQueryOption,
    licensee: LicenseeOption,
    asset: AssetOption,
    at: AtOption = None,
    block: BlockOption = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the certificate to this file (default: standard output).")
    ] = None,
    opts: Opts = OPTS,
) -> None:
    """Write a certificate proving the pool's isLicensed answer at one block, checkable offline by anyone."""
    from registry.certificate import make_certificate

    pool_address = parse_address(pool, "--pool")
    licensee_address = parse_address(licensee, "--licensee")
    when = parse_time(at, "--at") if at is not None else None
    s = opts.session()
    if len(s.w3.eth.get_code(pool_address)) == 0:
        fail(f"no contract at pool address {pool_address} on chain {s.chain_id}")
    made = make_certificate(s.w3, pool_address, licensee_address, asset, when, block)
    data = made.to_bytes()
    if output is None:
        sys.stdout.write(data.decode())
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    claim = made.document["claim"]
    if opts.as_json:
        block_info = made.document["block"]
        print_json(
            {
                "file": str(output),
                "bytes": len(data),
                "blockNumber": block_info["number"],
                "blockHash": block_info["hash"],
            }
            | {"claim": claim}
        )
        return
    state = "licensed" if claim["licensed"] else "NOT licensed"
    out.print(
        f"certificate written to {output} ({len(data)} bytes): {licensee_address} {state} for asset {asset} "
        f"({claim['reason']}) at block {made.check.block_number} ({made.check.block_hash}); check it with "
        f"`python scripts/check_certificate.py {output} --rpc URL` or `patentpool licence check {output}`",
        highlight=False,
        soft_wrap=True,
    )


def check(
    file: Annotated[Path, typer.Argument(help="The certificate (JSON).")],
    rpc: Annotated[
        list[str] | None,
        typer.Option(
            "--rpc",
            help="A node to read the block hash from (repeatable; all must agree). Default: the configured node "
            "(env PATENTPOOL_RPC_URL), unless --block-hash is given.",
        ),
    ] = None,
    block_hash: Annotated[
        str | None, typer.Option("--block-hash", help="The trusted hash of the block (0x...).")
    ] = None,
    chain_id: Annotated[int | None, typer.Option("--chain-id", help="The chain the block must be of.", min=1)] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a certificate against a trusted block hash, as scripts/check_certificate.py does.

    Exit 0 valid, 1 invalid, 2 unusable input."""
    checker = load_checker()
    urls = list(rpc or [])
    if not urls and block_hash is None:
        urls = [settings_rpc(None)]
    args: list[str] = [str(file), *(a for url in urls for a in ("--rpc", url))]
    if block_hash is not None:
        args += ["--block-hash", block_hash]
    if chain_id is not None:
        args += ["--chain-id", str(chain_id)]
    if as_json:
        args.append("--json")
    code: Any = checker.main(args)
    raise typer.Exit(int(code))
