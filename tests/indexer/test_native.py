"""The compiled speed-ups (indexer/_speedups.c) equal the Python code they stand in for, on random
and altered input: the same values, or the same error.

Where the extension is not built (no C compiler at install time) these tests skip, except under
CI, where its absence fails: CI must measure and test what users run.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from indexer import native
from indexer.bulk import PackedRows, json_text, pack_rows
from indexer.decode import SPEEDUPS, EventAbi, Log, decode_log, event_abis, log_from_rpc, logs_from_rpc
from indexer.digest import GENESIS_DIGEST, next_digest, python_next_digest
from indexer.sync import _EVENT, EventRow, event_rows, python_event_rows
from registry.deploy import write_deployment
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import dump, index_chain
from tests.indexer.scenario import run_scenario
from tests.indexer.test_command import patentpool

pytestmark = pytest.mark.skipif(
    SPEEDUPS is None and not os.environ.get("CI"), reason=f"the indexer runs {native.status()}"
)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call returns, or the type and words of what it raises, to compare two implementations."""
    try:
        return ("value", call())
    except Exception as exc:  # the point: both raise the same
        return ("error", (type(exc).__name__, str(exc)))


def test_ci_runs_the_compiled_code() -> None:
    assert SPEEDUPS is not None, f"the indexer runs {native.status()}"
    assert native.status() == "compiled speed-ups"


def test_the_environment_switches_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.DISABLE_VARIABLE, "1")
    assert native.load() is None
    assert native.status().startswith("pure Python (PATENTPOOL_PURE_PYTHON is set)")
    monkeypatch.setenv(native.DISABLE_VARIABLE, "0")
    assert native.load() is not None


# --- keccak-256 -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=600), st.integers(0, 3).map(lambda n: b"\x01" * (136 * n))))
def test_keccak_equals_eth_utils(data: bytes) -> None:
    assert SPEEDUPS is not None
    assert SPEEDUPS.keccak256(data) == keccak(data)


# --- parsing eth_getLogs answers --------------------------------------------------------------------

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
    st.lists(st.just("0x" + "aa" * 32), max_size=2).map(tuple),
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


@settings(max_examples=400, deadline=None)
@given(raws=st.lists(raw_logs(), min_size=1, max_size=4))
def test_logs_from_rpc_equals_the_python_parser(raws: list[dict[str, Any]]) -> None:
    assert outcome(lambda: logs_from_rpc(raws)) == outcome(lambda: [log_from_rpc(raw) for raw in raws])


def test_logs_from_rpc_parses_a_node_answer() -> None:
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
    [log] = logs_from_rpc([raw])
    assert type(log) is Log
    assert log == log_from_rpc(raw)
    assert log.block_number == 0x1B4 and log.log_index == 0x11 and log.block_hash == "0x" + "ab" * 32
    assert log.topics == ("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",)
    assert log.address == "0x5FbDB2315678afecb367f032d93F642f64180aa3"


# --- reading static event data ----------------------------------------------------------------------

_FAST = sorted((abi for abi in event_abis().values() if abi.words is not None), key=lambda a: a.signature)

#: Words at a strict reader's edges, and words no hex reader takes.
_WORDS = st.one_of(
    st.sampled_from(
        [
            "0" * 64,
            "0" * 63 + "1",
            "f" * 64,
            "F" * 64,
            "0" * 24 + "AB" * 20,
            "0" * 23 + "1" + "ab" * 20,
            "0" * 52 + "f" * 12,
            "0" * 51 + "1" + "0" * 12,
            "0" * 62 + "1" + "0",
            "0" * 63 + "g",
            "0" * 62 + "_1",
            "0x" + "0" * 62,
            " " + "0" * 63,
            "0" * 63 + "é",
        ]
    ),
    st.binary(min_size=32, max_size=32).map(bytes.hex),
)

_TOPICS = st.one_of(
    _hex(64),
    st.sampled_from(
        [
            "0x" + "0" * 24 + "11" * 20,
            "0x" + "1" * 64,
            "0x",
            "0x1",
            "0xg" + "0" * 63,
            "abc",
            "0x" + "é" * 4,
            '0x"1',
            "0x\\1",
        ]
    ),
)


