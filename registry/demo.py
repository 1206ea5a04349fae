"""The demo: the seed deck's six pools at the deck's scale, seeded deterministically on anvil.

Pools (members, assets): metaverse (500, 66, one founder), blockchain (550, 1,280), digital
connectivity (90, 41), LiDAR (5, 9), and electric vehicles and ESG incubating with founders and a
few contributions but no members. Companies and patent families are synthetic but plausible:
every family has a real dossier file (docs/dossier.md) whose hash is on-chain, scored by the
documented stability scorecard. A registry's everyday mess is mixed in: families that fail
qualification (refused, with the contract's reason), pending and lapsed patents, disputes upheld and
dismissed, unified licences to non-members, a revoked licence, founders who have claimed.

Everything is signed with deterministic demo keys funded through anvil, so this runs on a local
anvil only. Transactions go out in bulk through `BatchSender` (anvil mines each on arrival).
"""

from __future__ import annotations

import calendar
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from registry.artifacts import load_artifact
from registry.batch import BatchSender
from registry.chain import decode_events
from registry.deploy import Deployment
from registry.dossier import canonical_json, parse_dossier
from registry.errors import ConfigError
from registry.keys import account_from_key
from registry.node import ANVIL_DEV_KEYS, LOCAL_CHAIN_IDS
from registry.reverts import decode_revert
from registry.stability import MODEL_VERSION, evaluate, report_hash
from registry.types import PatentStatus, PoolKind

__all__ = ["DEMO_AS_OF", "POOLS", "DemoResult", "PoolSpec", "scaled", "seed_demo"]

USD = 10**6
SEED = 2026
#: The date every family is scored as of, so the demo is the same on every run.
DEMO_AS_OF = date(2026, 1, 1)
REQUIRED = ("US", "CN", "DE", "JP")

GAS = {
    "registerFamily": 400_000,
    "addPatent": 250_000,
    "verifyPatent": 150_000,
    "recordEvaluation": 250_000,
    "contribute": 400_000,
    "admitFounder": 150_000,
    "mint": 150_000,
    "approve": 100_000,
    "join": 400_000,
    "offerLicence": 400_000,
    "acceptOffer": 450_000,
    "revokeLicence": 150_000,
    "openDispute": 250_000,
    "resolveDispute": 250_000,
    "claim": 200_000,
}


@dataclass(frozen=True)
class PoolSpec:
    """One demo pool as the seed deck sizes it."""

    key: str
    name: str
    kind: PoolKind
    field: str
    members: int
    assets: int
    founders: int
    active: bool
    topics: tuple[str, ...]
    cpc: tuple[str, ...]


POOLS: tuple[PoolSpec, ...] = (
    PoolSpec(
        "metaverse",
        "Metaverse",
        PoolKind.COMPANY,
        "Metaverse and extended reality",
        500,
        66,
        1,
        True,
        (
            "spatial anchor sharing",
            "avatar motion retargeting",
            "foveated rendering",
            "haptic glove feedback",
            "volumetric video streaming",
            "occlusion-aware passthrough",
        ),
        ("G06T 19/006", "G06F 3/011", "H04N 13/344"),
    ),
    PoolSpec(
        "blockchain",
        "Blockchain",
        PoolKind.TECHNOLOGY,
        "Distributed ledgers",
        550,
        1280,
        8,
        True,
        (
            "sharded consensus",
            "zero-knowledge rollup",
            "cross-chain message relay",
            "threshold signature wallet",
            "verifiable random beacon",
            "state-channel settlement",
            "smart-contract upgrade proxy",
        ),
        ("H04L 9/50", "G06Q 20/3829", "H04L 9/3239"),
    ),
    PoolSpec(
        "digital-connectivity",
        "Digital connectivity",
        PoolKind.TECHNOLOGY,
        "5G and IoT connectivity",
        90,
        41,
        4,
        True,
        (
            "beam management",
            "uplink power control",
            "narrowband IoT paging",
            "network slicing admission",
            "sidelink resource selection",
        ),
        ("H04W 72/0446", "H04B 7/0617", "H04W 52/146"),
    ),
    PoolSpec(
        "lidar",
        "LiDAR",
        PoolKind.INDUSTRY,
        "LiDAR sensing",
        5,
        9,
        2,
        True,
        ("solid-state beam steering", "time-of-flight pixel array", "point-cloud denoising", "eye-safe laser driver"),
        ("G01S 17/894", "G01S 7/4815", "G01S 7/4863"),
    ),
    PoolSpec(
        "electric-vehicles",
        "Electric vehicles",
        PoolKind.INDUSTRY,
        "EV powertrain and charging",
        0,
        12,
        3,
        False,
        ("battery thermal runaway detection", "bidirectional charger control", "cell balancing", "inverter gate drive"),
        ("B60L 53/62", "H01M 10/48", "H02J 7/00"),
    ),
    PoolSpec(
        "esg",
        "ESG",
        PoolKind.GEOGRAPHY,
        "Clean energy and carbon accounting",
        0,
        5,
        2,
        False,
        ("carbon intensity metering", "grid-forming inverter", "green hydrogen electrolysis"),
        ("Y02E 10/56", "G06Q 50/06", "C25B 1/04"),
    ),
)

