"""Static analysis gate: Slither over contracts/ must report no High or Medium finding.

Compiles through registry/solcjs-wrapper.mjs (the npm solc behind a `solc` command line), so no
native solc is needed. A finding that is a false positive or accepted by design is silenced in the
contract with `// slither-disable-next-line <detector> -- <reason>` directly above the line.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("slither", reason="slither-analyzer is not installed (pip install -e '.[dev]')")

ROOT = Path(__file__).resolve().parents[2]
GATED_IMPACTS = ("High", "Medium")
TIMEOUT_S = 300


def _slither_command() -> list[str]:
    exe = Path(sys.executable).with_name("slither")
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-m", "slither"]


def _detector_titles() -> dict[str, str]:
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector

    detectors: list[Any] = [
        cls for cls in vars(all_detectors).values() if inspect.isclass(cls) and issubclass(cls, AbstractDetector)
    ]
    return {cls.ARGUMENT: cls.WIKI_TITLE for cls in detectors if cls.ARGUMENT}


def _location(result: dict[str, Any]) -> str:
    # A statement ("node") pins the finding more precisely than its enclosing function.
    elements = sorted(result.get("elements", []), key=lambda e: e.get("type") != "node")
    for elem in elements:
        mapping = elem.get("source_mapping") or {}
        lines = mapping.get("lines") or []
        if mapping.get("filename_relative") and lines:
            return f"{mapping['filename_relative']}:{lines[0]}"
    return str(result.get("first_markdown_element", "?"))


def _describe(result: dict[str, Any], titles: dict[str, str]) -> str:
    check = result.get("check", "?")
    summary = (result.get("description") or "").strip().splitlines()[:1]
    return f"- [{result.get('impact')}] {titles.get(check, check)} ({check}) at {_location(result)}" + (
        f": {summary[0]}" if summary else ""
    )


def test_slither_reports_no_high_or_medium_findings(tmp_path: Path) -> None:
    report = tmp_path / "slither.json"  # must not exist beforehand: Slither refuses to overwrite
    cmd = [
        *_slither_command(),
        "contracts/",
        "--solc",
        str(ROOT / "registry" / "solcjs-wrapper.mjs"),
        "--solc-standard-json",
        "--solc-remaps",
        "@openzeppelin/=node_modules/@openzeppelin/",
        "--exclude-dependencies",
        "--filter-paths",
        "node_modules",
        "--json",
        str(report),
    ]
    # Slither exits non-zero whenever it reports anything (Low findings included); the JSON report
    # is what decides.
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert report.is_file(), (
        f"Slither wrote no report (exit {proc.returncode}).\n"
        f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    )
    data = json.loads(report.read_text())
    assert data.get("success"), f"Slither failed: {data.get('error')}\n{proc.stderr[-4000:]}"

    titles = _detector_titles()
    findings = [r for r in data.get("results", {}).get("detectors", []) if r.get("impact") in GATED_IMPACTS]
    listing = "\n".join(_describe(r, titles) for r in findings)
    if findings:
        pytest.fail(f"Slither reported {len(findings)} High/Medium finding(s):\n{listing}", pytrace=False)
