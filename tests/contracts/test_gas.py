"""Gas does not grow with the pool: join, claim, contribute and isLicensed cost the same in a pool
of 3 founders and 3 members as in one of 300 founders (300 assets) and 300 members.

Choice of sizes: 300 founders (so 300 assets) *and* 300 members. Populating sends the ~2,700
set-up transactions through anvil's auto-impersonation (eth_sendTransaction from any address,
nonces left to anvil) with automining off, mining each phase in a few full blocks: about 10 s,
where one automined block per transaction took over a minute. The measured transactions are
ordinary signed ones through registry.chain.Chain, one per block.

Like is compared with like. The measured transactions touch storage in the same zero/non-zero
states in both pools (an SSTORE costs 20,000 gas from zero but 2,900 from non-zero):
- every founder contributes before any payment (debt 0 in both pools when a founder first claims);
- total weights are 4 and 320, both divisors of 1e18, so the accumulator's carried remainder
  stays 0 in both pools and every payment writes it 0 -> 0;
- the joiner is one account that is a member of neither pool, with a non-zero token balance and an
  unlimited allowance to both; the claimants are founders of weight 1 that never claimed and hold
  no tokens; the contributors are admitted founders without weight, contributing a family of 1
  grant (80 in the large pool, so that the totals after it, 5 and 400, divide 1e18 too).

Then the steady costs, once the storage a call writes exists: the joiner joins again after its term
ran out, and the claimant claims again (now holding tokens, its debt non-zero).
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient, StablecoinClient
from registry.types import PatentStatus
from tests.conftest import USDC, YEAR, World, advance, extra_accounts, fund_ether, now

FEE = 100 * USDC
MAX_UINT = 2**256 - 1
REQUIRED = ("US", "CN", "DE", "JP")
TOLERANCE = 0.01
GAS_LIMIT = 400_000  # above every set-up transaction; 75 fit in anvil's 30M-gas block
SMALL = 3
LARGE = 300


def _weights(n: int) -> list[int]:
    """Founder weights whose total divides 1e18: 1+1+2 = 4, or 280 * 1 + 20 * 2 = 320."""
    return [1, 1, 2] if n == SMALL else [1] * (n - 20) + [2] * 20


class Bulk:
    """Sends set-up transactions as any address through anvil's auto-impersonation, with automining
    off, and mines them in as few blocks as fit (one block per transaction grows slow on anvil).

    Within one `mine()` round the order of different senders' transactions is not guaranteed, so
    a transaction that needs another sender's must wait for the next round.
    """

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.hashes: list[str] = []

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        assert "error" not in response, (method, response)
        return response["result"]

    def __enter__(self) -> Bulk:
        self._rpc("anvil_autoImpersonateAccount", [True])
        self._rpc("evm_setAutomine", [False])
        return self

    def __exit__(self, *exc: object) -> None:
        self._rpc("evm_setAutomine", [True])
        self._rpc("anvil_autoImpersonateAccount", [False])

    def send(self, sender: str, contract: Contract, fn: str, *args: Any) -> None:
        data = contract.encode_abi(fn, args=list(args))
        tx = {"from": sender, "to": contract.address, "data": data, "gas": hex(GAS_LIMIT)}
        self.hashes.append(self._rpc("eth_sendTransaction", [tx]))

    def mine(self) -> None:
        """Mine until the pool is empty; every transaction sent must have succeeded."""
        for _ in range(1_000):
            status = self._rpc("txpool_status", [])
            if int(status["pending"], 16) == 0 and int(status["queued"], 16) == 0:
                break
            self._rpc("evm_mine", [])
        for i in range(0, len(self.hashes), 500):
            chunk = self.hashes[i : i + 500]
            batch = [("eth_getTransactionReceipt", [h]) for h in chunk]
            receipts = self.w3.provider.make_batch_request(batch)  # type: ignore[attr-defined]
            assert isinstance(receipts, list), receipts
            bad = [h for h, r in zip(chunk, receipts, strict=True) if (r.get("result") or {}).get("status") != "0x1"]
            assert not bad, f"{len(bad)} of {len(chunk)} set-up transactions failed or were not mined"
        self.hashes = []


def _populate(
    world: World,
    pool: PatentPoolClient,
    founders: list[LocalAccount],
    members: list[LocalAccount],
    newcomer: LocalAccount,
    tag: str,
) -> tuple[list[int], int]:
    """Admit founders and have them contribute one- or two-grant families, admit `newcomer` as a
    founder with a qualifying family it has not contributed, activate, then let the members join.
    Returns the contributed asset ids and the newcomer's asset id."""
    w3 = world.w3
    operator = world.operator.address
    registry, pool_c, coin = world.assets.contract, pool.contract, world.coin.contract
    pool.set_qualification(list(REQUIRED), 1, 6_000)
    pool.set_tier_fee(0, FEE)

    owners = [*founders, newcomer]
    # The newcomer's weight keeps the total a divisor of 1e18 once it has contributed too (5 and
    # 400), so the steady calls also find the accumulator's remainder 0 in both pools.
    weights = [*_weights(len(founders)), 1 if len(founders) == SMALL else 80]
    family_ids = [f"GAS-{tag}-{i}" for i in range(len(owners))]
    with Bulk(w3) as tx:
        for owner, fid in zip(owners, family_ids, strict=True):
            tx.send(owner.address, registry, "registerFamily", fid, fid, b"\x11" * 32, f"ipfs://{fid}")
        tx.mine()
        lookups = [
            ("eth_call", [{"to": registry.address, "data": registry.encode_abi("assetOfFamily", args=[fid])}, "latest"])
            for fid in family_ids
        ]
        asset_ids = [int(r["result"], 16) for r in w3.provider.make_batch_request(lookups)]  # type: ignore[attr-defined]
        assert all(asset_ids) and len(set(asset_ids)) == len(asset_ids)

        for i, (owner, asset_id, weight) in enumerate(zip(owners, asset_ids, weights, strict=True)):
            for k in range(weight):
                tx.send(owner.address, registry, "addPatent", asset_id, REQUIRED[k % 4].encode(), f"{tag}{i:04d}{k}")
        tx.mine()
        t = now(w3)
        for owner, asset_id, weight in zip(owners, asset_ids, weights, strict=True):
            for k in range(weight):
                status = int(PatentStatus.GRANTED)
                tx.send(operator, registry, "verifyPatent", asset_id, k, status, t - 1000, t + 10 * YEAR)
            tx.send(operator, registry, "recordEvaluation", asset_id, 8_000, b"\x22" * 32, "gas-1")
            tx.send(operator, pool_c, "admitFounder", owner.address)
        tx.mine()
        for owner, asset_id in zip(founders, asset_ids[:-1], strict=True):
            tx.send(owner.address, pool_c, "contribute", asset_id)
        tx.mine()
    pool.activate()
    with Bulk(w3) as tx:
        for member in members:
            tx.send(member.address, coin, "mint", member.address, 10**12)
            tx.send(member.address, coin, "approve", pool.address, MAX_UINT)
            tx.send(member.address, pool_c, "join", 0, FEE)
        tx.mine()

    counts = pool.counts()
    assert (counts["members"], counts["assets"]) == (len(members), len(founders))
    assert pool.total_weight() == sum(weights[:-1])
    return asset_ids[:-1], asset_ids[-1]


