"""Patent-family dossiers: the schema, a strict loader, canonical JSON and the on-chain dossier hash.

`PatentAsset.registerFamily` stores `dossierHash`, the keccak-256 of the dossier's canonical JSON,
so that anyone holding the dossier can check it against the chain. The hash is taken over the
parsed JSON document exactly as the registrant wrote it (keys sorted, whitespace dropped), never
over a re-serialisation of the pydantic model: a model default added in a later release must not
change the hash of a dossier that is already on-chain. See docs/dossier.md.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from eth_utils.crypto import keccak
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from registry.errors import ConfigError
from registry.types import PatentStatus

__all__ = [
    "GRANTED_STATUSES",
    "Dossier",
    "DossierError",
    "DossierPatent",
    "DossierStatus",
    "Opposition",
    "OppositionKind",
    "OppositionOutcome",
    "canonical_json",
    "dossier_hash",
    "load_dossier",
    "parse_dossier",
]

DossierStatus: TypeAlias = Literal["pending", "granted", "lapsed", "revoked"]
OppositionKind: TypeAlias = Literal["opposition", "invalidation"]
OppositionOutcome: TypeAlias = Literal["pending", "maintained", "amended", "revoked"]

# The statuses a verifier can only attest with a grant date (PatentAsset.verifyPatent reverts
# with PatentAssetInvalidDates otherwise), so the dossier demands one too.
GRANTED_STATUSES: frozenset[str] = frozenset({"granted", "lapsed", "revoked"})

_CHAIN_STATUS = {
    "pending": PatentStatus.PENDING,
    "granted": PatentStatus.GRANTED,
    "lapsed": PatentStatus.LAPSED,
    "revoked": PatentStatus.REVOKED,
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A CPC symbol: section, class, subclass, optionally main group / subgroup ("G01S 17/931").
_CPC = re.compile(r"[A-HY]\d{2}[A-Z](?: ?\d{1,4}/\d{2,6})?")


class DossierError(ConfigError):
    """A dossier cannot be read, is not valid JSON, or breaks the schema; the message is one line."""

    def __init__(self, message: str, *, source: str, field: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.field = field


# --- field types -------------------------------------------------------------------------------


def _iso_date(value: object) -> object:
    # Only "YYYY-MM-DD" strings (or date objects from Python callers): pydantic's lax mode would
    # also take unix timestamps and datetimes, which read back differently from what was hashed.
    if value is None:
        return None
    if isinstance(value, datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    raise ValueError(f"expected an ISO date string YYYY-MM-DD, not {_show(value)}")


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _trimmed(value: str) -> str:
    # Identifiers are compared byte for byte on-chain, so stray spaces would make a second id.
    _nonblank(value)
    if value != value.strip():
        raise ValueError(f"must not start or end with whitespace: {value!r}")
    return value


def _office(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"an office is a two-letter upper-case code such as US or CN, not {value!r}")
    return value


def _cpc(value: str) -> str:
    if not _CPC.fullmatch(value):
        raise ValueError(f"{value!r} is not a CPC symbol such as 'G01S' or 'G01S 17/931'")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
OptionalIsoDate = Annotated[date | None, BeforeValidator(_iso_date)]
NonBlank = Annotated[str, AfterValidator(_nonblank)]
Trimmed = Annotated[str, AfterValidator(_trimmed)]
Office = Annotated[str, AfterValidator(_office)]
CpcSymbol = Annotated[str, AfterValidator(_cpc)]


# --- the schema --------------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Opposition(BaseModel):
    """A post-grant challenge to one patent: an opposition or an invalidation request."""

    model_config = _STRICT

    kind: OppositionKind
    outcome: OppositionOutcome
    filedOn: IsoDate


class DossierPatent(BaseModel):
    """One patent of the family: a publication in one office, its status, dates and challenges."""

    model_config = _STRICT

    office: Office
    publicationNumber: Trimmed
    status: DossierStatus
    # validate_default: the "a granted patent has a grant date" rule must run when it is omitted.
    grantDate: OptionalIsoDate = Field(default=None, validate_default=True)
    expiryDate: OptionalIsoDate = None
    # strict: a count is a JSON integer, never "3" or 3.0.
    forwardCitations: int = Field(default=0, ge=0, strict=True)
    oppositions: list[Opposition] = Field(default_factory=list)

    @field_validator("grantDate")
    @classmethod
    def _grant_date_fits_status(cls, value: date | None, info: ValidationInfo) -> date | None:
        status = info.data.get("status")
        if status in GRANTED_STATUSES and value is None:
            raise ValueError(f"a {status} patent needs its grantDate")
        if status == "pending" and value is not None:
            raise ValueError("a pending patent has no grantDate yet")
        return value

    @field_validator("expiryDate")
    @classmethod
    def _expiry_after_grant(cls, value: date | None, info: ValidationInfo) -> date | None:
        granted = info.data.get("grantDate")
        if value is not None and granted is not None and granted >= value:
            # Same rule as PatentAsset.verifyPatent: an expiry, when given, is after the grant.
            raise ValueError(f"grantDate {granted} must be before expiryDate {value}")
        return value

    @property
    def chain_status(self) -> PatentStatus:
        """The status as the contracts' PatentStatus enum (for verifyPatent)."""
        return _CHAIN_STATUS[self.status]


