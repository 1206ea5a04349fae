"""The word-by-word decoder equals eth_abi on every event the indexer knows, valid or not."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.decode import EventAbi, decode_log, event_abis
from indexer.logs import Log

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
    assert {"PoolCreated", "FamilyRegistered"} <= {abi.name for abi in _SLOW}  # strings: not static words
    # ... but every event the indexer knows has a reader of its own for canonical data
    assert all(abi.read is not None for abi in event_abis().values())


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


def _values(type_string: str) -> st.SearchStrategy[Any]:
    """Values eth_abi can encode as `type_string` (the types of the indexer's events)."""
    if type_string.endswith("[]"):
        return st.lists(_values(type_string[:-2]), max_size=4)
    if type_string == "string":
        return st.text(max_size=70)
    if type_string == "bytes":
        return st.binary(max_size=70)
    if type_string == "address":
        return st.binary(min_size=20, max_size=20)
    if type_string == "bool":
        return st.booleans()
    if type_string.startswith("bytes"):
        size = int(type_string[5:])
        return st.binary(min_size=size, max_size=size)
    bits = int(type_string.lstrip("uint") or 256)
    if type_string.startswith("int"):
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return st.integers(0, (1 << bits) - 1)


def _mutated(data: str, how: int, where: int, digit: str) -> str:
    """`data` (0x hex) with one change that a decoder may or may not accept: a hex digit replaced,
    a word cut off the end, a word added, or nothing."""
    body = data[2:]
    if how == 0 and body:
        at = where % len(body)
        body = body[:at] + digit + body[at + 1 :]
    elif how == 1:
        body = body[:-64]
    elif how == 2:
        body += digit * 64
    return "0x" + body


@pytest.mark.parametrize("abi", _SLOW, ids=lambda a: a.signature)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_the_reader_of_strings_and_arrays_equals_eth_abi(abi: EventAbi, data: st.DataObject) -> None:
    """Canonical encodings of random values, then with a digit changed (often an offset, a length or
    padding), cut short or lengthened: the event's own reader and eth_abi give the same."""
    values = [data.draw(_values(t)) for t in abi.data_types]
    encoded = "0x" + abi_encode(list(abi.data_types), values).hex()
    log = _log(abi, [], "")._replace(data=encoded)
    assert decode_log(log) == decode_log(log, fast=False)
    assert decode_log(log)[0] == abi.name
    how = data.draw(st.integers(0, 3))
    where = data.draw(st.integers(0, 10_000))
    digit = data.draw(st.sampled_from("0123456789abcdef"))
    changed = log._replace(data=_mutated(encoded, how, where, digit))
    assert decode_log(changed) == decode_log(changed, fast=False)


def _sample(type_string: str) -> Any:
    """One value of `type_string` whose encoding has a multi-byte UTF-8 character and padding."""
    if type_string.endswith("[]"):
        return [_sample(type_string[:-2])]
    if type_string == "string":
        return "é"
    if type_string == "bytes":
        return b"\x01"
    if type_string == "address":
        return "0x" + "00" * 20
    if type_string.startswith("bytes"):
        return b"\x01" * int(type_string[5:])
    return 1


@pytest.mark.parametrize("abi", _SLOW, ids=lambda a: a.signature)
def test_the_reader_of_strings_and_arrays_refuses_what_eth_abi_refuses(abi: EventAbi) -> None:
    encoded = abi_encode(list(abi.data_types), [_sample(t) for t in abi.data_types]).hex()
    broken = [
        encoded.replace("c3a9", "c328", 1),  # "é" made invalid UTF-8
        encoded[:-2] + "01",  # the last padding byte not zero
        encoded[:-64],  # cut short
    ]
    for body in broken:
        log = _log(abi, [], "")._replace(data="0x" + body)
        assert decode_log(log) == decode_log(log, fast=False)