COMPANY_PREFIXES = (
    "Nova",
    "Lumen",
    "Quanta",
    "Helix",
    "Orbit",
    "Vertex",
    "Cobalt",
    "Zenith",
    "Aurora",
    "Pioneer",
    "Shenzhen Hua",
    "Hangzhou Ling",
    "Munich",
    "Osaka",
    "Seoul",
    "Austin",
    "Bavaria",
    "Kyoto",
)
COMPANY_SUFFIXES = (
    "Labs",
    "Systems",
    "Technologies",
    "Robotics",
    "Networks",
    "Devices",
    "Mobility",
    "Photonics",
    "Semiconductor",
    "Digital",
    "Energy",
    "Sensing",
)


def scaled(n: int, scale: float) -> int:
    """A count at `scale`, never rounding a non-empty count down to nothing."""
    return 0 if n == 0 else max(1, math.ceil(n * scale))


def _key(label: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"patentpool-demo/{label}"))
    return account


def company_name(index: int) -> str:
    rng = random.Random(SEED * 7919 + index)
    return f"{rng.choice(COMPANY_PREFIXES)} {rng.choice(COMPANY_SUFFIXES)} #{index:04d}"


@dataclass
class PoolResult:
    """What the demo made of one pool, as counted on the chain afterwards."""

    key: str
    name: str
    address: str
    lifecycle: str
    founders: list[str] = field(default_factory=list)
    members: int = 0
    assets: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    licences: int = 0
    revoked_licensees: list[str] = field(default_factory=list)
    unified_licensees: list[str] = field(default_factory=list)
    member_sample: list[str] = field(default_factory=list)
    asset_sample: list[int] = field(default_factory=list)
    suspended_assets: list[int] = field(default_factory=list)
    dismissed_disputes: int = 0
    claims: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "address": self.address,
            "lifecycle": self.lifecycle,
            "founders": self.founders,
            "members": self.members,
            "assets": self.assets,
            "refused": self.refused,
            "licences": self.licences,
            "unifiedLicensees": self.unified_licensees,
            "revokedLicensees": self.revoked_licensees,
            "memberSample": self.member_sample,
            "assetSample": self.asset_sample,
            "suspendedAssets": self.suspended_assets,
            "dismissedDisputes": self.dismissed_disputes,
            "claims": self.claims,
        }


@dataclass
class DemoResult:
    """The seeded demo: per pool, plus totals and timing."""

    pools: list[PoolResult]
    transactions: int
    seconds: float
    dossier_dir: str
    scale: float

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "transactions": self.transactions,
            "seconds": round(self.seconds, 1),
            "dossierDir": self.dossier_dir,
            "pools": [p.to_json() for p in self.pools],
        }


@dataclass
class _Family:
    spec: PoolSpec
    founder: LocalAccount
    document: dict[str, Any]
    score: int
    report_hash: bytes
    asset_id: int = 0


