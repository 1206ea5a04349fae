"""Local chains: an anvil process from the npm package, or the in-process eth-tester chain."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from web3 import Web3

from registry.errors import NodeError

__all__ = [
    "ANVIL_CHAIN_ID",
    "ANVIL_DEV_KEYS",
    "ETH_TESTER_CHAIN_ID",
    "LOCAL_CHAIN_IDS",
    "AnvilNode",
    "anvil",
    "find_anvil",
    "free_port",
    "in_process_web3",
    "start_anvil",
]

ANVIL_CHAIN_ID = 31337
#: The chain id py-evm's eth-tester chain reports (fixed by eth-tester).
ETH_TESTER_CHAIN_ID = 131277322940537
#: Chain ids of local development chains: anvil 31337, ganache-style 1337 and eth-tester.
LOCAL_CHAIN_IDS = frozenset({ANVIL_CHAIN_ID, 1337, ETH_TESTER_CHAIN_ID})

#: anvil's well-known development keys (mnemonic "test test ... junk"). Public knowledge, so they
#: are accepted only on LOCAL_CHAIN_IDS.
ANVIL_DEV_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def find_anvil() -> Path:
    """The anvil binary: the npm package's in the project, else `anvil` on PATH."""
    base = _PROJECT_ROOT / "node_modules" / "@foundry-rs"
    for candidate in sorted(base.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise NodeError(
        "anvil is not installed: run `npm ci` in the project folder (it installs the npm package @foundry-rs/anvil)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AnvilNode:
    """A running anvil process bound to 127.0.0.1; stop it with `stop()` or use it as a context."""

    process: subprocess.Popen[bytes]
    port: int
    chain_id: int
    log_path: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 60}))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL after `timeout`); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_anvil(
    port: int | None = None,
    chain_id: int = ANVIL_CHAIN_ID,
    block_time: float | None = None,
    accounts: int = 10,
    balance_eth: int = 10_000,
    extra_args: list[str] | None = None,
    log_path: Path | None = None,
    startup_timeout: float = 30.0,
) -> AnvilNode:
    """Start anvil on 127.0.0.1 and wait until it answers JSON-RPC."""
    binary = find_anvil()
    port = port or free_port()
    args = [
        str(binary),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--accounts", str(accounts),
        "--balance", str(balance_eth),
        "--silent",
    ]  # fmt: skip
    if block_time:
        args += ["--block-time", str(block_time)]
    args += extra_args or []
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise NodeError(f"could not start anvil ({binary}): {exc}") from None
    finally:
        if log_path:
            out.close()  # type: ignore[union-attr]
    node = AnvilNode(process, port, chain_id, log_path)
    deadline = time.monotonic() + startup_timeout
    w3 = node.web3()
    while True:
        if process.poll() is not None:
            raise NodeError(f"anvil exited with code {process.returncode} on port {port}")
        with contextlib.suppress(Exception):
            if w3.eth.chain_id == chain_id:
                return node
        if time.monotonic() > deadline:
            node.stop()
            raise NodeError(f"anvil did not answer on port {port} within {startup_timeout:.0f} s")
        time.sleep(0.05)


def in_process_web3() -> Web3:
    """A Web3 on a fresh in-process eth-tester (py-evm) chain with funded accounts.

    The pure-pip fallback: no node process at all. Its accounts are unlocked test accounts
    (`w3.eth.accounts`); their keys are eth-tester's well-known ones.
    """
    try:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3.providers.eth_tester import EthereumTesterProvider
    except ImportError:
        raise NodeError("the in-process chain needs eth-tester: pip install 'patentpool[tester]'") from None
    backend = PyEVMBackend()
    return Web3(EthereumTesterProvider(EthereumTester(backend)))


@contextlib.contextmanager
def anvil(**kwargs: object) -> Iterator[AnvilNode]:
    """Context manager: start anvil, yield it, stop it."""
    node = start_anvil(**kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()