class Dossier(BaseModel):
    """The documentation of one patent family, whose hash is recorded on-chain at registration."""

    model_config = _STRICT

    familyId: Trimmed
    title: Trimmed
    abstract: NonBlank
    cpcClasses: list[CpcSymbol] = Field(min_length=1)
    priorityDate: IsoDate
    patents: list[DossierPatent] = Field(min_length=1)

    @field_validator("patents")
    @classmethod
    def _patents_are_distinct_and_after_priority(
        cls, patents: list[DossierPatent], info: ValidationInfo
    ) -> list[DossierPatent]:
        seen: dict[tuple[str, str], int] = {}
        for i, patent in enumerate(patents):
            key = (patent.office, patent.publicationNumber)
            if key in seen:
                # PatentAsset refuses to list an office + publication number twice.
                raise ValueError(
                    f"patents[{i}] repeats office {patent.office} publicationNumber "
                    f"{patent.publicationNumber} of patents[{seen[key]}]"
                )
            seen[key] = i
        priority = info.data.get("priorityDate")
        for i, patent in enumerate(patents):
            if priority is not None and patent.grantDate is not None and patent.grantDate < priority:
                raise ValueError(f"patents[{i}].grantDate {patent.grantDate} is before the priorityDate {priority}")
        return patents

    def document(self) -> dict[str, Any]:
        """The JSON document this dossier was built from: the fields that were given, none added.

        For a dossier read by `load_dossier` this is the parsed file again (every accepted value
        reads back unchanged, dates as the same ISO strings), so its hash is the file's hash.
        """
        return self.model_dump(mode="json", exclude_unset=True)

    def granted_in(self, offices: frozenset[str] | set[str] | tuple[str, ...]) -> int:
        """How many patents are granted in these offices (the pool's qualification count)."""
        return sum(1 for p in self.patents if p.status == "granted" and p.office in offices)


# --- canonical JSON and the hash ---------------------------------------------------------------


class _NotCanonical(Exception):
    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location or '(document)'}: {reason}")
        self.location = location
        self.reason = reason


def _normalise(value: object, location: str) -> object:
    # Walk the data once so every refusal can say where it is; json.dumps alone would write
    # floats (whose text differs between languages) and coerce non-string keys silently.
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _NotCanonical(location, "a string holds a lone surrogate escape, which has no UTF-8 form") from None
        return value
    if isinstance(value, float):
        raise _NotCanonical(location, "floats have no canonical form here; use integers")
    if isinstance(value, datetime):
        raise _NotCanonical(location, "a date and time has no canonical form here; use a date")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotCanonical(location, f"object keys are strings, not {type(key).__name__}")
            _normalise(key, location)
            out[key] = _normalise(item, _join(location, key))
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{location}[{i}]") for i, item in enumerate(value)]
    raise _NotCanonical(location, f"{type(value).__name__} is not a JSON value")