def _family_document(spec: PoolSpec, n: int, rng: random.Random, qualify: bool) -> dict[str, Any]:
    priority = date(2012, 1, 1) + timedelta(days=rng.randrange(0, 365 * 9))
    topic = rng.choice(spec.topics)
    family_id = f"PPD-{spec.key[:3].upper()}-{n:05d}"
    if qualify:
        chosen = [*rng.sample(REQUIRED, rng.choice((2, 2, 3, 4))), *rng.sample(["EP", "KR"], rng.randrange(0, 3))]
    else:
        chosen = [rng.choice(REQUIRED), "EP", *rng.sample(["KR"], rng.randrange(0, 2))]
    patents = []
    granted_required = 0
    for k, office in enumerate(dict.fromkeys(chosen)):
        # Unique across the whole demo: a publication can be listed in one family only.
        serial = 10_000_000 + POOLS.index(spec) * 1_000_000 + n * 10 + k
        number = f"{office}{serial}{'B2' if office == 'US' else 'B'}"
        grant = priority + timedelta(days=rng.randrange(700, 1800))
        expiry = priority + timedelta(days=365 * 20)
        must_grant = qualify and office in REQUIRED and granted_required < 2
        roll = rng.random()
        if must_grant or (roll < 0.8 and (qualify or office not in REQUIRED or granted_required == 0)):
            status = "granted"
            granted_required += office in REQUIRED
        elif roll < 0.92:
            status = "pending"
        else:
            status = "lapsed"
        patent: dict[str, Any] = {
            "office": office,
            "publicationNumber": number,
            "status": status,
            "forwardCitations": rng.randrange(0, 60 if qualify else 6),
        }
        if status != "pending":
            patent["grantDate"] = grant.isoformat()
            patent["expiryDate"] = expiry.isoformat()
        if status == "granted" and rng.random() < 0.15:
            patent["oppositions"] = [
                {
                    "kind": "opposition",
                    "outcome": rng.choice(["maintained", "amended"]),
                    "filedOn": (grant + timedelta(days=200)).isoformat(),
                }
            ]
        patents.append(patent)
    return {
        "familyId": family_id,
        "title": f"{topic[0].upper()}{topic[1:]} ({spec.name} family {n})",
        "abstract": f"A method and system for {topic} in {spec.field.lower()}, synthetic demo family {n}.",
        "cpcClasses": [rng.choice(spec.cpc)],
        "priorityDate": priority.isoformat(),
        "patents": patents,
    }


