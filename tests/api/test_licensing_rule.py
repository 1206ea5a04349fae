"""`api.licensing.explain` follows contracts v2's `isLicensed` on hand-made rows (no chain): the
time edges the chain tests reach only slowly. The chain-backed tests (test_verify.py) check the
same rule against the node."""

from __future__ import annotations

from typing import Any

from api.licensing import Evidence, Term, _iso, explain
from indexer.schema import Contribution, Licence

WHO = "0x" + "ab" * 20
ASSET = 7
T0 = 1_800_000_000


def contribution(**fields: Any) -> Contribution:
    return Contribution(pool="0xpool", asset_id=ASSET, contributed_at=T0, **fields)


def term(valid_from: int, valid_until: int, paid_at: int, block: int = 1) -> Term:
    return Term("MemberJoined", 0, 1, valid_from, valid_until, paid_at, "0xtx", block, "0xblock", 0)


def licence(licence_id: int, start: int, end: int, granted_at: int, **fields: Any) -> Licence:
    fields.setdefault("whole_pool", True)
    return Licence(
        pool="0xpool", licence_id=licence_id, licensee=WHO, start=start, end=end, granted_at=granted_at, **fields
    )


def ask(at: int, c: Contribution, terms: list[Term] | None = None, licences: list[Licence] | None = None) -> str:
    verdict = explain(WHO, ASSET, at, Evidence(c, None, terms or [], licences or []))
    assert verdict.licensed == (verdict.code in ("membership", "licence"))
    return verdict.code


def test_a_suspension_counts_from_its_moment_on() -> None:
    c = contribution(suspended=True, suspended_at=T0 + 100, suspended_by_dispute=1, status="suspended")
    terms = [term(T0, T0 + 1000, T0)]
    assert ask(T0 + 99, c, terms) == "membership"
    assert ask(T0 + 100, c, terms) == "asset_suspended"
    assert ask(T0 - 1, c, terms) == "asset_not_yet_in_pool"


def test_a_suspension_lifted_on_appeal_counts_only_between_its_moments() -> None:
    """Issue 14, point 8: the latest suspension or lifting at or before `at` decides; in one
    second the later log wins, as the contract's checkpoints keep a second's last value."""
    c = contribution(suspended=False, suspended_at=T0 + 300, suspended_by_dispute=2, lifted_at=T0 + 200)
    history = [(T0 + 100, True, 1), (T0 + 200, False, 0), (T0 + 300, True, 2), (T0 + 300, False, 0)]
    terms = [term(T0, T0 + 1000, T0)]

    def ask_with(at: int) -> str:
        return explain(WHO, ASSET, at, Evidence(c, None, terms, [], {}, history)).code

    assert [ask_with(t) for t in (T0 + 99, T0 + 100, T0 + 199, T0 + 200, T0 + 300, T0 + 999)] == [
        "membership",
        "asset_suspended",
        "asset_suspended",
        "membership",
        "membership",
        "membership",
    ]
    verdict = explain(WHO, ASSET, T0 + 150, Evidence(c, None, terms, [], {}, history))
    assert "dispute 1" in verdict.explanation
    assert verdict.explanation.endswith(f"from then on until it was lifted on appeal at {_iso(T0 + 200)}")
    # A suspension still in force says so without a lifting time.
    c = contribution(suspended=True, suspended_at=T0 + 300, suspended_by_dispute=2, lifted_at=T0 + 200)
    held = explain(WHO, ASSET, T0 + 400, Evidence(c, None, terms, [], {}, history[:3])).explanation
    assert "dispute 2" in held and held.endswith("from then on")


def test_a_revoked_licence_covers_until_its_revocation() -> None:
    c = contribution()
    revoked = licence(1, T0, T0 + 1000, T0, status="revoked", revoked_at=T0 + 500)
    assert ask(T0 + 499, c, licences=[revoked]) == "licence"
    assert ask(T0 + 500, c, licences=[revoked]) == "licence_revoked"
    assert ask(T0 + 1000, c, licences=[revoked]) == "licence_ended"
    # A licence granted after the revocation, starting at its moment, covers from there on.
    follow = licence(2, T0 + 500, T0 + 2000, T0 + 600)
    assert ask(T0 + 499, c, licences=[revoked, follow]) == "licence"
    assert ask(T0 + 550, c, licences=[revoked, follow]) == "licence"


def test_a_later_licence_with_the_same_start_replaces_the_earlier_one() -> None:
    c = contribution()
    # Revoked before it began: the next one may start at the same second and takes the checkpoint.
    first = licence(1, T0 + 100, T0 + 1000, T0, status="revoked", revoked_at=T0 + 10)
    second = licence(2, T0 + 100, T0 + 200, T0 + 20)
    assert ask(T0 + 150, c, licences=[first, second]) == "licence"
    assert ask(T0 + 200, c, licences=[first, second]) == "licence_ended"


def test_a_whole_pool_licence_covers_only_assets_contributed_by_its_grant() -> None:
    whole = licence(1, T0 - 500, T0 + 1000, T0 - 100)
    assert ask(T0 + 10, contribution(), licences=[whole]) == "asset_joined_after_licence"
    assert ask(T0 + 10, contribution(), licences=[licence(1, T0 - 500, T0 + 1000, T0)]) == "licence"
    named = licence(2, T0 - 500, T0 + 1000, T0 - 100, whole_pool=False, asset_ids=[ASSET])
    assert ask(T0 + 10, contribution(), licences=[named]) == "licence"


def test_cover_paid_after_a_withdrawal_was_announced_ends_at_its_effective_date() -> None:
    announced, effective = T0 + 100, T0 + 200
    c = contribution(withdrawal_announced_at=announced, withdrawal_effective_at=effective, status="withdrawing")
    late = [term(T0 + 150, T0 + 1000, T0 + 150)]
    assert ask(effective - 1, c, late) == "membership"
    assert ask(effective, c, late) == "asset_withdrawn"
    # Paid in the second of the announcement: counts as paid before it.
    same_second = [term(announced, T0 + 1000, announced)]
    assert ask(effective + 10, c, same_second) == "membership"
    late_licence = [licence(1, T0, T0 + 1000, T0 + 150)]
    assert ask(effective, c, licences=late_licence) == "asset_withdrawn"


def test_cover_paid_after_the_withdrawal_never_binds_and_in_its_second_still_does() -> None:
    c = contribution(
        withdrawal_announced_at=T0 + 100, withdrawal_effective_at=T0 + 200, withdrawn_at=T0 + 300, status="withdrawn"
    )
    assert ask(T0 + 400, c, [term(T0 + 301, T0 + 1000, T0 + 301)]) == "asset_withdrawn"
    assert ask(T0 + 50, c, [term(T0 + 10, T0 + 1000, T0 + 10)]) == "membership"
    assert ask(T0 + 400, c, [term(T0 + 10, T0 + 1000, T0 + 10)]) == "membership"
    # Paid in the very second the asset left, after the announcement: covers only until the effective date.
    assert ask(T0 + 400, c, [term(T0 + 300, T0 + 1000, T0 + 300)]) == "asset_withdrawn"
