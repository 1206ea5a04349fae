"""The options every command shares, declared once: the node, the deployment, the signer, `--json`
and the sending controls of writes (`--dry-run`, `--safe-json`, fees, confirmations, timeout, nonce).

A command asks for them with `@shared(...)` and one parameter named `opts`: the decorator adds the
options to the command's signature (so Typer shows and parses them) and hands the command one
`Opts` object. Environment variables are declared on the options themselves (`envvar=`), so help
and behaviour cannot drift apart.

    @app.command("pause")
    @shared(NODE, DEPLOYMENT, SIGNER, WRITE, JSON)
    def pause(pool: PoolArg, opts: Opts) -> None:
        s = opts.session()
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

__all__ = ["DEPLOYMENT", "JSON", "NODE", "OPTS", "SIGNER", "WRITE", "Opts", "shared"]

NODE = "node"
DEPLOYMENT = "deployment"
SIGNER = "signer"
JSON = "json"
WRITE = "write"

_PANEL_NODE = "Node, deployment and signer"
_PANEL_WRITE = "Sending (writes only)"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SendOptions:
    """The sending controls of a write command (the WRITE group's options)."""

    dry_run: bool = False
    safe_json: Path | None = None
    sender: str | None = None
    confirmations: int = 1
    max_fee_per_gas: str | None = None
    max_priority_fee_per_gas: str | None = None
    timeout: float = 120.0
    nonce: int | None = None

    @property
    def planning(self) -> bool:
        """True when the command only plans its calls (`--dry-run` or `--safe-json`): nothing is signed."""
        return self.dry_run or self.safe_json is not None


#: The WRITE group's option names, which @shared gathers into `Opts.send`.
_SEND_FIELDS = frozenset(f.name for f in fields(SendOptions))


@dataclass
class Opts:
    """The shared options of one command run (unused groups keep their defaults)."""

    rpc: str | None = None
    deployment: Path | None = None
    deployments_dir: Path | None = None
    private_key: str | None = None
    keystore: Path | None = None
    as_json: bool = False
    send: SendOptions = field(default_factory=SendOptions)
    _extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def session(self) -> Any:
        """The command's node session (see patentpool._common.Session)."""
        from patentpool._common import Session, settings_rpc

        made = Session(
            settings_rpc(self.rpc),
            self.deployment,
            self.deployments_dir,
            self.private_key,
            self.keystore,
            send=self.send,
        )
        self._extra["session"] = made
        return made


#: The placeholder default of a command's `opts` parameter; @shared always passes a fresh Opts.
OPTS = Opts()


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


_GROUPS: dict[str, list[inspect.Parameter]] = {
    NODE: [
        _param(
            "rpc",
            Annotated[
                str | None,
                typer.Option(
                    "--rpc",
                    envvar="PATENTPOOL_RPC_URL",
                    help="JSON-RPC URL of the node (default http://127.0.0.1:8545).",
                    show_default=False,
                    rich_help_panel=_PANEL_NODE,
                ),
            ],
            None,
        ),
    ],
    DEPLOYMENT: [
        _param(
            "deployment",
            Annotated[
                Path | None,
                typer.Option(
                    "--deployment",
                    help="Deployment manifest (default: <deployments-dir>/<chainId>.json).",
                    show_default=False,
                    rich_help_panel=_PANEL_NODE,
                ),
            ],
            None,
        ),
        _param(
            "deployments_dir",
            Annotated[
                Path | None,
                typer.Option(
                    "--deployments-dir",
                    envvar="PATENTPOOL_DEPLOYMENTS_DIR",
                    help="Folder of deployment manifests (default: deployments).",
                    show_default=False,
                    rich_help_panel=_PANEL_NODE,
                ),
            ],
            None,
        ),
    ],
    SIGNER: [
        _param(
            "private_key",
            Annotated[
                str | None,
                typer.Option(
                    "--private-key",
                    envvar="PATENTPOOL_PRIVATE_KEY",
                    help="Hex private key of the signer; prefer the environment or a keystore. Never shown.",
                    show_default=False,
                    rich_help_panel=_PANEL_NODE,
                ),
            ],
            None,
        ),
        _param(
            "keystore",
            Annotated[
                Path | None,
                typer.Option(
                    "--keystore",
                    envvar="PATENTPOOL_KEYSTORE",
                    help="Encrypted JSON keystore of the signer; password from PATENTPOOL_KEYSTORE_PASSWORD "
                    "or a prompt.",
                    show_default=False,
                    rich_help_panel=_PANEL_NODE,
                ),
            ],
            None,
        ),
    ],
    WRITE: [
        _param(
            "dry_run",
            Annotated[
                bool,
                typer.Option(
                    "--dry-run",
                    help="Print the calls this would send, decoded, with gas estimates; send nothing.",
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            False,
        ),
        _param(
            "safe_json",
            Annotated[
                Path | None,
                typer.Option(
                    "--safe-json",
                    help="Write the calls as a Safe Transaction Builder batch to this file instead of signing "
                    "(with --from SAFE).",
                    show_default=False,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            None,
        ),
        _param(
            "sender",
            Annotated[
                str | None,
                typer.Option(
                    "--from",
                    help="With --dry-run or --safe-json: the account the calls come from (a Safe, say); "
                    "no key is needed.",
                    show_default=False,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            None,
        ),
        _param(
            "confirmations",
            Annotated[
                int,
                typer.Option(
                    "--confirmations",
                    envvar="PATENTPOOL_CONFIRMATIONS",
                    help="Blocks a transaction must be buried under (1: mined) before the next step.",
                    min=1,
                    max=1000,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            1,
        ),
        _param(
            "max_fee_per_gas",
            Annotated[
                str | None,
                typer.Option(
                    "--max-fee-per-gas",
                    envvar="PATENTPOOL_MAX_FEE_PER_GAS",
                    help="EIP-1559 fee cap in gwei, e.g. 30 (default: the node's suggestion).",
                    show_default=False,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            None,
        ),
        _param(
            "max_priority_fee_per_gas",
            Annotated[
                str | None,
                typer.Option(
                    "--max-priority-fee-per-gas",
                    envvar="PATENTPOOL_MAX_PRIORITY_FEE_PER_GAS",
                    help="EIP-1559 tip cap in gwei, e.g. 1.5 (default: the node's suggestion).",
                    show_default=False,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            None,
        ),
        _param(
            "timeout",
            Annotated[
                float,
                typer.Option(
                    "--timeout",
                    envvar="PATENTPOOL_TX_TIMEOUT",
                    help="Seconds to wait for each transaction to be mined and confirmed.",
                    min=1,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            120.0,
        ),
        _param(
            "nonce",
            Annotated[
                int | None,
                typer.Option(
                    "--nonce",
                    help="Nonce of the first transaction (default: the account's next); reuse a timed-out "
                    "transaction's nonce to replace it.",
                    min=0,
                    show_default=False,
                    rich_help_panel=_PANEL_WRITE,
                ),
            ],
            None,
        ),
    ],
    JSON: [
        _param(
            "as_json",
            Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")],
            False,
        ),
    ],
}


_CTX = "shared_context_"


def _from_environment(ctx: typer.Context | None, name: str) -> bool:
    if ctx is None:
        return False
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "ENVIRONMENT"


def _plan(func: Callable[..., Any], opts: Opts, args: Any, kwargs: dict[str, Any]) -> Any:
    """Run a write command in planning mode: its own output (which would name transactions that
    were never sent) is dropped; the planned calls are printed, or written as a Safe batch."""
    import contextlib
    import io
    import json

    from patentpool._common import err, fail, out, print_json
    from patentpool.sending import plan_json, print_plan, safe_batch

    if opts.send.dry_run and opts.send.safe_json is not None:
        fail("give --dry-run or --safe-json, not both (--safe-json already sends nothing)")
    with contextlib.redirect_stdout(io.StringIO()):
        result = func(*args, opts=opts, **kwargs)
    made = opts._extra.get("session")
    chain = made.__dict__.get("signer") if made is not None else None
    if chain is None:
        fail("this command would send nothing")
    if opts.send.safe_json is not None:
        name = (func.__doc__ or func.__name__).strip().splitlines()[0]
        batch = safe_batch(chain, name)
        try:
            opts.send.safe_json.write_text(json.dumps(batch, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {opts.send.safe_json}: {exc.strerror or exc}")
        summary = plan_json(chain) | {"safeJson": str(opts.send.safe_json)}
        if opts.as_json:
            print_json(summary)
        else:
            print_plan(chain, err)
            out.print(
                f"wrote {len(chain.plan)} call(s) for the Safe {chain.address} to {opts.send.safe_json} "
                "(Safe Transaction Builder batch); nothing was sent",
                highlight=False,
                soft_wrap=True,
            )
        return result
    if opts.as_json:
        print_json(plan_json(chain))
    else:
        print_plan(chain, out)
    return result


def shared(*groups: str) -> Callable[[F], F]:
    """Add the options of `groups` (NODE, DEPLOYMENT, SIGNER, WRITE, JSON) to a command that takes
    `opts: Opts`; they come after the command's own options, in their own help panels."""
    unknown = set(groups) - _GROUPS.keys()
    if unknown:
        raise ValueError(f"unknown option groups: {sorted(unknown)}")

    def decorate(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        own = [p for name, p in signature.parameters.items() if name != "opts"]
        if "opts" not in signature.parameters:
            raise TypeError(f"{func.__name__} must take an `opts` parameter to use @shared")
        added = [p for group in groups for p in _GROUPS[group]]
        names = [p.name for p in added]
        if SIGNER in groups:  # Typer passes the click context: where did the key and keystore come from?
            added.append(_param(_CTX, typer.Context, None))

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names if name in kwargs}
            ctx = kwargs.pop(_CTX, None)
            private_key, keystore = values.get("private_key"), values.get("keystore")
            # An explicit --keystore wins over PATENTPOOL_PRIVATE_KEY; an explicit --private-key wins
            # over PATENTPOOL_KEYSTORE; both given on the command line are refused (keys.resolve_signer).
            if private_key and keystore is not None:
                key_env, store_env = _from_environment(ctx, "private_key"), _from_environment(ctx, "keystore")
                if key_env and not store_env:
                    values["private_key"] = None
                elif store_env:
                    values["keystore"] = None
            send = SendOptions(**{name: values.pop(name) for name in _SEND_FIELDS if name in values})
            opts = Opts(**values, send=send)
            if not send.planning:
                return func(*args, opts=opts, **kwargs)
            return _plan(func, opts, args, kwargs)

        wrapper.__name__ = func.__name__
        wrapper.__qualname__ = func.__qualname__
        wrapper.__doc__ = func.__doc__
        wrapper.__module__ = func.__module__
        params = own + added
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": signature.return_annotation}
        return wrapper  # type: ignore[return-value]

    return decorate