def _plan_families(spec: PoolSpec, count: int, founders: list[LocalAccount], rng: random.Random) -> list[_Family]:
    families: list[_Family] = []
    refused_target = 0 if count < 5 else max(1, count // 20)
    n = 0
    while len(families) < count + refused_target:
        qualify = len(families) >= refused_target
        document = _family_document(spec, n, rng, qualify)
        n += 1
        report = evaluate(parse_dossier(document, document["familyId"]), DEMO_AS_OF)
        passes = sum(p["status"] == "granted" and p["office"] in REQUIRED for p in document["patents"]) >= 2 and (
            report.scoreBps >= 6000
        )
        if passes != qualify:
            continue  # keep drawing until the family is what the plan needs
        founder = founders[len(families) % len(founders)]
        families.append(_Family(spec, founder, document, report.scoreBps, report_hash(report)))
    rng.shuffle(families)
    return families


def seed_demo(
    w3: Web3,
    deployment: Deployment,
    scale: float = 1.0,
    data_dir: Path = Path(".patentpool/demo"),
    progress: Callable[[str, int, int], None] = lambda *_: None,
) -> DemoResult:
    """Seed the six pools at `scale` (1.0: the deck's sizes; 0.1: `--small`)."""
    started = time.monotonic()
    chain_id = int(w3.eth.chain_id)
    if chain_id not in LOCAL_CHAIN_IDS:
        raise ConfigError(f"the demo signs with public demo keys, so it runs on local chains only (not {chain_id})")
    token_address = deployment.payment_token
    if token_address is None:
        raise ConfigError("the deployment has no TestStablecoin; the demo needs it")
    operator = account_from_key(ANVIL_DEV_KEYS[0], chain_id)
    with BatchSender(w3) as sender:
        return _seed(w3, deployment, scale, data_dir, progress, sender, operator, token_address, started)


def _seed(
    w3: Web3,
    deployment: Deployment,
    scale: float,
    data_dir: Path,
    progress: Callable[[str, int, int], None],
    sender: BatchSender,
    operator: LocalAccount,
    token_address: str,
    started: float,
) -> DemoResult:
    rng = random.Random(SEED)
    contracts = {
        name: w3.eth.contract(address=deployment.address(name), abi=load_artifact(name)["abi"])
        for name in ("PatentAsset", "PoolFactory", "TestStablecoin")
    }
    registry, token = contracts["PatentAsset"], contracts["TestStablecoin"]
    pool_abi = load_artifact("PatentPool")["abi"]

    specs = [(s, scaled(s.members, scale), scaled(s.assets, scale)) for s in POOLS]
    roster = [_key(f"company/{i}") for i in range(max(m for _, m, _ in specs) * 2 + 40)]
    founders = {s.key: [_key(f"founder/{s.key}/{i}") for i in range(s.founders)] for s, _, _ in specs}
    outsiders = [_key(f"licensee/{i}") for i in range(12)]
    everyone = [a for group in founders.values() for a in group] + roster + outsiders
    _fund_ether(w3, [a.address for a in everyone])

    factory = contracts["PoolFactory"]
    for spec, _, _ in specs:
        sender.send(
            operator,
            factory.functions.createPool(spec.name, int(spec.kind), spec.field, token_address, operator.address),
            600_000,
        )
    created = sender.flush()
    pools: dict[str, Contract] = {}
    results: dict[str, PoolResult] = {}
    for (spec, _, _), receipt in zip(specs, created, strict=True):
        address = decode_events(factory, receipt, "PoolCreated")[0]["args"]["pool"]
        pools[spec.key] = w3.eth.contract(address=address, abi=pool_abi)
        results[spec.key] = PoolResult(
            spec.key,
            spec.name,
            address,
            "active" if spec.active else "incubating",
            founders=[f.address for f in founders[spec.key]],
        )
    for spec, _, _ in specs:
        pool = pools[spec.key]
        f = pool.functions
        for tier, fee in enumerate((500, 2_000, 10_000)):
            sender.send(operator, f.setTierFee(tier, fee * USD), 100_000)
        sender.send(operator, f.setTerritory("worldwide"), 150_000)
        for founder in founders[spec.key]:
            sender.send(operator, f.admitFounder(founder.address), GAS["admitFounder"])
    sender.flush(receipts=False)

    # Families: dossiers on disk, registered, listed, verified, scored, contributed.
    families: list[_Family] = []
    for spec, _, assets in specs:
        families += _plan_families(spec, assets, founders[spec.key], rng)
    dossier_dir = data_dir / "dossiers"
    dossier_dir.mkdir(parents=True, exist_ok=True)
    for i, fam in enumerate(families):
        path = dossier_dir / f"{fam.document['familyId']}.json"
        path.write_text(json.dumps(fam.document, indent=2) + "\n", encoding="utf-8")
        digest = keccak(canonical_json(fam.document))
        sender.send(
            fam.founder,
            registry.functions.registerFamily(
                fam.document["familyId"], fam.document["title"], digest, f"ipfs://patentpool-demo/{path.name}"
            ),
            GAS["registerFamily"],
        )
        progress("registering families", i + 1, len(families))
    receipts = sender.flush()
    for fam, receipt in zip(families, receipts, strict=True):
        fam.asset_id = int(decode_events(registry, receipt, "FamilyRegistered")[0]["args"]["assetId"])
    for i, fam in enumerate(families):
        for patent in fam.document["patents"]:
            sender.send(
                fam.founder,
                registry.functions.addPatent(fam.asset_id, patent["office"].encode(), patent["publicationNumber"]),
                GAS["addPatent"],
            )
        progress("listing patents", i + 1, len(families))
    sender.flush(receipts=False)
    for i, fam in enumerate(families):
        for index, patent in enumerate(fam.document["patents"]):
            if patent["status"] != "pending":
                status = PatentStatus.GRANTED if patent["status"] == "granted" else PatentStatus.LAPSED
                sender.send(
                    operator,
                    registry.functions.verifyPatent(
                        fam.asset_id, index, int(status), _unix(patent["grantDate"]), _unix(patent["expiryDate"])
                    ),
                    GAS["verifyPatent"],
                )
        sender.send(
            operator,
            registry.functions.recordEvaluation(fam.asset_id, fam.score, fam.report_hash, MODEL_VERSION),
            GAS["recordEvaluation"],
        )
        progress("verifying and scoring", i + 1, len(families))
    sender.flush(receipts=False)
    for i, fam in enumerate(families):
        pool = pools[fam.spec.key]
        reason = _would_revert(w3, pool.functions.contribute(fam.asset_id), fam.founder.address)
        if reason:
            results[fam.spec.key].refused[fam.document["familyId"]] = reason
        else:
            sender.send(fam.founder, pool.functions.contribute(fam.asset_id), GAS["contribute"])
            results[fam.spec.key].asset_sample.append(fam.asset_id)
        progress("contributing families", i + 1, len(families))
    sender.flush(receipts=False)
    for spec, _, _ in specs:
        if spec.active:
            sender.send(operator, pools[spec.key].functions.activate(), 150_000)
    sender.flush(receipts=False)

    # Members: each pays its tier's fee in the test stablecoin (minted to itself first).
    memberships = [(spec, company) for spec, members, _ in specs for company in rng.sample(roster, members)]
    for i, (spec, company) in enumerate(memberships):
        tier = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
        fee = (500, 2_000, 10_000)[tier] * USD
        pool = pools[spec.key]
        sender.send(company, token.functions.mint(company.address, fee), GAS["mint"])
        sender.send(company, token.functions.approve(pool.address, fee), GAS["approve"])
        sender.send(company, pool.functions.join(tier, fee), GAS["join"])
        if len(results[spec.key].member_sample) < 5:
            results[spec.key].member_sample.append(company.address)
        progress("members joining", i + 1, len(memberships))
    sender.flush(receipts=False)

    # Unified licences to non-members, one revoked; disputes; claims.
    now = int(w3.eth.get_block("latest")["timestamp"])
    active = [spec for spec, _, _ in specs if spec.active]
    for n, spec in enumerate(active):
        pool = pools[spec.key]
        result = results[spec.key]
        licensees = outsiders[n * 3 : n * 3 + (3 if spec.members >= 50 else 2)]
        for who in licensees:
            sender.send(
                operator,
                pool.functions.offerLicence(
                    who.address, [], now, now + 365 * 86_400, 1_500 * USD, keccak(text=f"{spec.key} unified terms v1")
                ),
                GAS["offerLicence"],
            )
        receipts = sender.flush()
        for who, receipt in zip(licensees, receipts, strict=True):
            offer_id = int(decode_events(pool, receipt, "LicenceOffered")[0]["args"]["offerId"])
            sender.send(who, token.functions.mint(who.address, 1_500 * USD), GAS["mint"])
            sender.send(who, token.functions.approve(pool.address, 1_500 * USD), GAS["approve"])
            sender.send(who, pool.functions.acceptOffer(offer_id), GAS["acceptOffer"])
            result.unified_licensees.append(who.address)
        granted = [decode_events(pool, r, "LicenceGranted") for r in sender.flush()]
        licence_of = {e[0]["args"]["licensee"]: int(e[0]["args"]["licenceId"]) for e in granted if e}
        revoked = result.unified_licensees.pop()
        sender.send(
            operator,
            pool.functions.revokeLicence(licence_of[revoked], keccak(text="demo: terms breached")),
            GAS["revokeLicence"],
        )
        result.revoked_licensees.append(revoked)
        challenger = next(c for s, c in memberships if s.key == spec.key)
        disputed = result.asset_sample[-2:] if len(result.asset_sample) >= 4 else result.asset_sample[-1:]
        for asset_id in disputed:
            sender.send(
                challenger,
                pool.functions.openDispute(asset_id, keccak(text=f"prior art {asset_id}")),
                GAS["openDispute"],
            )
        opened = [decode_events(pool, r, "DisputeOpened")[0]["args"] for r in sender.flush()[-len(disputed) :]]
        for n_dispute, event in enumerate(opened):
            upheld = n_dispute == 0
            sender.send(
                operator,
                pool.functions.resolveDispute(event["disputeId"], upheld, keccak(text=f"ruling {event['assetId']}")),
                GAS["resolveDispute"],
            )
            if upheld:
                result.suspended_assets.append(int(event["assetId"]))
            else:
                result.dismissed_disputes += 1
        claimers = founders[spec.key][: max(1, len(founders[spec.key]) // 2)]
        for founder in claimers:
            sender.send(founder, pool.functions.claim(), GAS["claim"])
        result.claims = len(claimers)
        sender.flush(receipts=False)
        result.asset_sample = [a for a in result.asset_sample if a not in result.suspended_assets][:5]

    for spec, _, _ in specs:
        result = results[spec.key]
        members, assets, _, licences, _ = pools[spec.key].functions.counts().call()
        result.members, result.assets, result.licences = int(members), int(assets), int(licences)
    return DemoResult(
        list(results.values()), sender.sent + len(specs), time.monotonic() - started, str(dossier_dir), scale
    )


def _unix(day: str) -> int:
    return calendar.timegm(date.fromisoformat(day).timetuple())


def _would_revert(w3: Web3, fn: Any, sender: str) -> str | None:
    """The decoded reason `fn` would revert with if sent now, or None when it would succeed."""
    try:
        fn.call({"from": sender})
    except ContractLogicError as exc:
        decoded = decode_revert(getattr(exc, "data", None))
        return str(decoded) if decoded else str(exc)
    return None


def _fund_ether(w3: Web3, addresses: list[str], wei: int = 1_000 * 10**18) -> None:
    for address in addresses:
        w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]
