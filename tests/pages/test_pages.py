"""The public pages in a real browser (Debian's chromium, Playwright) over a really indexed demo chain.

What a person sees is read from the rendered page and compared with the chain's own views
(registry.client) or the demo's result; axe-core checks every page type for accessibility.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page
from web3 import Web3

from registry.chain import Chain
from registry.client import PatentAssetClient, PatentPoolClient
from registry.demo import DEMO_AS_OF
from registry.dossier import dossier_hash, load_dossier
from registry.stability import evaluate
from tests.api.conftest import Mirror, Seeded, Server, api_settings, get_json


@pytest.fixture(scope="module")
def reader(w3: Web3, keys: list[LocalAccount]) -> Chain:
    """A chain to read views through (the key signs nothing)."""
    return Chain(w3, keys[9])


def pool_client(reader: Chain, address: str) -> PatentPoolClient:
    return PatentPoolClient(reader, address)


def page_types(seeded: Seeded, client: httpx.Client) -> dict[str, str]:
    """One URL of every page type (and the error page), from the demo's result."""
    pool = seeded.pool("blockchain")
    created = get_json(client, f"/v1/pools/{pool.address}")["data"]["created"]["txHash"]
    return {
        "front": "/",
        "front filtered": "/?kind=technology&lifecycle=active",
        "pool": f"/pools/{pool.address}",
        "asset": f"/assets/{pool.suspended_assets[0]}",
        "company": f"/companies/{pool.founders[0]}",
        "licence form": "/licences/check",
        "licence answer": f"/licences/check?pool={pool.address}&licensee={pool.revoked_licensees[0]}"
        f"&asset={pool.asset_sample[0]}",
        "search": "/search?q=PPD",
        "status": "/status",
        "transaction": f"/tx/{created}",
        "not found": "/pools/0x" + "12" * 20,
    }


def text(page: Page, selector: str) -> str:
    return " ".join(page.locator(selector).inner_text().split())


def test_the_front_page_shows_every_pools_counts_as_the_chain_has_them(
    page: Page, seeded: Seeded, reader: Chain
) -> None:
    page.goto("/")
    cards = page.locator("li.card")
    assert cards.count() == len(seeded.result.pools)
    for result in seeded.result.pools:
        card = page.locator(f'li.card[data-pool="{result.address}"]')
        on_chain = pool_client(reader, result.address).counts()
        assert card.locator("h3").inner_text() == result.name
        assert result.lifecycle in card.locator(".tags").inner_text()
        assert int(card.locator('[data-count="members"]').inner_text()) == on_chain["members"] == result.members
        assert int(card.locator('[data-count="assets"]').inner_text()) == on_chain["assets"]
        assert int(card.locator('[data-count="licences"]').inner_text()) == on_chain["licences"]
        assert int(card.locator('[data-count="founders"]').inner_text()) == len(result.founders)
    total_members = sum(pool_client(reader, r.address).counts()["members"] for r in seeded.result.pools)
    assert int(page.locator('[data-total="members"]').inner_text()) == total_members
    assert int(page.locator('[data-total="pools"]').inner_text()) == len(seeded.result.pools)


def test_the_front_page_filters_pools_by_kind_and_stage(page: Page, seeded: Seeded) -> None:
    page.goto("/")
    page.select_option("#f-lifecycle", "incubating")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r"lifecycle=incubating"))
    shown = {page.locator("li.card").nth(n).get_attribute("data-pool") for n in range(page.locator("li.card").count())}
    assert shown == {p.address for p in seeded.result.pools if p.lifecycle == "incubating"}