def _measure(
    world: World,
    pool: PatentPoolClient,
    joiner: LocalAccount,
    claimant: LocalAccount,
    newcomer: LocalAccount,
    asset_id: int,
    new_asset_id: int,
) -> dict[str, int]:
    w3 = world.w3

    def as_(account: LocalAccount) -> PatentPoolClient:
        return PatentPoolClient(Chain(w3, account), pool.address)

    gas = {"join": as_(joiner).join(0, FEE).gas_used}
    assert as_(claimant).claimable(claimant.address) > 0
    gas["claim"] = as_(claimant).claim().gas_used
    gas["contribute"] = as_(newcomer).contribute(new_asset_id).gas_used
    at = now(w3)
    assert pool.is_licensed(joiner.address, asset_id, at)
    data = pool.contract.encode_abi("isLicensed", args=[joiner.address, asset_id, at])
    gas["isLicensed"] = int(w3.eth.estimate_gas({"from": joiner.address, "to": pool.address, "data": data}))
    return gas


def _measure_steady(
    world: World, pool: PatentPoolClient, joiner: LocalAccount, claimant: LocalAccount
) -> dict[str, int]:
    """The same calls once their storage exists (the issue's "steady" costs): the joiner joins
    again after its term ran out (its member slot and term history exist), then the claimant claims
    again (its debt is non-zero and it holds tokens)."""
    w3 = world.w3
    joined = PatentPoolClient(Chain(w3, joiner), pool.address).join(0, FEE)
    claimer = PatentPoolClient(Chain(w3, claimant), pool.address)
    assert claimer.claimable(claimant.address) > 0 and world.coin.balance_of(claimant.address) > 0
    return {"join (returning member)": joined.gas_used, "claim (next claim)": claimer.claim().gas_used}


