"""The response cache (api/cache.py): an answer computed at a checkpoint is replayed, byte for byte,
until the checkpoint changes; nothing that reads the live chain or the disk is kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentPoolClient
from tests.api.conftest import Mirror, Seeded, Server, api_settings
from tests.conftest import YEAR


@pytest.fixture
def served(mirror: Mirror) -> Iterator[httpx.Client]:
    with Server(api_settings(mirror)) as running, httpx.Client(base_url=running.url, timeout=30) as http:
        yield http


def test_an_answer_is_computed_once_per_url_and_checkpoint(served: httpx.Client, seeded: Seeded) -> None:
    path = f"/v1/pools/{seeded.pool('blockchain').address}/members"
    first = served.get(path, params={"limit": 5})
    second = served.get(path, params={"limit": 5})
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert second.content == first.content
    for header in ("etag", "cache-control", "x-indexed-block", "x-indexed-block-hash", "content-type"):
        assert second.headers[header] == first.headers[header]
    # Another query, another Accept: computed on their own.
    assert served.get(path, params={"limit": 6}).headers["x-cache"] == "miss"
    as_csv = served.get(path, params={"limit": 5}, headers={"Accept": "text/csv"})
    assert as_csv.headers["x-cache"] == "miss" and as_csv.headers["content-type"].startswith("text/csv")
    again = served.get(path, params={"limit": 5}, headers={"Accept": "text/csv"})
    assert again.headers["x-cache"] == "hit" and again.content == as_csv.content

    # A replayed answer honours If-None-Match (304 with the validators) and HEAD (no body).
    not_modified = served.get(path, params={"limit": 5}, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert not_modified.headers["x-indexed-block"] == first.headers["x-indexed-block"]
    head = served.head(path, params={"limit": 5})
    assert head.status_code == 200 and head.content == b"" and head.headers["x-cache"] == "hit"
    assert head.headers["content-length"] == str(len(first.content))


def test_problems_and_live_reads_are_never_kept(served: httpx.Client, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain")
    for _ in range(2):
        missing = served.get("/v1/assets/987654")
        assert missing.status_code == 404 and "x-cache" not in missing.headers
        verify = served.get(
            "/v1/licences/verify",
            params={"pool": pool.address, "licensee": pool.member_sample[0], "asset": pool.asset_sample[0]},
        )
        assert verify.status_code == 200 and "x-cache" not in verify.headers
        status = served.get("/v1/status")
        assert status.status_code == 200 and "x-cache" not in status.headers
        page = served.get("/status")
        assert page.status_code == 200 and "x-cache" not in page.headers and "etag" not in page.headers


def test_a_new_checkpoint_drops_every_kept_answer(
    served: httpx.Client, seeded: Seeded, w3: Web3, keys: list[LocalAccount], chain_change: Callable[[], None]
) -> None:
    result = seeded.pool("blockchain")
    path = f"/v1/pools/{result.address}/offers"
    before = served.get(path)
    assert served.get(path).headers["x-cache"] == "hit"
    start = int(w3.eth.get_block("latest")["timestamp"])
    operator = PatentPoolClient(Chain(w3, keys[0]), result.address)
    offer = operator.offer_licence(keys[3].address, [], start, start + YEAR, 10**6, keccak(text="cache")).value
    chain_change()

    after = served.get(path)
    assert after.headers["x-cache"] == "miss"
    assert int(after.headers["x-indexed-block"]) > int(before.headers["x-indexed-block"])
    assert offer in [row["offerId"] for row in after.json()["data"]]
    assert offer not in [row["offerId"] for row in before.json()["data"]]


def test_the_checkpoint_is_reread_at_most_every_recheck_seconds(
    mirror: Mirror,
    seeded: Seeded,
    w3: Web3,
    keys: list[LocalAccount],
    chain_change: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between two reads of the checkpoint a kept answer is served even if the mirror moved on; the
    read after `recheck` seconds (the clock moved forward here) finds the new checkpoint."""
    clock = [1_000.0]
    monkeypatch.setattr("api.cache._now", lambda: clock[0])
    result = seeded.pool("blockchain")
    path = f"/v1/pools/{result.address}/offers"
    settings = api_settings(mirror, response_cache_recheck=5.0)
    with Server(settings) as running, httpx.Client(base_url=running.url, timeout=30) as http:
        before = http.get(path)
        start = int(w3.eth.get_block("latest")["timestamp"])
        PatentPoolClient(Chain(w3, keys[0]), result.address).offer_licence(
            keys[3].address, [], start, start + YEAR, 10**6, keccak(text="recheck")
        )
        chain_change()
        clock[0] += 4.9
        stale = http.get(path)
        assert stale.headers["x-cache"] == "hit" and stale.content == before.content
        clock[0] += 0.2
        fresh = http.get(path)
        assert fresh.headers["x-cache"] == "miss"
        assert int(fresh.headers["x-indexed-block"]) > int(before.headers["x-indexed-block"])


