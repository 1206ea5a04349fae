"""The word-by-word decoder equals eth_abi on every event the indexer knows, valid or not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.decode import EventAbi, Log, decode_log, event_abis

_FAST = sorted((abi for abi in event_abis().values() if abi.words is not None), key=lambda a: a.signature)
_SLOW = sorted((abi for abi in event_abis().values() if abi.words is None), key=lambda a: a.signature)

#: Words that hit every edge a strict decoder checks: padding, sign, width limits, booleans.
_EDGE_WORDS = [
    "0" * 64,
    "0" * 63 + "1",
    "0" * 63 + "2",
    "f" * 64,
    "8" + "0" * 63,
    "7" + "f" * 63,
    "0" * 24 + "ab" * 20,
    "0" * 23 + "1" + "ab" * 20,
    "1234" + "0" * 60,
    "1234" + "0" * 59 + "1",
    "0" * 52 + "f" * 12,
    "0" * 51 + "1" + "0" * 12,
    "0" * 54 + "ff" + "f" * 8,
    "f" * 58 + "8" + "0" * 5,
]


def _log(abi: EventAbi, words: list[str], extra: str = "") -> Log:
    topics = (abi.topic0, *("0x" + "0" * 24 + "11" * 20 for _ in abi.indexed))
    return Log(1, "0x" + "22" * 32, "0x" + "33" * 32, 0, 0, "0x" + "44" * 20, topics, "0x" + "".join(words) + extra)


def test_the_common_events_take_the_word_path() -> None:
    names = {abi.name for abi in _FAST}
    assert {"MemberJoined", "MembershipRenewed", "RevenueReceived", "Transfer", "LicenceGranted"} <= names
    assert {"PoolCreated", "FamilyRegistered"} <= {abi.name for abi in _SLOW}  # strings go through eth_abi


@pytest.mark.parametrize("abi", _FAST, ids=lambda a: a.signature)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_word_decoder_equals_eth_abi(abi: EventAbi, data: st.DataObject) -> None:
    word = st.one_of(st.sampled_from(_EDGE_WORDS), st.binary(min_size=32, max_size=32).map(bytes.hex))
    words = [data.draw(word) for _ in abi.words or ()]
    extra = data.draw(st.sampled_from(["", "00" * 32, "ff"]))
    log = _log(abi, words, extra)
    assert decode_log(log) == decode_log(log, fast=False)


@pytest.mark.parametrize("abi", [a for a in _FAST if a.words], ids=lambda a: a.signature)
def test_short_data_is_unknown_on_both_paths(abi: EventAbi) -> None:
    assert abi.words is not None
    log = _log(abi, ["0" * 64] * (len(abi.words) - 1))
    fast, slow = decode_log(log), decode_log(log, fast=False)
    assert fast == slow
    assert fast[0] == "Unknown"