def test_gas_does_not_grow_with_members_founders_and_assets(world: World) -> None:
    w3 = world.w3
    small_pool = world.pool
    large_pool = world.new_pool("Large pool")

    accounts = extra_accounts(2 * (SMALL + LARGE) + 5, start=50_000)
    small_founders, accounts = accounts[:SMALL], accounts[SMALL:]
    small_members, accounts = accounts[:SMALL], accounts[SMALL:]
    large_founders, accounts = accounts[:LARGE], accounts[LARGE:]
    large_members, accounts = accounts[:LARGE], accounts[LARGE:]
    joiner, small_newcomer, large_newcomer = accounts[:3]
    fund_ether(
        w3, [*small_founders, *small_members, *large_founders, *large_members, joiner, small_newcomer, large_newcomer]
    )

    small_assets, small_new = _populate(world, small_pool, small_founders, small_members, small_newcomer, "S")
    large_assets, large_new = _populate(world, large_pool, large_founders, large_members, large_newcomer, "L")

    # The joiner: tokens and an unlimited allowance for both pools, so both joins find the same
    # non-zero balance slots and spend no allowance.
    coin = StablecoinClient(Chain(w3, joiner), world.coin.address)
    coin.mint(joiner.address, 10 * FEE)
    coin.approve(small_pool.address, MAX_UINT)
    coin.approve(large_pool.address, MAX_UINT)
    for claimant in (small_founders[0], large_founders[0]):
        assert world.coin.balance_of(claimant.address) == 0

    small = _measure(world, small_pool, joiner, small_founders[0], small_newcomer, small_assets[0], small_new)
    large = _measure(world, large_pool, joiner, large_founders[0], large_newcomer, large_assets[0], large_new)
    advance(w3, YEAR + 1)  # every term ran out: the joiner may join again
    small |= _measure_steady(world, small_pool, joiner, small_founders[0])
    large |= _measure_steady(world, large_pool, joiner, large_founders[0])

    assert small_pool.counts()["members"] == SMALL + 1 and large_pool.counts()["members"] == LARGE + 1
    assert small_pool.counts()["assets"] == SMALL + 1 and large_pool.counts()["assets"] == LARGE + 1
    assert PatentAssetClient(world.operator, world.assets.address).owner_of(large_new) == large_newcomer.address
    print(f"gas with {SMALL} and {LARGE} founders/members: {small} {large}")
    for name in small:
        assert abs(large[name] - small[name]) <= TOLERANCE * small[name], (
            f"{name}: {small[name]} gas with {SMALL} founders/members, {large[name]} with {LARGE}"
        )


