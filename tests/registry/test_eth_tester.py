"""The eth-tester subset: the pure-pip fallback chain (registry.node.in_process_web3, py-evm in
process, no anvil, no node process) runs the same suite through the same client.

Nothing here uses the session anvil fixtures (`pytest tests/registry/test_eth_tester.py` starts no
node); the whole module is skipped when eth-tester is not installed (pip install
'patentpool[tester]').
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, PoolFactoryClient, StablecoinClient
from registry.deploy import Deployment, deploy_suite
from registry.errors import ContractRevert
from registry.keys import account_from_key
from registry.node import ETH_TESTER_CHAIN_ID, in_process_web3
from registry.reverts import PatentAssetPatentIndexOutOfRange, PatentPoolNotQualified
from registry.types import DisputeId, PatentStatus

# The whole module is the eth-tester subset: skipped without eth-tester.
EthTesterTransactionFailed = pytest.importorskip(
    "eth_tester.exceptions", reason="the eth-tester subset needs pip install 'patentpool[tester]'"
).TransactionFailed

USDC = 10**6
YEAR = 365 * 24 * 3600


@dataclass
class InProcessChain:
    w3: Web3
    keys: list[LocalAccount]
    deployment: Deployment

    def chain(self, i: int) -> Chain:
        return Chain(self.w3, self.keys[i])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


@pytest.fixture(scope="module")
def tester() -> InProcessChain:
    w3 = in_process_web3()
    chain_id = int(w3.eth.chain_id)
    assert chain_id == ETH_TESTER_CHAIN_ID
    # eth-tester's funded accounts are unlocked, but Chain signs locally: use their keys.
    backend_keys = w3.provider.ethereum_tester.backend.account_keys  # type: ignore[attr-defined]
    keys = [account_from_key(k.to_hex(), chain_id) for k in backend_keys[:5]]
    assert [k.address for k in keys] == list(w3.eth.accounts[:5])
    deployment = deploy_suite(Chain(w3, keys[0]))
    assert deployment.chain_id == ETH_TESTER_CHAIN_ID
    assert deployment.payment_token is not None  # eth-tester counts as a local chain
    return InProcessChain(w3, keys, deployment)


@pytest.fixture
def clean(tester: InProcessChain) -> Iterator[InProcessChain]:
    """Revert what a test did to the in-process chain."""
    eth_tester = tester.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    snap = eth_tester.take_snapshot()
    try:
        yield tester
    finally:
        eth_tester.revert_to_snapshot(snap)


def _family(t: InProcessChain, owner: int, offices: list[tuple[str, int]], family_id: str) -> int:
    """Register a family owned by `owner`, its patents verified by the deployer, score 8000."""
    verifier = PatentAssetClient(t.chain(0), t.deployment.address("PatentAsset"))
    registry = PatentAssetClient(t.chain(owner), verifier.address)
    asset_id = registry.register_family(family_id, f"Family {family_id}", b"\x11" * 32, f"ipfs://{family_id}").value
    now = t.now()
    for n, (office, status) in enumerate(offices):
        index = registry.add_patent(asset_id, office, f"{office}{family_id}{n}").value
        verifier.verify_patent(asset_id, index, status, now - 1000, now + 10 * YEAR)
    verifier.record_evaluation(asset_id, 8_000, b"\x22" * 32, "tester-1")
    return asset_id


def _pool(t: InProcessChain) -> PatentPoolClient:
    factory = PoolFactoryClient(t.chain(0), t.deployment.address("PoolFactory"))
    token = t.deployment.payment_token
    assert token is not None
    address = factory.create_pool("Tester pool", 2, "LiDAR", token, t.keys[0].address).value
    assert factory.is_pool(address)
    return PatentPoolClient(t.chain(0), address)


def test_member_licensed_until_an_upheld_dispute_suspends_the_asset(clean: InProcessChain) -> None:
    t = clean
    pool = _pool(t)
    founder, member = 1, 2
    asset_id = _family(t, founder, [("US", PatentStatus.GRANTED), ("CN", PatentStatus.GRANTED)], "ET-1")
    pool.admit_founder(t.keys[founder].address)
    assert PatentPoolClient(t.chain(founder), pool.address).contribute(asset_id).value == 2
    pool.set_tier_fee(0, 100 * USDC)
    pool.activate()

    coin = StablecoinClient(t.chain(member), t.deployment.address("TestStablecoin"))
    coin.mint(t.keys[member].address, 100 * USDC)
    coin.approve(pool.address, 100 * USDC)
    as_member = PatentPoolClient(t.chain(member), pool.address)
    as_member.join(0, 100 * USDC)
    at = t.now()
    assert pool.is_licensed(t.keys[member].address, asset_id, at)
    assert not pool.is_licensed(t.keys[3].address, asset_id, at)
    # The fee was split: 10 % to the treasury (the operator), the rest to the only founder.
    assert pool.claimable(t.keys[0].address) == 10 * USDC
    assert pool.claimable(t.keys[founder].address) == 90 * USDC

    dispute_id = as_member.open_dispute(asset_id, b"\x44" * 32).value
    assert dispute_id == DisputeId(1)
    pool.resolve_dispute(dispute_id, True, b"\x55" * 32)
    assert pool.dispute(dispute_id)["status"] == 2  # Upheld
    assert pool.pool_asset(asset_id)["suspended"]
    suspended_at = pool.pool_asset(asset_id)["suspendedAt"]
    assert not pool.is_licensed(t.keys[member].address, asset_id, t.now())
    assert not pool.is_licensed(t.keys[member].address, asset_id, suspended_at)
    # From the suspension on, not before: the answer for an earlier time stands.
    assert pool.is_licensed(t.keys[member].address, asset_id, at) == (at < suspended_at)
    assert pool.total_weight() == 0
    # What the founder earned stays claimable after the suspension.
    assert pool.claimable(t.keys[founder].address) == 90 * USDC


def _unqualified(t: InProcessChain) -> tuple[PatentPoolClient, int, int]:
    """A pool, and an admitted founder's asset with one verified grant in a required office (and
    one pending): the default rule needs two."""
    pool = _pool(t)
    founder = 3
    asset_id = _family(t, founder, [("US", PatentStatus.GRANTED)], "ET-2")
    PatentAssetClient(t.chain(founder), t.deployment.address("PatentAsset")).add_patent(asset_id, "JP", "JPET2")
    pool.admit_founder(t.keys[founder].address)
    return pool, founder, asset_id


def test_transaction_revert_decodes_to_the_named_exception(clean: InProcessChain) -> None:
    t = clean
    pool, founder, asset_id = _unqualified(t)
    with pytest.raises(PatentPoolNotQualified) as exc:
        PatentPoolClient(t.chain(founder), pool.address).contribute(asset_id)
    assert isinstance(exc.value, ContractRevert)
    assert exc.value.error_name == "PatentPoolNotQualified"
    assert exc.value.error_args == {"assetId": asset_id, "grantedInRequired": 1, "minGranted": 2}
    assert pool.pool_asset(asset_id)["contributedAt"] == 0


def test_view_revert_decodes_to_the_named_exception(clean: InProcessChain) -> None:
    t = clean
    _, _, asset_id = _unqualified(t)
    registry = PatentAssetClient(t.chain(0), t.deployment.address("PatentAsset"))
    with pytest.raises(PatentAssetPatentIndexOutOfRange) as exc:
        registry.patent_at(asset_id, 7)
    assert isinstance(exc.value, ContractRevert)
    assert exc.value.error_args == {"assetId": asset_id, "index": 7, "count": 2}


def test_a_revert_is_not_silent_and_changes_nothing(clean: InProcessChain) -> None:
    """Whatever class it surfaces as today, a reverting contribute raises and leaves no trace."""
    t = clean
    pool, founder, asset_id = _unqualified(t)
    with pytest.raises((ContractRevert, EthTesterTransactionFailed)) as exc:
        PatentPoolClient(t.chain(founder), pool.address).contribute(asset_id)
    if not isinstance(exc.value, PatentPoolNotQualified):  # today, on eth-tester: see BUG_REVERTS
        assert _raw_revert_hex(exc.value).startswith(PatentPoolNotQualified.selector[2:])
    assert pool.pool_asset(asset_id)["contributedAt"] == 0
    assert pool.total_weight() == 0


def _raw_revert_hex(exc: BaseException) -> str:
    """The revert data as hex: web3's eth-tester provider keeps it only as a bytes repr inside its
    message ("execution reverted: b'...'")."""
    message = str(exc)
    marker = "execution reverted: "
    if marker not in message:
        return ""
    raw = ast.literal_eval(message.split(marker, 1)[1])
    return raw.hex() if isinstance(raw, bytes) else ""
