"""GET /v1/licences/certificate under a real uvicorn: the downloaded file checks VALID with the
stand-alone checker against anvil's block hash; questions without an answer are problems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.settings import ApiSettings
from tests.api.conftest import TEST_RATE_LIMIT, Server
from tests.conftest import USDC, World
from tests.registry.test_certificate import checker

FOUNDER, MEMBER, STRANGER = 1, 2, 3


@pytest.fixture
def api(world: World, tmp_path: Path) -> Iterator[httpx.Client]:
    """The API over the session's anvil; the route reads the node only (the mirror stays empty)."""
    url = world.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    settings = ApiSettings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", rpc_url=url, rate_limit=TEST_RATE_LIMIT)
    with Server(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_the_certificate_downloaded_checks_valid(world: World, api: httpx.Client) -> None:
    asset_id = world.founder_with_asset(FOUNDER)
    world.pool.set_tier_fee(0, 500 * USDC)
    world.pool.activate()
    world.fund(MEMBER, 500 * USDC)
    world.pool_as(MEMBER).join(0, 500 * USDC)
    member = world.keys[MEMBER].address
    response = api.get("/v1/licences/certificate", params={"pool": world.pool.address, "licensee": member,
                                                             "asset": asset_id})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="licence-certificate-{member}-')
    document = response.json()
    assert (document["claim"]["licensed"], document["claim"]["reason"]) == (True, "membership")
    trusted = bytes(world.w3.eth.get_block(document["block"]["number"])["hash"])
    verdict = checker.check(document, block_hash=trusted)
    assert verdict.valid, verdict.sentence

    stranger = world.keys[STRANGER].address
    response = api.get("/v1/licences/certificate", params={"pool": world.pool.address, "licensee": stranger,
                                                             "asset": asset_id, "at": "2030-01-01"})  # fmt: skip
    document = response.json()
    assert (document["claim"]["licensed"], document["claim"]["at"]) == (False, 1893456000)
    assert checker.check(document, block_hash=bytes(world.w3.eth.get_block(document["block"]["number"])["hash"])).valid


def test_questions_without_an_answer_are_problems(world: World, api: httpx.Client) -> None:
    asset_id = world.founder_with_asset(FOUNDER)
    me = world.keys[MEMBER].address
    cases: list[tuple[dict[str, str | int], int, str]] = [
        ({"pool": world.pool.address, "licensee": me, "asset": 9999}, 404, "asset 9999 does not exist"),
        ({"pool": me, "licensee": me, "asset": asset_id}, 404, "is not a PatentPool"),
        ({"pool": world.pool.address, "licensee": me, "asset": asset_id, "block": 10**9}, 404, "does not exist"),
        ({"pool": "nowhere", "licensee": me, "asset": asset_id}, 400, "pool must be an address"),
        ({"pool": world.pool.address, "licensee": me, "asset": asset_id, "at": "soon"}, 422, "at must be"),
    ]
    for params, status, words in cases:
        response = api.get("/v1/licences/certificate", params=params)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"], response.text
