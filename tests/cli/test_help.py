"""`--help` shows every setting's environment variable (Rich once swallowed "[env ...]" as markup)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["index"], ["DATABASE_URL", "PATENTPOOL_RPC_URL", "PATENTPOOL_DEPLOYMENTS_DIR", "PATENTPOOL_FINALITY_DEPTH"]),
        (["pool", "create"], ["PATENTPOOL_RPC_URL", "PATENTPOOL_PRIVATE_KEY", "PATENTPOOL_KEYSTORE_PASSWORD"]),
    ],
)
def test_help_names_the_environment_variables(command: list[str], expected: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "patentpool", *command, "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for name in expected:
        assert name in done.stdout, (name, done.stdout)