def _licence_history(world: World, pool: PatentPoolClient, licensee: LocalAccount, n: int) -> tuple[int, int]:
    """Give `licensee` `n` whole-pool licences of consecutive 10-second periods starting in the
    future, and revoke all but the first; returns (the first licence's start, the end of the last)."""
    operator = world.operator.address
    t0 = now(world.w3) + 10_000
    with Bulk(world.w3) as tx:
        for i in range(n):
            start = t0 + 10 * i
            tx.send(operator, pool.contract, "offerLicence", licensee.address, [], start, start + 10, 0, b"\x33" * 32)
        tx.mine()
        # Offer ids count from 1 in a fresh pool; one sender's transactions stay in nonce order.
        for offer_id in range(1, n + 1):
            tx.send(licensee.address, pool.contract, "acceptOffer", offer_id)
        tx.mine()
        for licence_id in range(2, n + 1):
            tx.send(operator, pool.contract, "revokeLicence", licence_id, b"\x44" * 32)
        tx.mine()
    assert pool.counts()["licences"] == n
    assert pool.licence(n)["revoked"] and not pool.licence(1)["revoked"]
    return t0, t0 + 10 * n


def test_accept_offer_and_is_licensed_do_not_walk_a_licensees_licences(world: World) -> None:
    """Issue 14, point 9: acceptOffer walked back over the licensee's revoked licences and a
    historical isLicensed over all later ones (225k -> 865k gas after 150 revocations). Now
    acceptOffer reads the latest licence of the scope only, and isLicensed the latest in O(1) or
    an earlier one by a binary search over the licensee's own licences of that scope."""
    w3 = world.w3
    licensees = extra_accounts(2, start=60_000)
    fund_ether(w3, licensees)
    figures: dict[int, dict[str, int]] = {}
    for n, licensee in zip((SMALL, LARGE), licensees, strict=True):
        pool = world.new_pool(f"Licences {n}")
        owner = world.keys[1]
        pool.admit_founder(owner.address)
        asset_id = world.family(1, {"US": PatentStatus.GRANTED, "CN": PatentStatus.GRANTED})
        PatentPoolClient(Chain(w3, owner), pool.address).contribute(asset_id)
        pool.activate()
        first_start, next_start = _licence_history(world, pool, licensee, n)
        offer_id = pool.offer_licence(licensee.address, [], next_start, next_start + YEAR, FEE, b"\x55" * 32).value
        coin = StablecoinClient(Chain(w3, licensee), world.coin.address)
        coin.mint(licensee.address, 10 * FEE)
        coin.approve(pool.address, MAX_UINT)
        as_licensee = PatentPoolClient(Chain(w3, licensee), pool.address)
        gas = {"acceptOffer": as_licensee.accept_offer(offer_id).gas_used}
        for name, at in (("isLicensed latest", next_start + 5), ("isLicensed first", first_start + 5)):
            assert pool.is_licensed(licensee.address, asset_id, at)
            data = pool.contract.encode_abi("isLicensed", args=[licensee.address, asset_id, at])
            gas[name] = int(w3.eth.estimate_gas({"from": licensee.address, "to": pool.address, "data": data}))
        assert not pool.is_licensed(licensee.address, asset_id, first_start + 15)  # revoked before it began
        figures[n] = gas

    small, large = figures[SMALL], figures[LARGE]
    print(f"gas with {SMALL} and {LARGE} licences of one licensee: {small} {large}")
    for name in ("acceptOffer", "isLicensed latest"):
        assert abs(large[name] - small[name]) <= TOLERANCE * small[name], (name, small[name], large[name])
    # An earlier licence is found by binary search over the licensee's own licences of the scope:
    # at most one more cold checkpoint read (2,100 gas, plus the search's arithmetic) per halving.
    halvings = (LARGE - 1).bit_length()
    assert large["isLicensed first"] - small["isLicensed first"] <= halvings * 2_600, (small, large)