def canonical_json(data: Any) -> bytes:
    """The canonical JSON bytes of a JSON value: sorted keys, no whitespace, UTF-8, dates as ISO.

    Exactly `json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` encoded
    as UTF-8, after turning `date` objects into "YYYY-MM-DD". Floats, datetimes, non-string keys
    and lone surrogates are refused (ValueError): they have no single text form across languages.
    """
    try:
        normal = _normalise(data, "")
    except _NotCanonical as exc:
        raise ValueError(f"not canonical JSON: {exc}") from None
    return json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def dossier_hash(source: str | os.PathLike[str] | Mapping[str, Any] | Dossier) -> bytes:
    """The 32-byte `dossierHash` of a dossier: keccak-256 of the canonical JSON of its document.

    `source` is a path to a dossier file, its parsed JSON document, or a `Dossier` (whose
    `document()` is hashed). The document is validated first (DossierError when it is not a
    dossier) and then hashed as given: defaults the model would fill in are not added.
    """
    if isinstance(source, Dossier):
        document: Mapping[str, Any] = source.document()
    elif isinstance(source, Mapping):
        document = source
        parse_dossier(document)
    else:
        document = _read_document(Path(source))
        parse_dossier(document, source=str(source))
    return bytes(keccak(canonical_json(document)))


# --- loading -----------------------------------------------------------------------------------


def load_dossier(path: str | os.PathLike[str]) -> Dossier:
    """Reads and validates a dossier file; DossierError (one line, naming the field) when it is bad."""
    return parse_dossier(_read_document(Path(path)), source=str(path))


def parse_dossier(document: Mapping[str, Any], source: str = "dossier") -> Dossier:
    """Validates a parsed JSON document as a dossier; DossierError names the first bad field."""
    if not isinstance(document, Mapping):
        raise DossierError(f"{source}: a dossier is a JSON object, not {_show(document)}", source=source)
    try:
        dossier = Dossier.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        field = _location(first["loc"])
        message = f"{source}: {field or '(document)'}: {_message(first)}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise DossierError(message, source=source, field=field) from None
    try:
        _normalise(document, "")
    except _NotCanonical as exc:
        # Validated but unhashable (a lone surrogate in a string): refuse it here, not at hashing.
        raise DossierError(f"{source}: {exc}", source=source, field=exc.location) from None
    return dossier


def _read_document(path: Path) -> Any:
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DossierError(f"{source}: no such dossier file", source=source) from None
    except OSError as exc:
        raise DossierError(f"{source}: cannot read the dossier: {exc.strerror or exc}", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DossierError(f"{source}: not UTF-8 text (byte {exc.start})", source=source) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DossierError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", source=source
        ) from None
    except _BadJson as exc:
        raise DossierError(f"{source}: not valid JSON: {exc}", source=source, field=exc.field) from None
    except (ValueError, RecursionError) as exc:
        raise DossierError(f"{source}: not usable JSON: {_one_line(str(exc))}", source=source) from None


class _BadJson(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; a reader in another language may keep the
    # first, so the same bytes would mean two dossiers. Refuse them.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _BadJson(f"the key {json.dumps(key)} appears twice in one object", field=key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _BadJson(f"{name} is not JSON")


# --- messages ----------------------------------------------------------------------------------


def _join(location: str, key: str) -> str:
    shown = key if key.isidentifier() else json.dumps(key)
    return f"{location}.{shown}" if location else shown


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (the dossier schema has no such field; check its spelling)"
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind != "value_error":
        msg += f" (got {_show(error.get('input'))})"
    return _one_line(msg)


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, float | int | str | bool) or value is None:
        text = json.dumps(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return type(value).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())
