"""Benchmark: seeding the demo (the seed deck's six pools) on a fresh anvil.

    .venv/bin/python benchmarks/demo_seed.py [--scale 1.0] [--repeat 1]

Starts anvil on a free port, deploys the suite, seeds the demo at the given scale, and prints one
JSON line per run: transactions, seconds, transactions per second. Results go in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from registry.chain import Chain
from registry.demo import seed_demo
from registry.deploy import deploy_suite
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, start_anvil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for run in range(args.repeat):
        node = start_anvil()
        try:
            w3 = node.web3()
            deployment = deploy_suite(Chain(w3, account_from_key(ANVIL_DEV_KEYS[0])))
            started = time.perf_counter()
            result = seed_demo(w3, deployment, scale=args.scale, data_dir=Path(tempfile.mkdtemp()))
            seconds = time.perf_counter() - started
            print(json.dumps({
                "run": run + 1, "scale": args.scale, "transactions": result.transactions,
                "seconds": round(seconds, 1), "tx_per_s": round(result.transactions / seconds),
                "blocks": int(w3.eth.block_number), "python": platform.python_version(),
            }), flush=True)  # fmt: skip
        finally:
            node.stop()


if __name__ == "__main__":
    main()
