"""The README's Python walk-through runs as written (against the test session's anvil)."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from registry.deploy import Deployment, write_deployment
from registry.node import AnvilNode

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs(
    anvil: AnvilNode, deployment: Deployment, snapshot: None, tmp_path: Path
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no Python example"
    code = "\n".join(re.sub(r"^ {3}", "", line) for line in blocks[0].splitlines())
    write_deployment(deployment, tmp_path / "deployments")
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        namespace: dict[str, object] = {}
        exec(compile(code.replace("http://127.0.0.1:8545", anvil.url), "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    pool = namespace["pool"]
    assert pool.profile()["lifecycle"] == 1  # type: ignore[attr-defined]
    assert pool.tier_fee(0) == 500 * 10**6  # type: ignore[attr-defined]


def test_the_readme_names_the_two_commands_the_makefile_has() -> None:
    text = README.read_text()
    makefile = (README.parent / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in text
        assert re.search(rf"^{target}:", makefile, re.M)
    assert "make test" in (README.parent / ".ci" / "run").read_text()


def test_the_readme_command_line_walk_through_runs_word_for_word(
    anvil: AnvilNode, snapshot: None, tmp_path: Path
) -> None:
    """The walk-through's shell blocks, run by bash -e against the test anvil (the README starts
    its own node with `patentpool node &`; here the session's anvil stands in for it)."""
    import subprocess
    import sys

    text = README.read_text()
    walk = text[text.index("## Operator walk-through") : text.index("### A pool from a file")]
    blocks = re.findall(r"```sh\n(.*?)```", walk, re.S)
    assert len(blocks) == 5
    script = "\n".join(line for b in blocks for line in b.splitlines() if not line.startswith("patentpool node"))
    # The API's port: a free one instead of 8000, which a running demo may hold.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("--port 8000", f"--port {port}")
    (tmp_path / "examples").symlink_to(README.parent / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTPOOL_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        PATENTPOOL_RPC_URL=anvil.url,
        PATENTPOOL_DEPLOYMENTS_DIR=str(tmp_path / "deployments"),
    )
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    assert "LICENSED" in result.stdout
    assert "not licensed any more" in result.stdout
    assert "MATCH" in result.stdout
    # The API part: the pool as JSON, the chain's verdict with its reason, the members as CSV.
    assert '"lifecycle": "active"' in result.stdout
    assert '"licensed": false' in result.stdout
    assert "asset_suspended" in result.stdout
    assert "member,tier" in result.stdout.replace('"', "")
    # The certificate: VALID as made, INVALID once changed.
    assert "VALID" in result.stdout
    assert "a changed certificate is INVALID" in result.stdout
    # Running the pool to its close: lists from the mirror, a dry run, a Safe batch, roles, closure.
    assert "dry run, nothing was sent" in result.stdout
    assert "for the Safe 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in " ".join(result.stdout.split())
    assert (tmp_path / "sme-fee.json").is_file()
    assert "granted ARBITER_ROLE to" in result.stdout
    assert "suspended" in result.stdout
    assert "claimable" in result.stdout
    assert "is now closed" in result.stdout
