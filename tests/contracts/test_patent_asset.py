"""PatentAsset: registration, dossiers, patents, verification, evaluations, views and transfers."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from registry.artifacts import load_artifact
from registry.chain import Chain
from registry.client import PatentAssetClient, role_id
from registry.reverts import (
    AccessControlUnauthorizedAccount,
    ERC721NonexistentToken,
    PatentAssetEmptyFamilyId,
    PatentAssetEmptyPublicationNumber,
    PatentAssetFamilyAlreadyRegistered,
    PatentAssetInvalidDates,
    PatentAssetInvalidJurisdiction,
    PatentAssetInvalidPublicationNumber,
    PatentAssetInvalidScore,
    PatentAssetInvalidStatus,
    PatentAssetNotOwner,
    PatentAssetPatentAlreadyListed,
    PatentAssetPatentAlreadyVerified,
    PatentAssetPatentIndexOutOfRange,
    PatentAssetTextTooLong,
)
from registry.types import PatentStatus
from tests.conftest import YEAR, World, advance, now

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
HASH_A = b"\xaa" * 32
HASH_B = b"\xbb" * 32


def norm(args: dict[str, Any]) -> dict[str, Any]:
    """Error arguments with addresses checksummed, so they compare with account addresses."""
    return {k: Web3.to_checksum_address(v) if isinstance(v, str) and Web3.is_address(v) else v for k, v in args.items()}


def addr(world: World, i: int) -> str:
    return str(world.keys[i].address)


def register(world: World, owner: int, family_id: str, uri: str | None = None) -> int:
    return int(
        world.assets_as(owner)
        .register_family(family_id, f"Title {family_id}", HASH_A, uri or f"ipfs://{family_id}")
        .value
    )


def with_patent(world: World, owner: int = 1, office: str = "US", number: str = "US1000001B2") -> int:
    asset_id = register(world, owner, f"FAM-{office}-{number}")
    world.assets_as(owner).add_patent(asset_id, office, number)
    return asset_id


def token_uri(world: World, asset_id: int) -> str:
    return str(world.assets.chain.call(world.assets.contract.functions.tokenURI(asset_id)))


def transfer(world: World, sender: int, to: int, asset_id: int) -> Any:
    client = world.assets_as(sender)
    return client.chain.transact(client.contract.functions.transferFrom(addr(world, sender), addr(world, to), asset_id))


# ---------------------------------------------------------------------------------- registerFamily


def test_asset_ids_start_at_one_on_a_fresh_registry(world: World) -> None:
    art = load_artifact("PatentAsset")
    chain = Chain(world.w3, world.keys[0])
    address = chain.deploy(world.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]), chain.address).value
    fresh = PatentAssetClient(Chain(world.w3, world.keys[1]), address)
    assert fresh.total_assets() == 0
    assert fresh.asset_of_family("F-1") == 0
    assert fresh.register_family("F-1", "t", HASH_A, "u").value == 1
    assert fresh.register_family("F-2", "t", HASH_A, "u").value == 2
    assert fresh.total_assets() == 2


def test_register_family_mints_the_token_to_the_caller_and_emits_both_events(world: World) -> None:
    registry = world.assets_as(1)
    before = registry.total_assets()
    result = registry.register_family("EP-123", "Solid-state LiDAR", HASH_A, "ipfs://dossier-1")
    asset_id = result.value
    assert asset_id == before + 1
    assert registry.events(result, "FamilyRegistered") == [
        {
            "assetId": asset_id,
            "owner": addr(world, 1),
            "familyId": "EP-123",
            "title": "Solid-state LiDAR",
            "dossierHash": HASH_A,
            "dossierURI": "ipfs://dossier-1",
        }
    ]
    assert registry.events(result, "Transfer") == [{"from": ZERO_ADDRESS, "to": addr(world, 1), "tokenId": asset_id}]
    assert registry.owner_of(asset_id) == addr(world, 1)
    assert registry.contract.functions.balanceOf(addr(world, 1)).call() == 1
    assert registry.total_assets() == before + 1
    assert registry.asset_of_family("EP-123") == asset_id
    assert registry.family(asset_id) == {
        "familyId": "EP-123",
        "title": "Solid-state LiDAR",
        "dossierHash": HASH_A,
        "dossierURI": "ipfs://dossier-1",
    }
    assert token_uri(world, asset_id) == "ipfs://dossier-1"
    assert registry.patent_count(asset_id) == 0


def test_register_family_gives_consecutive_ids_to_different_callers(world: World) -> None:
    a = register(world, 1, "F-A")
    b = register(world, 2, "F-B")
    assert b == a + 1
    assert world.assets.owner_of(a) == addr(world, 1)
    assert world.assets.owner_of(b) == addr(world, 2)


def test_register_family_reverts_when_the_family_id_is_already_registered(world: World) -> None:
    first = register(world, 1, "DUP-1")
    total = world.assets.total_assets()
    with pytest.raises(PatentAssetFamilyAlreadyRegistered) as e:
        world.assets_as(2).register_family("DUP-1", "other title", HASH_B, "ipfs://other")
    assert e.value.error_args == {"familyId": "DUP-1", "assetId": first}
    assert world.assets.total_assets() == total
    assert world.assets.family(first)["title"] == "Title DUP-1"


def test_register_family_treats_family_ids_case_sensitively(world: World) -> None:
    a = register(world, 1, "case-1")
    b = register(world, 1, "CASE-1")
    assert a != b
    assert world.assets.asset_of_family("case-1") == a
    assert world.assets.asset_of_family("CASE-1") == b


def test_register_family_bounds_its_texts(world: World) -> None:
    """Family id and title at most 200 bytes, the dossier URI at most 2048 (also when updated)."""
    total = world.assets.total_assets()
    owner = world.assets_as(1)
    for family, title, uri, length, limit in (
        ("F" * 201, "t", "u", 201, 200),
        ("F", "t" * 5_000, "u", 5_000, 200),
        ("F", "t", "u" * 2_049, 2_049, 2_048),
    ):
        with pytest.raises(PatentAssetTextTooLong) as e:
            owner.register_family(family, title, HASH_A, uri)
        assert e.value.error_args == {"length": length, "limit": limit}
    assert world.assets.total_assets() == total
    asset = owner.register_family("F" * 200, "t" * 200, HASH_A, "u" * 2_048).value
    with pytest.raises(PatentAssetTextTooLong):
        owner.update_dossier(asset, HASH_A, "u" * 2_049)


def test_register_family_reverts_when_the_family_id_is_empty(world: World) -> None:
    total = world.assets.total_assets()
    with pytest.raises(PatentAssetEmptyFamilyId) as e:
        world.assets_as(1).register_family("", "t", HASH_A, "u")
    assert e.value.error_args == {}
    assert world.assets.total_assets() == total


# ---------------------------------------------------------------------------------- updateDossier


def test_update_dossier_by_the_owner_replaces_hash_and_uri_and_emits_dossier_updated(world: World) -> None:
    asset_id = register(world, 1, "DOS-1", "ipfs://v1")
    registry = world.assets_as(1)
    result = registry.update_dossier(asset_id, HASH_B, "ipfs://v2")
    assert registry.events(result, "DossierUpdated") == [
        {"assetId": asset_id, "dossierHash": HASH_B, "dossierURI": "ipfs://v2"}
    ]
    assert registry.family(asset_id) == {
        "familyId": "DOS-1",
        "title": "Title DOS-1",
        "dossierHash": HASH_B,
        "dossierURI": "ipfs://v2",
    }
    assert token_uri(world, asset_id) == "ipfs://v2"


def test_update_dossier_reverts_when_caller_does_not_own_the_asset(world: World) -> None:
    asset_id = register(world, 1, "DOS-2", "ipfs://v1")
    with pytest.raises(PatentAssetNotOwner) as e:
        world.assets_as(2).update_dossier(asset_id, HASH_B, "ipfs://evil")
    assert norm(e.value.error_args) == {"assetId": asset_id, "caller": addr(world, 2), "owner": addr(world, 1)}
    assert world.assets.family(asset_id)["dossierURI"] == "ipfs://v1"
    assert world.assets.family(asset_id)["dossierHash"] == HASH_A


def test_update_dossier_reverts_when_the_asset_does_not_exist(world: World) -> None:
    missing = world.assets.total_assets() + 100
    with pytest.raises(ERC721NonexistentToken) as e:
        world.assets_as(1).update_dossier(missing, HASH_B, "u")
    assert e.value.error_args == {"tokenId": missing}


def test_token_uri_and_family_revert_for_a_nonexistent_asset(world: World) -> None:
    missing = world.assets.total_assets() + 7
    with pytest.raises(ERC721NonexistentToken) as e:
        token_uri(world, missing)
    assert e.value.error_args == {"tokenId": missing}
    with pytest.raises(ERC721NonexistentToken) as e2:
        world.assets.family(missing)
    assert e2.value.error_args == {"tokenId": missing}


# ---------------------------------------------------------------------------------- addPatent


def test_add_patent_appends_a_pending_patent_and_emits_patent_added(world: World) -> None:
    asset_id = register(world, 1, "ADD-1")
    registry = world.assets_as(1)
    r0 = registry.add_patent(asset_id, "US", "US10123456B2")
    r1 = registry.add_patent(asset_id, "CN", "CN109000000A")
    assert (r0.value, r1.value) == (0, 1)
    assert registry.events(r0, "PatentAdded") == [
        {"assetId": asset_id, "index": 0, "jurisdiction": b"US", "publicationNumber": "US10123456B2"}
    ]
    assert registry.events(r1, "PatentAdded") == [
        {"assetId": asset_id, "index": 1, "jurisdiction": b"CN", "publicationNumber": "CN109000000A"}
    ]
    assert registry.patent_count(asset_id) == 2
    assert registry.patent_at(asset_id, 0) == {
        "jurisdiction": "US",
        "status": PatentStatus.PENDING,
        "grantDate": 0,
        "expiryDate": 0,
        "publicationNumber": "US10123456B2",
    }
    assert registry.patent_at(asset_id, 1)["jurisdiction"] == "CN"
    assert registry.granted_in(asset_id, "US") == 0


def test_add_patent_reverts_when_caller_does_not_own_the_asset(world: World) -> None:
    asset_id = register(world, 1, "ADD-2")
    with pytest.raises(PatentAssetNotOwner) as e:
        world.assets_as(2).add_patent(asset_id, "US", "US999B1")
    assert norm(e.value.error_args) == {"assetId": asset_id, "caller": addr(world, 2), "owner": addr(world, 1)}
    assert world.assets.patent_count(asset_id) == 0


def test_add_patent_reverts_for_an_account_merely_approved_for_the_token(world: World) -> None:
    asset_id = register(world, 1, "ADD-APPROVED")
    owner = world.assets_as(1)
    owner.chain.transact(owner.contract.functions.approve(addr(world, 2), asset_id))
    assert owner.contract.functions.getApproved(asset_id).call() == addr(world, 2)
    with pytest.raises(PatentAssetNotOwner) as e:
        world.assets_as(2).add_patent(asset_id, "US", "US999B1")
    assert norm(e.value.error_args) == {"assetId": asset_id, "caller": addr(world, 2), "owner": addr(world, 1)}


def test_add_patent_reverts_when_the_asset_does_not_exist(world: World) -> None:
    missing = world.assets.total_assets() + 1
    with pytest.raises(ERC721NonexistentToken) as e:
        world.assets_as(1).add_patent(missing, "US", "US1B1")
    assert e.value.error_args == {"tokenId": missing}


@pytest.mark.parametrize("code", [b"us", b"U1", b"\x00\x00", b"@A", b"A@", b"[A", b"A["])
def test_add_patent_reverts_when_the_jurisdiction_is_not_two_upper_case_letters(world: World, code: bytes) -> None:
    asset_id = register(world, 1, "JUR-" + code.hex())
    with pytest.raises(PatentAssetInvalidJurisdiction) as e:
        world.assets_as(1).add_patent(asset_id, code, "X123")
    assert e.value.error_args == {"jurisdiction": code}
    assert world.assets.patent_count(asset_id) == 0


def test_add_patent_accepts_upper_case_letters_at_both_ends_of_the_alphabet(world: World) -> None:
    asset_id = register(world, 1, "JUROK")
    codes = [b"AA", b"AZ", b"ZA", b"ZZ"]
    for n, code in enumerate(codes):
        assert world.assets_as(1).add_patent(asset_id, code, "N-1").value == n
    assert [world.assets.patent_at(asset_id, i)["jurisdiction"] for i in range(4)] == ["AA", "AZ", "ZA", "ZZ"]


def test_add_patent_reverts_when_the_publication_number_is_empty(world: World) -> None:
    asset_id = register(world, 1, "EMPTY-NUM")
    with pytest.raises(PatentAssetEmptyPublicationNumber) as e:
        world.assets_as(1).add_patent(asset_id, "US", "")
    assert e.value.error_args == {}
    assert world.assets.patent_count(asset_id) == 0


def test_a_verified_publication_cannot_be_listed_or_verified_in_another_family(world: World) -> None:
    first = register(world, 1, "LIST-1")
    world.assets_as(1).add_patent(first, "US", "US7777777B2")
    second = register(world, 2, "LIST-2")
    assert world.assets_as(2).add_patent(second, "US", "US7777777B2").value == 0  # pending: blocks nobody
    world.assets.verify_patent(first, 0, PatentStatus.GRANTED, 1_000, 0)

    with pytest.raises(PatentAssetPatentAlreadyVerified) as verified:
        world.assets.verify_patent(second, 0, PatentStatus.GRANTED, 1_000, 0)
    assert verified.value.error_args == {"jurisdiction": b"US", "publicationNumber": "US7777777B2", "assetId": first}
    third = register(world, 3, "LIST-3")
    with pytest.raises(PatentAssetPatentAlreadyListed) as listed:
        world.assets_as(3).add_patent(third, "US", "US7777777B2")
    assert listed.value.error_args == {"jurisdiction": b"US", "publicationNumber": "US7777777B2", "assetId": first}
    assert world.assets.patent_count(third) == 0


def test_add_patent_reverts_when_the_publication_is_verified_in_the_same_family(world: World) -> None:
    asset_id = register(world, 1, "LIST-4")
    world.assets_as(1).add_patent(asset_id, "JP", "JP2020123456A")
    world.assets.verify_patent(asset_id, 0, PatentStatus.GRANTED, 1_000, 0)
    with pytest.raises(PatentAssetPatentAlreadyListed) as e:
        world.assets_as(1).add_patent(asset_id, "JP", "JP2020123456A")
    assert e.value.error_args == {"jurisdiction": b"JP", "publicationNumber": "JP2020123456A", "assetId": asset_id}
    assert world.assets.patent_count(asset_id) == 1


def test_a_squatters_listing_never_blocks_the_real_owner_attack(world: World) -> None:
    """Issue 14, point 1: before, whoever listed a publication number first held it for ever, even
    after the verifier marked the listing revoked; now a listing holds nothing until verified, and
    a false listing verified by mistake is rejected, which frees its number."""
    squatter = register(world, 2, "SQUAT")
    world.assets_as(2).add_patent(squatter, "US", "US10123456B2")
    owner = register(world, 1, "REAL")
    assert world.assets_as(1).add_patent(owner, "US", "US 10123456 B2").value == 0

    world.assets.verify_patent(squatter, 0, PatentStatus.GRANTED, 1_000, 0)  # a mistake
    with pytest.raises(PatentAssetPatentAlreadyVerified):
        world.assets.verify_patent(owner, 0, PatentStatus.GRANTED, 1_000, 0)
    rejected = world.assets.reject_patent(squatter, 0, HASH_A)

    assert world.assets.events(rejected, "PatentRejected") == [
        {"assetId": squatter, "index": 0, "verifier": addr(world, 0), "jurisdiction": b"US", "reasonHash": HASH_A}
    ]
    assert world.assets.patent_at(squatter, 0)["status"] == PatentStatus.REJECTED
    assert world.assets.granted_in(squatter, "US") == 0
    world.assets.verify_patent(owner, 0, PatentStatus.GRANTED, 1_000, 0)
    assert world.assets.granted_in(owner, "US") == 1


def test_publication_numbers_are_stored_and_compared_in_canonical_form_attack(world: World) -> None:
    """Issue 14, point 1: before, "US 10123456 B2" and "us10123456b2" were two patents."""
    asset_id = register(world, 1, "CANON")
    registry = world.assets_as(1)
    for n, written in enumerate(("US 10123456 B2", "us10123456b2", "10,123,456 B2", "US-10123456-B2")):
        result = registry.add_patent(asset_id, "US", written)
        assert registry.events(result, "PatentAdded")[0]["publicationNumber"] == "US10123456B2"
        assert registry.patent_at(asset_id, n)["publicationNumber"] == "US10123456B2"
    world.assets.verify_patent(asset_id, 0, PatentStatus.GRANTED, 1_000, 0)
    other = register(world, 2, "CANON-2")
    with pytest.raises(PatentAssetPatentAlreadyListed):
        world.assets_as(2).add_patent(other, "US", "us 10123456 b2")
    with pytest.raises(PatentAssetInvalidPublicationNumber) as bad:
        registry.add_patent(asset_id, "US", "US10123456B2;")
    assert bad.value.error_args == {"publicationNumber": "US10123456B2;"}


def test_add_patent_accepts_the_same_number_in_another_office(world: World) -> None:
    a = register(world, 1, "OFF-1")
    b = register(world, 2, "OFF-2")
    world.assets_as(1).add_patent(a, "US", "12345")
    assert world.assets_as(2).add_patent(b, "EP", "12345").value == 0
    assert world.assets.patent_at(b, 0)["jurisdiction"] == "EP"


# ---------------------------------------------------------------------------------- verifyPatent


def test_verify_patent_records_status_and_dates_and_emits_patent_verified(world: World) -> None:
    asset_id = with_patent(world, 1, "DE", "DE102020000001A1")
    t = now(world.w3)
    result = world.assets.verify_patent(asset_id, 0, PatentStatus.GRANTED, t - 100, t + 20 * YEAR)
    assert world.assets.events(result, "PatentVerified") == [
        {
            "assetId": asset_id,
            "index": 0,
            "verifier": addr(world, 0),
            "jurisdiction": b"DE",
            "status": 1,
            "grantDate": t - 100,
            "expiryDate": t + 20 * YEAR,
        }
    ]
    assert world.assets.patent_at(asset_id, 0) == {
        "jurisdiction": "DE",
        "status": PatentStatus.GRANTED,
        "grantDate": t - 100,
        "expiryDate": t + 20 * YEAR,
        "publicationNumber": "DE102020000001A1",
    }
    assert world.assets.granted_in(asset_id, "DE") == 1


def test_verify_patent_reverts_when_caller_lacks_the_verifier_role(world: World) -> None:
    asset_id = with_patent(world, 1)
    t = now(world.w3)
    with pytest.raises(AccessControlUnauthorizedAccount) as e:
        world.assets_as(1).verify_patent(asset_id, 0, PatentStatus.GRANTED, t, 0)
    assert norm(e.value.error_args) == {"account": addr(world, 1), "neededRole": role_id("VERIFIER_ROLE")}
    assert world.assets.patent_at(asset_id, 0)["status"] == PatentStatus.PENDING


def test_verify_patent_reverts_when_the_index_is_out_of_range(world: World) -> None:
    asset_id = with_patent(world, 1)
    t = now(world.w3)
    with pytest.raises(PatentAssetPatentIndexOutOfRange) as e:
        world.assets.verify_patent(asset_id, 1, PatentStatus.GRANTED, t, 0)
    assert e.value.error_args == {"assetId": asset_id, "index": 1, "count": 1}


def test_verify_patent_reverts_when_the_asset_does_not_exist(world: World) -> None:
    missing = world.assets.total_assets() + 3
    with pytest.raises(ERC721NonexistentToken) as e:
        world.assets.verify_patent(missing, 0, PatentStatus.GRANTED, 1, 0)
    assert e.value.error_args == {"tokenId": missing}


@pytest.mark.parametrize("status", [4, 5, 255])
def test_verify_patent_reverts_when_the_status_is_not_0_to_3(world: World, status: int) -> None:
    asset_id = with_patent(world, 1)
    t = now(world.w3)
    with pytest.raises(PatentAssetInvalidStatus) as e:
        world.assets.verify_patent(asset_id, 0, status, t, 0)
    assert e.value.error_args == {"status": status}
    assert world.assets.patent_at(asset_id, 0)["status"] == PatentStatus.PENDING


@pytest.mark.parametrize(
    ("status", "grant", "expiry"),
    [
        (PatentStatus.PENDING, 1_000, 0),
        (PatentStatus.PENDING, 1_000, 2_000),
        (PatentStatus.GRANTED, 0, 0),
        (PatentStatus.LAPSED, 0, 0),
        (PatentStatus.REVOKED, 0, 0),
        (PatentStatus.GRANTED, 1_000, 1_000),
        (PatentStatus.GRANTED, 1_000, 999),
        (PatentStatus.REVOKED, 5_000, 5_000),
    ],
)
def test_verify_patent_reverts_when_the_dates_do_not_fit_the_status(
    world: World, status: int, grant: int, expiry: int
) -> None:
    asset_id = with_patent(world, 1)
    with pytest.raises(PatentAssetInvalidDates) as e:
        world.assets.verify_patent(asset_id, 0, status, grant, expiry)
    assert e.value.error_args == {"status": int(status), "grantDate": grant, "expiryDate": expiry}
    assert world.assets.patent_at(asset_id, 0)["status"] == PatentStatus.PENDING
    assert world.assets.granted_in(asset_id, "US") == 0


@pytest.mark.parametrize(
    ("status", "grant", "expiry"),
    [
        (PatentStatus.PENDING, 0, 0),
        (PatentStatus.GRANTED, 1_000, 0),
        (PatentStatus.GRANTED, 1_000, 1_001),
        (PatentStatus.LAPSED, 1_000, 0),
        (PatentStatus.REVOKED, 1_000, 9_000),
    ],
)
def test_verify_patent_accepts_dates_that_fit_the_status(world: World, status: int, grant: int, expiry: int) -> None:
    asset_id = with_patent(world, 1)
    world.assets.verify_patent(asset_id, 0, status, grant, expiry)
    p = world.assets.patent_at(asset_id, 0)
    assert (p["status"], p["grantDate"], p["expiryDate"]) == (status, grant, expiry)


def test_granted_in_counts_up_on_granted_and_down_when_a_granted_patent_changes_status(world: World) -> None:
    asset_id = register(world, 1, "CNT-1")
    owner = world.assets_as(1)
    for n in range(3):
        owner.add_patent(asset_id, "US", f"US-CNT-{n}")
    owner.add_patent(asset_id, "CN", "CN-CNT-0")
    other = with_patent(world, 2, "US", "US-OTHER")
    registry = world.assets
    g, x = 1_000, 2_000

    def counts() -> tuple[int, int, int]:
        return (
            registry.granted_in(asset_id, "US"),
            registry.granted_in(asset_id, "CN"),
            registry.granted_in(other, "US"),
        )

    registry.verify_patent(asset_id, 0, PatentStatus.GRANTED, g, x)
    assert counts() == (1, 0, 0)
    registry.verify_patent(asset_id, 1, PatentStatus.GRANTED, g, x)
    assert counts() == (2, 0, 0)
    # re-attesting Granted with other dates does not count twice
    registry.verify_patent(asset_id, 1, PatentStatus.GRANTED, g + 1, 0)
    assert counts() == (2, 0, 0)
    # a patent that was never granted does not count down when it lapses
    registry.verify_patent(asset_id, 2, PatentStatus.LAPSED, g, x)
    assert counts() == (2, 0, 0)
    registry.verify_patent(asset_id, 3, PatentStatus.GRANTED, g, x)
    assert counts() == (2, 1, 0)
    registry.verify_patent(asset_id, 0, PatentStatus.LAPSED, g, x)
    assert counts() == (1, 1, 0)
    registry.verify_patent(asset_id, 0, PatentStatus.GRANTED, g, x)
    assert counts() == (2, 1, 0)
    registry.verify_patent(asset_id, 1, PatentStatus.REVOKED, g, x)
    assert counts() == (1, 1, 0)
    registry.verify_patent(asset_id, 0, PatentStatus.PENDING, 0, 0)
    assert counts() == (0, 1, 0)
    registry.verify_patent(asset_id, 3, PatentStatus.PENDING, 0, 0)
    assert counts() == (0, 0, 0)
    assert [registry.patent_at(asset_id, i)["status"] for i in range(4)] == [
        PatentStatus.PENDING,
        PatentStatus.REVOKED,
        PatentStatus.LAPSED,
        PatentStatus.PENDING,
    ]


def test_verify_patent_by_a_newly_granted_verifier_names_that_verifier(world: World) -> None:
    asset_id = with_patent(world, 1)
    world.assets.grant_role("VERIFIER_ROLE", addr(world, 4))
    result = world.assets_as(4).verify_patent(asset_id, 0, PatentStatus.GRANTED, 1_000, 0)
    assert world.assets.events(result, "PatentVerified")[0]["verifier"] == addr(world, 4)


# ---------------------------------------------------------------------------------- recordEvaluation


def test_record_evaluation_stores_it_with_the_block_time_and_emits_evaluation_recorded(world: World) -> None:
    asset_id = register(world, 1, "EVAL-1")
    result = world.assets.record_evaluation(asset_id, 7_345, HASH_B, "model-2.1")
    block_time = int(world.w3.eth.get_block(result.block_number)["timestamp"])
    assert world.assets.events(result, "EvaluationRecorded") == [
        {
            "assetId": asset_id,
            "evaluator": addr(world, 0),
            "scoreBps": 7_345,
            "reportHash": HASH_B,
            "modelVersion": "model-2.1",
        }
    ]
    assert world.assets.evaluation(asset_id) == {
        "scoreBps": 7_345,
        "evaluator": addr(world, 0),
        "evaluatedAt": block_time,
        "reportHash": HASH_B,
        "modelVersion": "model-2.1",
    }
    assert world.assets.stability_score(asset_id) == 7_345


def test_record_evaluation_replaces_the_previous_evaluation(world: World) -> None:
    asset_id = register(world, 1, "EVAL-2")
    world.assets.record_evaluation(asset_id, 9_000, HASH_A, "m-1")
    world.assets.grant_role("EVALUATOR_ROLE", addr(world, 3))
    advance(world.w3, 3600)
    result = world.assets_as(3).record_evaluation(asset_id, 1_200, HASH_B, "m-2")
    block_time = int(world.w3.eth.get_block(result.block_number)["timestamp"])
    assert world.assets.evaluation(asset_id) == {
        "scoreBps": 1_200,
        "evaluator": addr(world, 3),
        "evaluatedAt": block_time,
        "reportHash": HASH_B,
        "modelVersion": "m-2",
    }
    assert world.assets.stability_score(asset_id) == 1_200


@pytest.mark.parametrize("score", [0, 10_000])
def test_record_evaluation_accepts_scores_at_both_bounds(world: World, score: int) -> None:
    asset_id = register(world, 1, f"EVAL-B-{score}")
    world.assets.record_evaluation(asset_id, 5_000, HASH_A, "m")
    world.assets.record_evaluation(asset_id, score, HASH_A, "m")
    assert world.assets.stability_score(asset_id) == score


@pytest.mark.parametrize("score", [10_001, 65_535])
def test_record_evaluation_reverts_when_the_score_is_above_10000(world: World, score: int) -> None:
    asset_id = register(world, 1, f"EVAL-3-{score}")
    world.assets.record_evaluation(asset_id, 4_000, HASH_A, "m")
    with pytest.raises(PatentAssetInvalidScore) as e:
        world.assets.record_evaluation(asset_id, score, HASH_B, "m")
    assert e.value.error_args == {"scoreBps": score}
    assert world.assets.stability_score(asset_id) == 4_000


def test_record_evaluation_reverts_when_caller_lacks_the_evaluator_role(world: World) -> None:
    asset_id = register(world, 1, "EVAL-4")
    with pytest.raises(AccessControlUnauthorizedAccount) as e:
        world.assets_as(1).record_evaluation(asset_id, 9_999, HASH_A, "self-assessed")
    assert norm(e.value.error_args) == {"account": addr(world, 1), "neededRole": role_id("EVALUATOR_ROLE")}
    assert world.assets.stability_score(asset_id) == 0


def test_record_evaluation_reverts_when_the_asset_does_not_exist(world: World) -> None:
    missing = world.assets.total_assets() + 5
    with pytest.raises(ERC721NonexistentToken) as e:
        world.assets.record_evaluation(missing, 5_000, HASH_A, "m")
    assert e.value.error_args == {"tokenId": missing}


# ---------------------------------------------------------------------------------- views


def test_an_asset_never_evaluated_has_score_zero_and_an_all_zero_evaluation(world: World) -> None:
    asset_id = register(world, 1, "VIEW-1")
    assert world.assets.stability_score(asset_id) == 0
    assert world.assets.evaluation(asset_id) == {
        "scoreBps": 0,
        "evaluator": ZERO_ADDRESS,
        "evaluatedAt": 0,
        "reportHash": b"\x00" * 32,
        "modelVersion": "",
    }


def test_patent_at_reverts_when_the_index_is_out_of_range(world: World) -> None:
    asset_id = register(world, 1, "VIEW-2")
    with pytest.raises(PatentAssetPatentIndexOutOfRange) as e:
        world.assets.patent_at(asset_id, 0)
    assert e.value.error_args == {"assetId": asset_id, "index": 0, "count": 0}
    world.assets_as(1).add_patent(asset_id, "KR", "KR-1")
    assert world.assets.patent_count(asset_id) == 1
    with pytest.raises(PatentAssetPatentIndexOutOfRange) as e2:
        world.assets.patent_at(asset_id, 5)
    assert e2.value.error_args == {"assetId": asset_id, "index": 5, "count": 1}


def test_asset_of_family_is_zero_for_an_unknown_family_and_total_assets_counts_registrations(world: World) -> None:
    before = world.assets.total_assets()
    assert world.assets.asset_of_family("NEVER-REGISTERED") == 0
    a = register(world, 1, "VIEW-3")
    b = register(world, 2, "VIEW-4")
    assert world.assets.total_assets() == before + 2
    assert (world.assets.asset_of_family("VIEW-3"), world.assets.asset_of_family("VIEW-4")) == (a, b)


def test_patent_asset_supports_its_own_erc721_access_control_and_erc165_interfaces(world: World) -> None:
    signatures = [
        "registerFamily(string,string,bytes32,string)",
        "updateDossier(uint256,bytes32,string)",
        "addPatent(uint256,bytes2,string)",
        "verifyPatent(uint256,uint256,uint8,uint64,uint64)",
        "rejectPatent(uint256,uint256,bytes32)",
        "expirePatent(uint256,uint256)",
        "rejectFamily(uint256,bytes32,address)",
        "familyRejected(uint256)",
        "familyIdClaimant(string)",
        "recordEvaluation(uint256,uint16,bytes32,string)",
        "stabilityScore(uint256)",
        "grantedIn(uint256,bytes2)",
        "family(uint256)",
        "patentCount(uint256)",
        "patentAt(uint256,uint256)",
        "evaluation(uint256)",
        "assetOfFamily(string)",
        "registerPool(address)",
        "enterPool(uint256)",
        "leavePool(uint256)",
        "poolsOf(uint256)",
        "isPool(address)",
        "totalAssets()",
    ]
    interface_id = 0
    for sig in signatures:
        interface_id ^= int.from_bytes(bytes(Web3.keccak(text=sig))[:4], "big")
    supports = world.assets.contract.functions.supportsInterface
    for iid in (
        interface_id.to_bytes(4, "big"),
        bytes.fromhex("80ac58cd"),
        bytes.fromhex("7965db0b"),
        bytes.fromhex("01ffc9a7"),
    ):
        assert supports(iid).call() is True, iid.hex()
    assert supports(bytes.fromhex("ffffffff")).call() is False
    assert supports(bytes.fromhex("12345678")).call() is False


# ---------------------------------------------------------------------------------- transfers


def test_after_a_transfer_the_new_owner_may_add_patents_and_the_old_owner_may_not(world: World) -> None:
    asset_id = with_patent(world, 1, "US", "US-TR-0")
    world.assets.record_evaluation(asset_id, 8_000, HASH_A, "m")
    result = transfer(world, 1, 2, asset_id)
    assert world.assets.events(result, "Transfer") == [
        {"from": addr(world, 1), "to": addr(world, 2), "tokenId": asset_id}
    ]
    assert world.assets.owner_of(asset_id) == addr(world, 2)

    assert world.assets_as(2).add_patent(asset_id, "CN", "CN-TR-1").value == 1
    with pytest.raises(PatentAssetNotOwner) as e:
        world.assets_as(1).add_patent(asset_id, "JP", "JP-TR-2")
    assert norm(e.value.error_args) == {"assetId": asset_id, "caller": addr(world, 1), "owner": addr(world, 2)}
    with pytest.raises(PatentAssetNotOwner) as e2:
        world.assets_as(1).update_dossier(asset_id, HASH_B, "ipfs://stolen")
    assert norm(e2.value.error_args) == {"assetId": asset_id, "caller": addr(world, 1), "owner": addr(world, 2)}

    # patents, evaluation and registration data travel with the token
    assert world.assets.patent_count(asset_id) == 2
    assert world.assets.patent_at(asset_id, 0)["publicationNumber"] == "USTR0"  # canonical form
    assert world.assets.stability_score(asset_id) == 8_000
    assert world.assets.asset_of_family("FAM-US-US-TR-0") == asset_id
