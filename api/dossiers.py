"""Dossier files the API may show, found by content: the file whose dossier hash is the chain's.

`PATENTPOOL_DOSSIER_DIR` names one folder of dossier files (docs/dossier.md). The API never
fetches a `dossierURI` and never opens a path the chain names: it indexes the folder's `*.json`
files once, on first use, by their dossier hash (keccak-256 of the canonical JSON), and answers
for an asset only with the file whose hash equals the asset's on-chain `dossierHash`. Files that
are not valid dossiers, too large, symbolic links or beyond the file-count bound are skipped.
A file found is read again and re-hashed on every use, so a file changed after indexing is never
shown as the registered one. Files added after the first use are seen after a restart.

`scorecard()` recomputes the stability report (registry/stability.py) from the dossier and says
whether it is the report whose hash and score the chain recorded.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from registry.demo import DEMO_AS_OF
from registry.dossier import Dossier, DossierError, canonical_json, parse_dossier
from registry.stability import (
    AMENDED_BPS,
    CITATIONS_CAP_BPS,
    CITATIONS_PER_DOUBLING_BPS,
    MAINTAINED_BPS,
    OFFICE_WEIGHTS_BPS,
    OFFICES_CAP_BPS,
    OTHER_OFFICE_WEIGHT_BPS,
    PATENT_BPS,
    PATENTS_CAP_BPS,
    PENDING_CHALLENGE_BPS,
    PENDING_CHALLENGES_FLOOR_BPS,
    REVOKED_BPS,
    REVOKED_FLOOR_BPS,
    SURVIVED_CAP_BPS,
    TERM_CAP_BPS,
    TERM_CAP_DAYS,
    StabilityReport,
    evaluate,
    report_hash,
)

__all__ = [
    "AS_OF_RULES",
    "FACTOR_RULES",
    "DossierFolder",
    "FoundDossier",
    "Recomputed",
    "describe",
    "dossier_folder",
    "recompute",
]

log = logging.getLogger(__name__)

_OFFICES = ", ".join(f"{office} {bps}" for office, bps in OFFICE_WEIGHTS_BPS.items())

#: Per factor of scorecard-1.0: its bound (the cap of a credit, the floor of a penalty) and its rule.
FACTOR_RULES: dict[str, tuple[int, str]] = {
    "grantedOffices": (
        OFFICES_CAP_BPS,
        f"per office with a grant in force: {_OFFICES}, other {OTHER_OFFICE_WEIGHT_BPS}",
    ),
    "familyBreadth": (PATENTS_CAP_BPS, f"{PATENT_BPS} per patent listed"),
    "remainingTerm": (TERM_CAP_BPS, f"{TERM_CAP_BPS} * days / {TERM_CAP_DAYS}, rounded down (full from 15 years)"),
    "forwardCitations": (CITATIONS_CAP_BPS, f"{CITATIONS_PER_DOUBLING_BPS} per doubling: floor(log2(1 + citations))"),
    "survivedOppositions": (SURVIVED_CAP_BPS, f"{MAINTAINED_BPS} per maintained, {AMENDED_BPS} per amended"),
    "pendingInvalidations": (PENDING_CHALLENGES_FLOOR_BPS, f"{PENDING_CHALLENGE_BPS} per pending challenge"),
    "revokedPatents": (REVOKED_FLOOR_BPS, f"{REVOKED_BPS} per revoked patent"),
}

#: The evaluation dates tried, in order: the evaluator's (`patentpool asset evaluate` scores as of
#: the UTC day it records, unless told `--as-of`), then the demo's fixed date (registry/demo.py).
#: The report hash commits to its date, so a match on either proves the recorded report.
AS_OF_RULES = ("evaluation-date", "demo-date")


@dataclass(frozen=True)
class FoundDossier:
    """A dossier file whose hash was just recomputed: its bytes as written, parsed and validated."""

    path: Path
    raw: bytes
    document: dict[str, Any]
    dossier: Dossier
    digest: bytes

    @property
    def hash_hex(self) -> str:
        return "0x" + self.digest.hex()


class _NotDossier(ValueError):
    pass


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # As registry.dossier reads files: a repeated key is refused, not silently overwritten.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _NotDossier(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _NotDossier(f"{name} is not JSON")


def _read(path: Path, max_bytes: int) -> FoundDossier:
    """The file at `path` as a dossier (_NotDossier or DossierError when it is not one)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _NotDossier(f"cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _NotDossier(f"larger than {max_bytes} bytes")
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_strict_object, parse_constant=_no_constant)
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise _NotDossier(f"not strict UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict):
        raise _NotDossier("not a JSON object")
    dossier = parse_dossier(document, source=path.name)
    return FoundDossier(path, raw, document, dossier, bytes(keccak(canonical_json(document))))


class DossierFolder:
    """A folder of dossier files indexed by dossier hash, built once on first use (thread-safe)."""

    def __init__(self, folder: Path, max_files: int, max_bytes: int) -> None:
        self.folder = folder
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.skipped = 0
        self._lock = threading.Lock()
        self._index: dict[str, Path] | None = None

    def index(self) -> dict[str, Path]:
        """Dossier hash (0x-hex, lower case) -> file; the first file by name wins a repeated hash."""
        with self._lock:
            if self._index is None:
                self._index = self._build()
            return self._index

    def _build(self) -> dict[str, Path]:
        index: dict[str, Path] = {}
        try:
            entries = sorted((e for e in os.scandir(self.folder) if e.name.endswith(".json")), key=lambda e: e.name)
        except OSError as exc:
            log.warning("dossier folder %s cannot be read (%s): no scorecard will be shown", self.folder, exc)
            return index
        if len(entries) > self.max_files:
            log.warning(
                "dossier folder %s holds %d .json files; only the first %d by name are indexed",
                self.folder,
                len(entries),
                self.max_files,
            )
            self.skipped += len(entries) - self.max_files
            entries = entries[: self.max_files]
        for entry in entries:
            try:
                if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                    raise _NotDossier("not a regular file")
                if entry.stat(follow_symlinks=False).st_size > self.max_bytes:
                    raise _NotDossier(f"larger than {self.max_bytes} bytes")
                found = _read(Path(entry.path), self.max_bytes)
            except (_NotDossier, DossierError, OSError) as exc:
                self.skipped += 1
                log.info("dossier folder: skipped %s: %s", entry.name, exc)
                continue
            index.setdefault(found.hash_hex, found.path)
        log.info("dossier folder %s: %d dossiers indexed, %d files skipped", self.folder, len(index), self.skipped)
        return index

    def find(self, dossier_hash: str) -> FoundDossier | None:
        """The dossier whose hash is `dossier_hash` (0x-hex), read and re-hashed now; None if none is."""
        path = self.index().get(dossier_hash.lower())
        if path is None:
            return None
        try:
            found = _read(path, self.max_bytes)
        except (_NotDossier, DossierError, OSError):
            return None
        # Changed since it was indexed: it is no longer the registered document.
        return found if found.hash_hex == dossier_hash.lower() else None


_FOLDERS: dict[tuple[Path, int, int], DossierFolder] = {}
_FOLDERS_LOCK = threading.Lock()


def dossier_folder(folder: Path | None, max_files: int, max_bytes: int) -> DossierFolder | None:
    """The process's index of `folder` (one per folder and bounds); None when no folder is set."""
    if folder is None:
        return None
    key = (folder.resolve(), max_files, max_bytes)
    with _FOLDERS_LOCK:
        if key not in _FOLDERS:
            _FOLDERS[key] = DossierFolder(key[0], max_files, max_bytes)
        return _FOLDERS[key]


@dataclass(frozen=True)
class Recomputed:
    """The report recomputed from a dossier and how it compares with the chain's latest evaluation."""

    report: StabilityReport
    report_hash: bytes
    as_of_rule: str
    mismatches: tuple[str, ...]


def recompute(
    dossier: Dossier, evaluated_at: int, recorded_score: int, recorded_hash: str, recorded_model: str
) -> Recomputed:
    """The report as of the first rule's date that gives the recorded report hash and score.

    When no date does, the report that differs from the recorded evaluation in the fewest fields
    (the first rule's on a tie), with `mismatches` naming them: `modelVersion`, `scoreBps`,
    `reportHash` (empty: verified).
    """
    evaluation_day = datetime.fromtimestamp(evaluated_at, UTC).date()
    days: dict[str, date] = {"evaluation-date": evaluation_day, "demo-date": DEMO_AS_OF}
    tried: list[Recomputed] = []
    for rule in AS_OF_RULES:
        report = evaluate(dossier, days[rule])
        digest = report_hash(report)
        mismatches = tuple(
            name
            for name, differs in (
                ("modelVersion", report.modelVersion != recorded_model),
                ("scoreBps", report.scoreBps != recorded_score),
                ("reportHash", "0x" + digest.hex() != recorded_hash.lower()),
            )
            if differs
        )
        tried.append(Recomputed(report, digest, rule, mismatches))
        if not mismatches:
            break
    return min(tried, key=lambda r: len(r.mismatches))


def describe(mismatches: tuple[str, ...], model_version: str, recorded_model: str) -> str:
    """The verdict in words."""
    if not mismatches:
        return "verified: the report recomputed from this dossier has the score and the report hash the chain recorded"
    parts = []
    if "modelVersion" in mismatches:
        parts.append(f"the chain's evaluation was made with {recorded_model!r}, this API recomputes {model_version!r}")
    if "scoreBps" in mismatches:
        parts.append("the recomputed score differs from the recorded score")
    if "reportHash" in mismatches:
        parts.append(
            "the recomputed report hash differs from the recorded one (another dossier, evaluation date or model "
            "was scored), so these factors are not proven to be the recorded ones"
        )
    return "NOT verified: " + "; ".join(parts)