@pytest.mark.parametrize("abi", _FAST, ids=lambda a: a.signature)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_compiled_reader_equals_the_python_reader(abi: EventAbi, data: st.DataObject) -> None:
    read = abi.read
    assert read is not None and type(read).__name__ == "Reader"
    topics = (abi.topic0, *(data.draw(_TOPICS) for _ in abi.indexed))
    payload = "0x" + "".join(data.draw(_WORDS) for _ in abi.data_names)
    if data.draw(st.booleans()):  # sometimes the length is off as well
        payload += data.draw(st.sampled_from(["", "0" * 64, "ff", "0"]))
    fallback = read.fallback  # type: ignore[attr-defined]
    assert outcome(lambda: read(topics, payload)) == outcome(lambda: fallback(topics, payload))


def test_the_compiled_reader_refuses_what_the_python_reader_refuses() -> None:
    renewed = next(abi for abi in _FAST if abi.name == "MembershipRenewed")
    assert renewed.read is not None
    topics = (renewed.topic0, "0x" + "0" * 24 + "11" * 20)
    tier_too_wide = "0" * 61 + "100"  # uint8
    payload = "0x" + tier_too_wide + "0" * 64 * 4
    assert outcome(lambda: renewed.read(topics, payload)) == ("error", ("_BadWord", "uint8"))  # type: ignore[misc]


# --- the block digest -------------------------------------------------------------------------------


@st.composite
def digest_logs(draw: st.DrawFn) -> Log:
    def field(size: int) -> str:
        value = draw(st.one_of(_hex(size), st.sampled_from(["0x", "0x1", "12", "0xzz", "0x" + "é" * 2])))
        return value if draw(st.integers(0, 9)) == 0 else draw(_hex(size))

    topics = tuple(field(64) for _ in range(draw(st.integers(0, 4))))
    index = draw(st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64])))
    words = draw(st.integers(0, 5))
    return Log(1, "0x" + "00" * 32, field(64), 0, index, field(40), topics, field(64 * words))


@settings(max_examples=300, deadline=None)
@given(
    logs=st.lists(digest_logs(), max_size=5),
    number=st.one_of(st.integers(0, 2**64 - 1), st.just(2**64)),
    block_hash=st.one_of(_hex(64), st.just("0x12")),
)
def test_the_compiled_digest_equals_the_python_digest(logs: list[Log], number: int, block_hash: str) -> None:
    assert outcome(lambda: next_digest(GENESIS_DIGEST, number, block_hash, logs)) == outcome(
        lambda: python_next_digest(GENESIS_DIGEST, number, block_hash, logs)
    )


def test_the_compiled_digest_takes_the_common_case_itself() -> None:
    assert SPEEDUPS is not None
    log = Log(7, "0x" + "22" * 32, "0x" + "33" * 32, 0, 3, "0x" + "44" * 20, ("0x" + "55" * 32,), "0x" + "66" * 32)
    digest = SPEEDUPS.next_digest(GENESIS_DIGEST, 7, log.block_hash, [log])
    assert digest == python_next_digest(GENESIS_DIGEST, 7, log.block_hash, [log])
    assert SPEEDUPS.next_digest(GENESIS_DIGEST, 7, log.block_hash, [log._replace(data="0x6")]) is None


# --- event rows -----------------------------------------------------------------------------------

_EVENTS = sorted(event_abis().values(), key=lambda a: (a.signature, len(a.indexed)))


@st.composite
def event_logs(draw: st.DrawFn) -> Log:
    """A log of a known event (words valid or not, length right or not), or of none."""
    if draw(st.integers(0, 5)) == 0:
        topics: tuple[str, ...] = tuple(draw(st.lists(_hex(64).map(str.lower), max_size=3)))
        data = "0x" + draw(st.text("0123456789abcdef", max_size=130))
    else:
        abi = draw(st.sampled_from(_EVENTS))
        topics = (abi.topic0, *(draw(_TOPICS) for _ in abi.indexed))
        data = "0x" + "".join(draw(_WORDS) for _ in range(len(abi.data_names) + draw(st.integers(-1, 3))))
    number = draw(st.integers(1, 3))
    index = draw(st.integers(0, 9))
    return Log(number, f"0x{number:064x}", f"0x{index:064x}", 0, index, "0x" + "44" * 20, topics, data)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@settings(max_examples=150, deadline=None)