def test_answers_that_read_the_dossier_folder_are_not_kept(mirror: Mirror, seeded: Seeded) -> None:
    asset = seeded.pool("blockchain").asset_sample[0]
    settings = api_settings(mirror, dossier_dir=Path(seeded.result.dossier_dir))
    with Server(settings) as running, httpx.Client(base_url=running.url, timeout=30) as http:
        for _ in range(2):
            answer = http.get(f"/v1/assets/{asset}")
            assert answer.status_code == 200 and "x-cache" not in answer.headers


def test_the_cache_is_bounded_and_can_be_turned_off(mirror: Mirror, seeded: Seeded) -> None:
    path = f"/v1/pools/{seeded.pool('blockchain').address}/members"
    with Server(api_settings(mirror, response_cache_bytes=0)) as running, httpx.Client(base_url=running.url) as http:
        for _ in range(2):
            assert "x-cache" not in http.get(path).headers
    # A budget of 16,000 bytes: a body over 2,000 bytes (an eighth) is never kept; about ten
    # one-member pages (about 1,000 bytes of body and 450 of headers each) are.
    with (
        Server(api_settings(mirror, response_cache_bytes=16_000)) as running,
        httpx.Client(base_url=running.url) as http,
    ):
        one = http.get(path, params={"limit": 1})
        assert len(one.content) < 2_000
        assert http.get(path, params={"limit": 1}).headers["x-cache"] == "hit"
        big = http.get(path, params={"limit": 3})
        assert len(big.content) > 2_000
        assert http.get(path, params={"limit": 3}).headers["x-cache"] == "miss"
        # Other URLs (an unknown parameter is ignored, but it is another URL) push the oldest out.
        for other in range(20):
            assert http.get(path, params={"limit": 1, "n": other}).headers["x-cache"] == "miss"
        assert http.get(path, params={"limit": 1, "n": 19}).headers["x-cache"] == "hit"
        assert http.get(path, params={"limit": 1}).headers["x-cache"] == "miss"


def test_a_replayed_answer_is_still_rate_limited(mirror: Mirror, seeded: Seeded) -> None:
    path = f"/v1/pools/{seeded.pool('blockchain').address}"
    with Server(api_settings(mirror, rate_limit="3/minute")) as running, httpx.Client(base_url=running.url) as http:
        answers = [http.get(path) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("x-cache") for a in answers[:3]] == ["miss", "hit", "hit"]
    assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]


def test_identical_requests_arriving_together_are_computed_once(mirror: Mirror, seeded: Seeded) -> None:
    """Sixteen clients ask for the same (large) page at once, at a checkpoint nobody asked about
    before: one request computes it, the others wait for it and replay it."""
    path = f"/v1/pools/{seeded.pool('blockchain').address}/members?limit=500"

    async def together(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            return list(await asyncio.gather(*(http.get(path) for _ in range(16))))

    with Server(api_settings(mirror)) as running:
        answers = asyncio.run(together(running.url))
    assert {a.status_code for a in answers} == {200}
    assert sorted(a.headers["x-cache"] for a in answers) == ["hit"] * 15 + ["miss"]
    assert len({a.content for a in answers}) == 1
