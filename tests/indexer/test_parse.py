"""eth_getLogs answers: msgspec's typed decoding (`parse_logs`) equals the plain-JSON reference
(`log_from_rpc`) on random and altered answers: the same logs, or, where the typed decoder steps
aside, the reference's own error; and the node's answers go through the typed path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.errors import MalformedRequest
from indexer.fetch import Rpc
from indexer.logs import Log, log_from_rpc, parse_logs
from registry.node import AnvilNode
from tests.conftest import World


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call returns, or the type and words of what it raises, to compare two implementations."""
    try:
        return ("value", call())
    except Exception as exc:  # the point: both raise the same
        return ("error", (type(exc).__name__, str(exc)))


_HEX = "0123456789abcdefABCDEF"


def _hex(size: int) -> st.SearchStrategy[str]:
    return st.text(_HEX, min_size=size, max_size=size).map(lambda digits: "0x" + digits)


def _quantity() -> st.SearchStrategy[str]:
    return st.integers(0, 2**70).map(hex)


#: Values a node should never send, in place of any field.
_ODD = st.one_of(
    st.sampled_from(["", "0x", "0X1f", " 0x1", "0x1_0", "0xzz", "12", "0x" + "1" * 17, "0xé1", "0x٣"]),
    st.integers(-2, 2),
    st.none(),
    st.lists(st.just("0x" + "aa" * 32), max_size=2),
    st.lists(st.integers(0, 3), min_size=1, max_size=2),
    _hex(40),
    _hex(64),
)


@st.composite
def raw_logs(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "address": draw(_hex(40)),
        "topics": draw(st.lists(_hex(64), max_size=4)),
        "data": draw(st.integers(0, 6).flatmap(lambda words: _hex(64 * words))),
        "blockNumber": draw(_quantity()),
        "blockHash": draw(_hex(64)),
        "transactionHash": draw(_hex(64)),
        "transactionIndex": draw(_quantity()),
        "logIndex": draw(_quantity()),
        "removed": False,
    }
    for key in draw(st.lists(st.sampled_from(sorted(raw)), max_size=2)):
        if draw(st.booleans()):
            raw[key] = draw(_ODD)
        else:
            raw.pop(key, None)
    return raw


def _reference(body: bytes) -> list[Log]:
    return [log_from_rpc(raw) for raw in orjson.loads(body)["result"]]


def _typed_or_reference(body: bytes) -> list[Log]:
    logs = parse_logs(body)
    return _reference(body) if logs is None else logs


@settings(max_examples=400, deadline=None)
@given(raws=st.lists(raw_logs(), max_size=4))
def test_typed_decoding_equals_the_reference_parser(raws: list[dict[str, Any]]) -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": raws})
    assert outcome(lambda: _typed_or_reference(body)) == outcome(lambda: _reference(body))


def test_typed_decoding_parses_a_node_answer() -> None:
    raw = {
        "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "topics": ["0xDDF252AD1BE2C89B69C2B068FC378DAA952BA7F163C4A11628F55A4DF523B3EF"],
        "data": "0x" + "00" * 31 + "2A",
        "blockNumber": "0x1b4",
        "blockHash": "0x" + "Ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x11",
        "removed": False,
    }
    [log] = parse_logs(orjson.dumps({"jsonrpc": "2.0", "id": 7, "result": [raw]})) or []
    assert type(log) is Log
    assert log == log_from_rpc(raw)
    assert log.block_number == 0x1B4 and log.log_index == 0x11 and log.block_hash == "0x" + "ab" * 32
    assert log.topics == ("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",)
    assert log.address == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    assert log.data == "0x" + "00" * 31 + "2a"


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid params"}}',
        b'{"jsonrpc":"2.0","id":1,"result":null}',
        b'{"jsonrpc":"2.0","id":1,"result":[{"blockNumber":1}]}',
        b"[]",
        b"not json",
    ],
)
def test_answers_of_another_shape_are_left_to_the_reference(body: bytes) -> None:
    assert parse_logs(body) is None


def test_the_client_reads_a_nodes_logs_typed_and_its_errors_as_before(world: World, anvil: AnvilNode) -> None:
    start, head = world.deployment.start_block, world.w3.eth.block_number
    query = {"fromBlock": hex(start), "toBlock": hex(head), "address": [world.deployment.address("PatentAsset")]}
    rpc = Rpc(anvil.url)
    logs = rpc.get_logs(query)
    raws = rpc.call("eth_getLogs", [query])
    assert logs and logs == [log_from_rpc(raw) for raw in raws]
    with pytest.raises(MalformedRequest):
        rpc.get_logs({"fromBlock": "0xnot-a-number"})
