"""Benchmark: making and checking licence certificates on the demo chain, and their size.

    .venv/bin/python benchmarks/certificate.py [--scale 1.0] [--repeat 5]

Starts anvil on a free port, deploys the suite, seeds the demo at the given scale, then for each
pool certifies a member, a unified licensee, a revoked licensee, a stranger and (where there is
one) a suspended asset. For each certificate: the time to make it (registry/certificate.py
against the node, median of --repeat), the time to check it in process (the checker's `check`
with a given block hash, median of --repeat, imports excluded), its size in bytes and the number
of accounts and slots it proves. Once: the stand-alone script run as a process (`python
scripts/check_certificate.py FILE --block-hash H`), which adds interpreter start and py-evm's
import. One JSON document on stdout, progress on stderr. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from registry.certificate import make_certificate
from registry.chain import Chain
from registry.demo import seed_demo
from registry.deploy import deploy_suite
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, start_anvil

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_certificate.py"
STRANGER = "0x000000000000000000000000000000000000dEaD"


def load_checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_certificate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    checker = load_checker()
    node = start_anvil()
    try:
        w3 = node.web3()
        deployment = deploy_suite(Chain(w3, account_from_key(ANVIL_DEV_KEYS[0])))
        print(f"seeding the demo at scale {args.scale}", file=sys.stderr)
        demo = seed_demo(w3, deployment, scale=args.scale, data_dir=Path(tempfile.mkdtemp()))
        rows: list[dict[str, Any]] = []
        last: tuple[bytes, str] | None = None
        for pool in demo.pools:
            if not pool.asset_sample:
                continue
            asset = pool.asset_sample[0]
            cases = [
                ("member", pool.member_sample[:1], asset),
                ("unified licensee", pool.unified_licensees[:1], asset),
                ("revoked licensee", pool.revoked_licensees[:1], asset),
                ("stranger", [STRANGER], asset),
                ("suspended asset", pool.member_sample[:1], pool.suspended_assets[0] if pool.suspended_assets else 0),
            ]
            for label, who, asset_id in cases:
                if not who or not asset_id:
                    continue
                made_times, check_times = [], []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    made = make_certificate(w3, pool.address, who[0], asset_id)
                    made_times.append(time.perf_counter() - started)
                document = made.document
                trusted = bytes(w3.eth.get_block(document["block"]["number"])["hash"])
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    verdict = checker.check(document, block_hash=trusted)
                    check_times.append(time.perf_counter() - started)
                assert verdict.valid, verdict.sentence
                data = made.to_bytes()
                last = (data, "0x" + trusted.hex())
                rows.append({
                    "pool": pool.key, "case": label, "licensed": document["claim"]["licensed"],
                    "reason": document["claim"]["reason"], "bytes": len(data),
                    "accounts": len(document["accounts"]),
                    "slots": sum(len(a["storage"]) for a in document["accounts"]),
                    "trieNodes": len(document["trieNodes"]),
                    "makeMs": round(statistics.median(made_times) * 1000, 1),
                    "checkMs": round(statistics.median(check_times) * 1000, 1),
                })  # fmt: skip
                print(json.dumps(rows[-1]), file=sys.stderr)
        process_seconds = None
        if last is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "certificate.json"
                path.write_bytes(last[0])
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, str(SCRIPT), str(path), "--block-hash", last[1]], capture_output=True, check=False
                )
                process_seconds = round(time.perf_counter() - started, 2)
                assert done.returncode == 0, done.stdout + done.stderr
        print(json.dumps({
            "scale": args.scale, "blocks": int(w3.eth.block_number), "repeat": args.repeat,
            "certificates": rows,
            "maxBytes": max(r["bytes"] for r in rows), "maxCheckMs": max(r["checkMs"] for r in rows),
            "maxMakeMs": max(r["makeMs"] for r in rows), "scriptProcessSeconds": process_seconds,
            "python": platform.python_version(),
        }, indent=1))  # fmt: skip
    finally:
        node.stop()


if __name__ == "__main__":
    main()