def test_a_person_follows_a_pool_an_asset_and_a_company_and_comes_back(page: Page, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain")
    page.goto("/")
    page.get_by_role("link", name=pool.name, exact=True).click()
    page.wait_for_url(f"**/pools/{pool.address}")
    assert page.locator("h1").inner_text() == pool.name
    asset_id = pool.suspended_assets[0]
    row = page.locator("#assets tbody tr").first
    first_asset = row.locator("td").first.inner_text().lstrip("#")
    row.locator("td a").first.click()
    page.wait_for_url(f"**/assets/{first_asset}")
    assert "In pools" in page.locator("main").inner_text()
    assert page.locator(f'#pools a[href="/pools/{pool.address}"]').count() == 1
    page.goto(f"/assets/{asset_id}")
    assert "suspended" in text(page, "#pools")
    founder = pool.founders[0]
    page.goto(f"/pools/{pool.address}")
    page.locator(f'#founders a[href="/companies/{founder}"]').click()
    page.wait_for_url(f"**/companies/{founder}")
    assert page.locator("#company-address").inner_text() == founder
    assert page.locator(f'#founds a[href="/pools/{pool.address}"]').inner_text() == pool.name
    page.get_by_role("link", name="Pools", exact=True).first.click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("h1").inner_text() == "Patent pools"


def test_an_asset_page_shows_the_scorecard_factors_verified_against_the_chain_and_links_the_dossier(
    page: Page, seeded: Seeded, reader: Chain
) -> None:
    pool = seeded.pool("blockchain")
    asset_id = pool.asset_sample[0]
    registry = PatentAssetClient(reader, seeded.deployment.address("PatentAsset"))
    evaluation = registry.evaluation(asset_id)
    page.goto(f"/assets/{asset_id}")
    assert page.locator("#scorecard-verdict").get_attribute("data-verified") == "true"
    assert text(page, "#scorecard-verdict").startswith("verified")
    factors = page.locator("#scorecard tbody tr")
    assert factors.count() == 7
    report = evaluate(
        load_dossier(Path(seeded.result.dossier_dir) / f"{registry.family(asset_id)['familyId']}.json"), DEMO_AS_OF
    )
    shown = []
    for i in range(factors.count()):
        cells = [c.strip() for c in factors.nth(i).locator("td").all_inner_texts()]
        shown.append((cells[0], int(cells[1]), int(cells[2].removesuffix(" bps"))))
    assert shown == [(f.name, f.raw, f.contributionBps) for f in report.factors]
    total = int(page.locator("#scorecard [data-total]").inner_text().removesuffix(" bps"))
    assert total == sum(points for _, _, points in shown) == evaluation["scoreBps"]
    full_hashes = page.locator("#scorecard code.hash").evaluate_all("els => els.map(e => e.title)")
    assert "0x" + bytes(evaluation["reportHash"]).hex() in full_hashes

    link = page.locator("#dossier-json")
    with page.expect_download() as download:
        link.click()
    saved = Path(download.value.path())
    assert dossier_hash(saved) == registry.family(asset_id)["dossierHash"]


def check_licence(page: Page, pool: str, licensee: str, asset: int) -> str:
    page.goto("/licences/check")
    page.select_option("#c-pool", pool)
    page.fill("#c-licensee", licensee)
    page.fill("#c-asset", str(asset))
    page.click("form.form button")
    page.wait_for_selector("#answer")
    return text(page, "#answer")


def test_a_licence_check_through_the_form_reads_what_the_chain_says_and_why(
    page: Page, seeded: Seeded, reader: Chain, w3: Web3
) -> None:
    result = seeded.pool("blockchain")
    contract = pool_client(reader, result.address)
    now = int(w3.eth.get_block("latest")["timestamp"])
    member, revoked, asset = result.member_sample[0], result.revoked_licensees[0], result.asset_sample[0]
    suspended = result.suspended_assets[0]

    seen = check_licence(page, result.address, member, asset)
    assert contract.is_licensed(member, asset, now)
    assert seen.startswith("Licensed")
    assert "membership" in seen
    permanent = page.url
    assert f"licensee={member}" in permanent and f"asset={asset}" in permanent

    seen = check_licence(page, result.address, revoked, asset)
    assert not contract.is_licensed(revoked, asset, now)
    assert seen.startswith("Not licensed")
    assert "revoked" in seen and "licence_revoked" in seen
    assert page.locator("section a.tx", has_text="revocation transaction").count() == 1

    seen = check_licence(page, result.address, member, suspended)
    assert not contract.is_licensed(member, suspended, now)
    assert seen.startswith("Not licensed")
    assert "suspended" in seen and "asset_suspended" in seen

    page.goto(permanent)  # the link a member sends its customer answers the same
    assert text(page, "#answer").startswith("Licensed")


def test_a_licence_check_with_a_bad_address_says_what_is_wrong_on_the_form(page: Page, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain")
    response = page.goto(f"/licences/check?pool={pool.address}&licensee=0x1234&asset=1")
    assert response is not None and response.status == 400
    assert "licensee must be an address" in text(page, ".form-error")
    assert page.locator("#c-licensee").input_value() == "0x1234"


def test_a_pools_members_download_as_the_apis_csv(page: Page, seeded: Seeded, reader: Chain) -> None:
    result = seeded.pool("blockchain")
    page.goto(f"/pools/{result.address}")
    with page.expect_download() as info:
        page.locator("#members a", has_text="Download CSV").click()
    path = info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    assert len(rows) == pool_client(reader, result.address).counts()["members"]
    assert set(result.member_sample) <= {r["member"] for r in rows}
    assert all(r["provenance.txHash"].startswith("0x") for r in rows)


def test_searching_a_publication_number_finds_its_family(page: Page, seeded: Seeded, reader: Chain) -> None:
    asset_id = seeded.pool("metaverse").asset_sample[0]
    registry = PatentAssetClient(reader, seeded.deployment.address("PatentAsset"))
    number = registry.patent_at(asset_id, 0)["publicationNumber"]
    family = registry.family(asset_id)["familyId"]
    page.goto("/status")
    page.fill("#site-q", number.lower())
    page.press("#site-q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    assert number in text(page, "main")
    page.locator(f'main a[href="/assets/{asset_id}"]').first.click()
    page.wait_for_url(f"**/assets/{asset_id}")
    assert page.locator("h1").inner_text() == family


def test_searching_a_pool_address_opens_the_pool(page: Page, seeded: Seeded) -> None:
    pool = seeded.pool("lidar")
    page.goto("/search?q=" + pool.address.lower())
    assert page.url.endswith(f"/pools/{pool.address}")


def test_every_fact_links_to_a_transaction_page_showing_its_events(page: Page, seeded: Seeded) -> None:
    pool = seeded.pool("blockchain")
    page.goto(f"/pools/{pool.address}")
    member_tx = page.locator("#members tbody tr").first.locator("a.tx")
    member = page.locator("#members tbody tr").first.locator(".addr").get_attribute("title")
    member_tx.click()
    page.wait_for_url(re.compile(r"/tx/0x[0-9a-f]{64}$"))
    events = text(page, "main")
    assert "MemberJoined" in events
    assert page.locator(f'a[href="/companies/{member}"]').count() >= 1


def test_errors_are_pages_in_the_layout_and_the_api_keeps_problem_json(
    page: Page, server: Server, client: httpx.Client
) -> None:
    unknown = "0x" + "12" * 20
    response = page.goto(f"/pools/{unknown}")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no pool at" in text(page, ".problem")
    assert page.locator("#site-q").count() == 1  # the layout, with its search box
    assert "Traceback" not in page.content()
    api = client.get(f"/v1/pools/{unknown}")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    assert "nothing is served at /no/such/page" in text(page, ".problem")


@pytest.mark.parametrize("width", [360, 1920])
def test_every_page_type_fits_the_screen_without_horizontal_scrolling(
    page: Page, seeded: Seeded, client: httpx.Client, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    for name, url in page_types(seeded, client).items():
        page.goto(url)
        scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{name} ({url}) scrolls sideways at {width} px: {scroll} > {inner}"


def test_every_internal_link_on_the_visited_pages_resolves(
    page: Page, seeded: Seeded, server: Server, client: httpx.Client
) -> None:
    links: set[str] = set()
    for url in page_types(seeded, client).values():
        page.goto(url)
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            if href.startswith("#"):
                continue  # a place on the page itself (the skip link)
            absolute = urljoin(server.url + url, href)
            parts = urlsplit(absolute)
            if parts.netloc == urlsplit(server.url).netloc:
                links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert any(link.startswith("/tx/") for link in links)
    broken = {}
    for link in sorted(links):
        response = client.get(link)
        if response.status_code >= 400:
            broken[link] = response.status_code
    assert not broken, broken


def axe_violations(page: Page, script: Path) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(script))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target)}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_or_critical_violation_on_any_page_type(
    page: Page, seeded: Seeded, client: httpx.Client, axe_script: Path
) -> None:
    failures = {}
    for name, url in page_types(seeded, client).items():
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(url)
            serious = axe_violations(page, axe_script)
            if serious:
                failures[f"{name} at {width} px"] = serious
    assert not failures, failures


def test_a_transaction_page_links_to_the_block_explorer_when_one_is_set(
    mirror: Mirror, seeded: Seeded, client: httpx.Client
) -> None:
    pool = seeded.pool("blockchain")
    created = get_json(client, f"/v1/pools/{pool.address}")["data"]["created"]["txHash"]
    assert f"explorer.example/tx/{created}" not in client.get(f"/tx/{created}").text
    with (
        Server(api_settings(mirror, explorer_url="https://explorer.example/")) as explored,
        httpx.Client(base_url=explored.url, timeout=30) as http,
    ):
        body = http.get(f"/tx/{created}").text
    assert f'href="https://explorer.example/tx/{created}"' in body
    assert "PoolCreated" in body
