"""`patentpool serve`: the public read-only API (and pages) under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from patentpool._common import DeploymentOption, RpcOption, fail, out, settings_rpc
from registry.settings import redact_url

__all__ = ["serve"]


def serve(
    rpc: RpcOption = None,
    deployment: DeploymentOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.", min=1, max=64)] = 1,
    dossier_dir: Annotated[
        Path | None,
        typer.Option(
            "--dossier-dir",
            envvar="PATENTPOOL_DOSSIER_DIR",
            help="A folder of dossier files: an asset's scorecard and dossier are served from the file whose "
            "hash is the chain's.",
            file_okay=False,
            exists=True,
        ),
    ] = None,
) -> None:
    """Serve the public API at http://HOST:PORT/v1 over DATABASE_URL's mirror (no key, no write route)."""
    import uvicorn

    from api.settings import ApiSettings, get_settings

    url = settings_rpc(rpc)
    try:
        overrides: dict[str, object] = {"rpc_url": url}
        if deployment is not None:
            overrides["deployment"] = deployment
        if dossier_dir is not None:
            overrides["dossier_dir"] = dossier_dir
        settings = get_settings().model_copy(update=overrides)
        ApiSettings.model_validate(settings.model_dump())
    except ValueError as exc:
        fail(f"invalid API settings: {exc}")
    _check_free(host, port)
    out.print(
        f"serving the API at http://{host}:{port}/v1 (docs at /docs) over the chain at {redact_url(url)}; "
        "Ctrl-C stops it",
        highlight=False,
        soft_wrap=True,
    )
    if workers == 1:
        from api.main import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", proxy_headers=False)
        return
    # Worker processes build their own app from the environment: hand them the options there.
    os.environ["PATENTPOOL_RPC_URL"] = url
    if deployment is not None:
        os.environ["PATENTPOOL_DEPLOYMENT"] = str(deployment)
    if dossier_dir is not None:
        os.environ["PATENTPOOL_DOSSIER_DIR"] = str(dossier_dir)
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
    )


def _check_free(host: str, port: int) -> None:
    """A clear error, before uvicorn starts, when the address cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}: {exc.strerror}")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"{host}:{port} is taken or not allowed ({exc.strerror}); pick another with --port")