@given(logs=st.lists(event_logs(), max_size=6))
def test_the_compiled_event_rows_equal_the_python_rows(dialect: str, logs: list[Log]) -> None:
    timestamps = {1: 1_700_000_000, 2: 1_700_000_012, 3: 2**40}

    def python() -> tuple[list[EventRow], PackedRows]:
        rows = python_event_rows(logs, 31337, timestamps)
        return rows, pack_rows(dialect, _EVENT, rows)

    assert outcome(lambda: event_rows(dialect, logs, 31337, timestamps)) == outcome(python)


def test_event_rows_of_a_block_without_its_timestamp_fail_as_in_python() -> None:
    log = Log(9, "0x" + "22" * 32, "0x" + "33" * 32, 0, 0, "0x" + "44" * 20, (), "0x")
    assert outcome(lambda: event_rows("sqlite", [log], 1, {})) == ("error", ("KeyError", "9"))
    assert outcome(lambda: python_event_rows([log], 1, {})) == ("error", ("KeyError", "9"))


# --- PostgreSQL's binary COPY ----------------------------------------------------------------------


def test_copy_binary_writes_postgresqls_binary_copy_format() -> None:
    assert SPEEDUPS is not None
    stream = SPEEDUPS.copy_binary([(7, -2, "hé", '{"a":1}', "[]", None)], "qitjJt")
    signature = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    fields = [
        struct.pack(">iq", 8, 7),
        struct.pack(">ii", 4, -2),
        struct.pack(">i", 3) + "hé".encode(),
        struct.pack(">ib", 8, 1) + b'{"a":1}',  # jsonb: a version byte, then the text
        struct.pack(">i", 2) + b"[]",
        struct.pack(">i", -1),  # NULL
    ]
    assert stream == signature + struct.pack(">h", 6) + b"".join(fields) + struct.pack(">h", -1)
    assert SPEEDUPS.copy_binary([], "q") == signature + struct.pack(">h", -1)


@pytest.mark.parametrize(
    ("row", "kinds"),
    [
        ((2**63,), "q"),
        ((2**31,), "i"),
        ((-(2**31) - 1,), "i"),
        (("1",), "q"),
        ((True,), "q"),
        ((1.5,), "q"),
        ((1,), "t"),
        (("a\x00b",), "t"),
        (("\ud800",), "t"),
        ((1, 2), "q"),
        ((1,), "b"),
        (("1",), "n"),
        ((1.0,), "n"),
        ((-(10**78),), "n"),
    ],
)
def test_copy_binary_leaves_what_it_cannot_write_to_text_copy(row: tuple[Any, ...], kinds: str) -> None:
    assert SPEEDUPS is not None
    assert SPEEDUPS.copy_binary([row], kinds) is None


# --- the whole indexer --------------------------------------------------------------------------------


def test_the_pure_python_indexer_writes_the_same_database(
    world: World, anvil: AnvilNode, tmp_path: Path, backend: str, new_engine: Callable[[], Engine]
) -> None:
    """Every event type indexed twice, in this process with the compiled code and by `patentpool
    index` with PATENTPOOL_PURE_PYTHON=1: the two databases are equal, table by table."""
    run_scenario(world)
    compiled, pure = new_engine(), new_engine()
    index_chain(compiled, anvil, world.deployment)
    manifest = write_deployment(world.deployment, tmp_path)
    args = ("index", "--rpc", anvil.url, "--deployment", str(manifest), "--json")
    url = pure.url.render_as_string(hide_password=False)
    done = patentpool(*args, db=url, env={native.DISABLE_VARIABLE: "1"})
    assert done.returncode == 0, done.stderr
    assert dump(pure) == dump(compiled)


def test_event_rows_refuse_a_malformed_reader_table() -> None:
    assert SPEEDUPS is not None
    log = Log(1, "0x" + "22" * 32, "0x" + "33" * 32, 0, 0, "0x" + "44" * 20, ("0x" + "55" * 32,), "0x")
    for table in ({log.topics[0]: "not a tuple"}, {log.topics[0]: (("too", "short"),)}):
        with pytest.raises(TypeError, match="event_rows"):
            SPEEDUPS.event_rows([log], 1, {1: 0}, table, decode_log, json_text, EventRow)
