"""`patentpool index`: mirror a deployment's events into SQL (DATABASE_URL, default a SQLite file)."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from patentpool._common import DeploymentOption, DeploymentsOption, JsonOption, RpcOption, err, fail, out, print_json

if TYPE_CHECKING:
    from indexer.sync import Indexer

__all__ = ["ProgressStart", "index", "progress_start", "run_index"]


class _Stop:
    """Ctrl-C (or SIGTERM) asks the loop to stop at the next batch boundary; a second Ctrl-C aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        err.print("stopping after the current batch (Ctrl-C again to abort it)", highlight=False)

    def __enter__(self) -> _Stop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def index(
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    deployments_dir: DeploymentsOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep following the head after catching up (until Ctrl-C).")
    ] = False,
    from_block: Annotated[
        int | None,
        typer.Option("--from-block", help="First block to read (default: the manifest's first deployment block)."),
    ] = None,
    finality_depth: Annotated[
        int | None,
        typer.Option(
            "--finality-depth",
            help="Stay this many blocks behind the head (env PATENTPOOL_FINALITY_DEPTH; default 0 on local "
            "chains, 64 elsewhere).",
        ),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild the current-state tables from the raw events first.")
    ] = False,
    poll_interval: Annotated[
        float | None, typer.Option("--poll-interval", help="Seconds between head polls when following.")
    ] = None,
    log_range: Annotated[
        int | None,
        typer.Option(
            "--log-range",
            help="Blocks per eth_getLogs call at first; it doubles while answers are small (env "
            "PATENTPOOL_LOG_RANGE; default 100, or --max-log-range if lower).",
        ),
    ] = None,
    max_log_range: Annotated[
        int | None,
        typer.Option(
            "--max-log-range",
            help="The most blocks per eth_getLogs call, e.g. your provider's cap (env PATENTPOOL_MAX_LOG_RANGE; "
            "default 50000).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Index the deployment's events into the database (env DATABASE_URL, default sqlite:///patentpool.db)."""
    summary = run_index(
        rpc,
        deployment,
        deployments_dir,
        follow,
        from_block,
        finality_depth,
        rebuild,
        poll_interval,
        quiet=as_json,
        log_range=log_range,
        max_log_range=max_log_range,
    )
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"indexed chain {summary['chainId']} to block {summary['checkpoint']['block']} "
            f"({summary['totalEvents']} events, digest {summary['digest']}) in {summary['database']}",
            highlight=False,
            soft_wrap=True,
        )


def run_index(
    rpc: str | None,
    deployment: Any,
    deployments_dir: Any = None,
    follow: bool = False,
    from_block: int | None = None,
    finality_depth: int | None = None,
    rebuild: bool = False,
    poll_interval: float | None = None,
    quiet: bool = False,
    log_range: int | None = None,
    max_log_range: int | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Index to the head (or follow it until Ctrl-C) and return the summary; `quiet` hides progress.

    The indexer starts through `indexer.startup.start`. Settings are the environment's
    (DATABASE_URL, PATENTPOOL_*), each argument given here over its own: `database_url`,
    `finality_depth`, `poll_interval`, and `log_range` and `max_log_range` (blocks per eth_getLogs
    call: the first, and the most adaptive growth reaches).
    """
    from indexer.db import DATABASE_FAILURES, reason, redacted
    from indexer.errors import IndexerError
    from indexer.settings import get_settings
    from indexer.startup import start
    from patentpool._common import settings_deployments_dir, settings_rpc
    from registry.chain import connect
    from registry.deploy import load_deployment, manifest_path
    from registry.settings import redact_url

    try:
        settings = get_settings().resolve(
            database_url=database_url,
            finality_depth=finality_depth,
            poll_interval=poll_interval,
            log_range=log_range,
            max_log_range=max_log_range,
        )
    except IndexerError as exc:
        fail(str(exc))
    url = settings_rpc(rpc)
    chain_id = int(connect(url).eth.chain_id)
    path = deployment or manifest_path(chain_id, settings_deployments_dir(deployments_dir))
    manifest = load_deployment(path, chain_id=chain_id)
    try:
        with start(url, manifest, settings, from_block) as indexer:
            try:
                summary = _run(indexer, follow, rebuild, settings.poll_interval, quiet)
            except DATABASE_FAILURES as exc:  # the server went away, the disk filled
                fail(
                    f"the database {redacted(indexer.engine.url)} failed while indexing: {reason(exc)}; every batch "
                    "committed before that is kept: run the command again to go on"
                )
    except IndexerError as exc:
        fail(str(exc))
    return {"rpc": redact_url(url), "deployment": str(path), **summary}


@dataclass(frozen=True)
class ProgressStart:
    """The progress bar before the first batch: the last indexed block and the block to reach."""

    completed: int
    target: int


def progress_start(indexer: Indexer) -> ProgressStart:
    """Where the progress bar starts: the checkpoint, and the target block (the head minus the
    finality depth, never below the checkpoint), read from the node once, so the bar has its total
    before the first batch is written."""
    checkpoint = max(indexer.checkpoint[0], 0)
    target = max(indexer.rpc.block_number() - indexer.finality_depth, checkpoint)
    return ProgressStart(checkpoint, target)


def _rebuild(indexer: Indexer, quiet: bool) -> int:
    """`--rebuild`: the projections replayed from the raw events, with a progress bar (one
    transaction; on a long history this takes minutes)."""
    progress = Progress(
        TextColumn("[bold]rebuilding projections[/]"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} events"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task("rebuild", total=0)
        return indexer.rebuild_projections(lambda done, total: progress.update(task, completed=done, total=total))


def _run(indexer: Indexer, follow: bool, rebuild: bool, poll_interval: float, as_json: bool) -> dict[str, Any]:
    from sqlmodel import SQLModel

    from indexer.db import redacted
    from indexer.sync import StepResult, table_counts

    engine, manifest, depth = indexer.engine, indexer.deployment, indexer.finality_depth
    indexer.prepare()
    unmirrored = indexer.pools_before_start()
    if unmirrored and not as_json:
        err.print(
            f"note: {len(unmirrored)} pool(s) were created before block {indexer.start_block}, where this database "
            "starts, and are not mirrored (a pool is found by its PoolCreated event); index into a fresh database "
            "without --from-block to mirror them",
            highlight=False,
        )
    started = time.monotonic()
    rebuilt = _rebuild(indexer, as_json) if rebuild else None
    totals = {"batches": 0, "events": 0, "blocks": 0, "reorgs": 0, "rolledBack": 0, "retries": 0}
    progress = Progress(
        TextColumn("[bold]indexing[/]"),
        BarColumn(),
        TextColumn("block {task.completed:.0f}/{task.fields[target]}"),
        TextColumn("{task.fields[bps]:.0f} blocks/s · {task.fields[eps]:.0f} events/s"),
        TimeElapsedColumn(),
        console=err,
        disable=as_json,
        transient=False,
    )
    if as_json:  # nothing is drawn: spare the node the call
        task = progress.add_task("index", total=None, completed=0, target="?", bps=0.0, eps=0.0)
    else:
        begin = progress_start(indexer)
        task = progress.add_task(
            "index", total=begin.target, completed=begin.completed, target=begin.target, bps=0.0, eps=0.0
        )
    live = {"catching_up": True}

    def on_step(result: StepResult) -> None:
        if result.kind == "batch":
            totals["batches"] += 1
            totals["events"] += result.events
            totals["blocks"] += result.last - result.first + 1
        elif result.kind == "reorg":
            totals["reorgs"] += 1
            totals["rolledBack"] += result.rolled_back
            if not as_json:
                err.print(f"reorg: {result.detail} ({result.rolled_back} events removed)", highlight=False)
        elif result.kind == "retry":
            totals["retries"] += 1
        elapsed = max(time.monotonic() - started, 1e-6)
        if live["catching_up"]:
            progress.update(
                task,
                total=max(result.target, result.last),
                completed=result.last,
                target=max(result.target, result.last),
                bps=totals["blocks"] / elapsed,
                eps=totals["events"] / elapsed,
            )
            if result.kind == "idle" and follow:
                live["catching_up"] = False
                progress.stop()
                if not as_json:
                    err.print(f"caught up at block {result.last}; following the head", highlight=False)
        elif result.kind == "batch" and not as_json:
            err.print(
                f"blocks {result.first}-{result.last}: {result.events} events, digest {result.digest[:18]}…",
                highlight=False,
            )

    def on_outage(exc: Exception, wait: float) -> None:
        err.print(
            f"{exc}; still following: trying again in {wait:.0f} s (Ctrl-C stops)", highlight=False, soft_wrap=True
        )

    rebuilding = {"said": 0.0}

    def on_rebuild(done: int, total: int) -> None:
        """A reorg deeper than the undo log: one line at the start, then every 2 s and at the end."""
        if as_json:
            return
        now = time.monotonic()
        if done == 0:
            err.print(
                f"reorg deeper than the undo log: rebuilding every projection from {total} raw events…",
                highlight=False,
            )
        elif done == total or now - rebuilding["said"] >= 2:
            err.print(f"rebuilding projections: {done}/{total} events", highlight=False)
        else:
            return
        rebuilding["said"] = now

    with _Stop() as stop:
        progress.start()
        try:
            indexer.run(
                follow=follow,
                should_stop=stop,
                on_step=on_step,
                poll_interval=poll_interval,
                on_outage=on_outage,
                on_rebuild=on_rebuild,
            )
        finally:
            progress.stop()
    number, block_hash, digest = indexer.checkpoint
    with engine.connect() as conn:
        counts = table_counts(conn, SQLModel.metadata.sorted_tables)
    return {
        "chainId": manifest.chain_id,
        "database": redacted(engine.url),
        "startBlock": indexer.start_block,
        "poolsBeforeStart": unmirrored,
        "finalityDepth": depth,
        "checkpoint": {"block": number, "hash": block_hash},
        "digest": digest,
        "indexedEvents": totals["events"],
        "totalEvents": counts.get("event", 0),
        "batches": totals["batches"],
        "reorgs": totals["reorgs"],
        "rolledBackEvents": totals["rolledBack"],
        "retries": totals["retries"],
        "rebuiltEvents": rebuilt,
        "seconds": round(time.monotonic() - started, 3),
        "tables": {k: v for k, v in counts.items() if k not in ("indexer_lock",)},
    }
