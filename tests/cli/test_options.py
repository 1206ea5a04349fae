"""The command's options: declared once (patentpool/shared.py), every one with help, flags without
`<bool>`, environment variables named in help, and `--version`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from patentpool.cli import app


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_every_option_and_argument_of_every_command_has_help() -> None:
    missing = [
        f"{' '.join(path)} {param.name}"
        for path, command in COMMANDS
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert not missing, missing
    assert len(COMMANDS) > 40


def test_every_write_takes_the_same_sending_options() -> None:
    writes = [path for path, command in COMMANDS if any(p.name == "private_key" for p in command.params)]
    assert len(writes) > 25
    for path, command in COMMANDS:
        names = {p.name for p in command.params}
        if "private_key" in names:
            assert {
                "dry_run",
                "safe_json",
                "sender",
                "confirmations",
                "max_fee_per_gas",
                "nonce",
                "timeout",
            } <= names, path
            envvars = {p.name: p.envvar for p in command.params if getattr(p, "param_type_name", "") == "option"}
            assert envvars["rpc"] == "PATENTPOOL_RPC_URL", path
            assert envvars["private_key"] == "PATENTPOOL_PRIVATE_KEY", path
            assert envvars["keystore"] == "PATENTPOOL_KEYSTORE", path


def _help(*command: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "patentpool", *command, "--help"], capture_output=True, text=True, env=full, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_flags_show_no_value_type_in_help() -> None:
    text = _help("dispute", "resolve")
    assert "<bool>" not in text
    assert "--dry-run" in text and "--upheld" in text


def test_help_names_environment_variables_but_never_shows_a_key_from_them() -> None:
    key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    text = _help("pool", "pause", env={"PATENTPOOL_PRIVATE_KEY": key})
    for name in ("PATENTPOOL_RPC_URL", "PATENTPOOL_PRIVATE_KEY", "PATENTPOOL_KEYSTORE", "PATENTPOOL_DEPLOYMENTS_DIR"):
        assert name in text, name
    assert key not in text and key[2:] not in text


def test_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "patentpool", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("patentpool ")


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_a_one_line_summary(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    assert (command.help or "").strip(), path
