"""Reading providers' complaints about eth_getLogs ranges, what is retried, and the ranges asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.db import make_engine, upgrade
from indexer.errors import InvalidSettings, MalformedRequest, RangeTooLarge, RpcError
from indexer.fetch import LogFetcher, LogFilter, Rpc, classify_error, suggested_range
from indexer.sync import Indexer
from registry.node import AnvilNode
from tests.conftest import World
from tests.indexer.conftest import dump, index_chain
from tests.indexer.proxy import JsonHandler, LocalServer, Proxy, RangeRecorder


@pytest.mark.parametrize(
    ("message", "start", "expected"),
    [
        ("query returned more than 10000 results. Try with this block range [0x64, 0xc7].", 100, 100),
        ("Log response size exceeded. this block range should work: [0x1, 0x3e8]", 1, 1000),
        ("eth_getLogs is limited to a 10,000 range", 0, 10_000),
        ("You can make eth_getLogs requests with up to a 2K block range", 0, 2_000),
        ("exceed maximum block range: 5000", 0, 5_000),
        ("query returned more than 10000 results", 0, None),
    ],
)
def test_the_suggested_range_is_read_from_the_error_text(message: str, start: int, expected: int | None) -> None:
    assert suggested_range(message, start) == expected


def test_range_complaints_malformed_requests_and_other_errors_are_told_apart() -> None:
    too_many = classify_error("eth_getLogs", {"code": -32005, "message": "query returned more than 10000 results"}, 0)
    assert isinstance(too_many, RangeTooLarge) and too_many.suggested is None
    # Some providers send range complaints as "invalid params": still a range complaint.
    wide = classify_error("eth_getLogs", {"code": -32602, "message": "block range is too wide"}, 0)
    assert isinstance(wide, RangeTooLarge)
    bad = classify_error("eth_getLogs", {"code": -32602, "message": "invalid argument 0: hex string without 0x"}, 0)
    assert isinstance(bad, MalformedRequest)
    other = classify_error("eth_call", {"code": 3, "message": "execution reverted"})
    assert type(other) is RpcError


def expected_widths(blocks: int, initial: int, maximum: int) -> list[int]:
    """Blocks per call over `blocks` blocks of small answers: doubling from `initial`, capped."""
    widths, span = [], initial
    while blocks > 0:
        widths.append(min(span, blocks))
        blocks -= widths[-1]
        span = min(maximum, span * 2)
    return widths


def test_ranges_start_at_the_initial_range_and_grow_no_wider_than_the_maximum(world: World, anvil: AnvilNode) -> None:
    world.w3.provider.make_request("anvil_mine", [hex(40)])  # type: ignore[arg-type]
    start, head = world.deployment.start_block, world.w3.eth.block_number
    addresses = (world.deployment.address("PoolFactory"), world.deployment.address("PatentAsset"))
    with RangeRecorder(anvil.url) as proxy:
        logs = LogFetcher(Rpc(proxy.url), initial_range=3, max_range=5).fetch_all(start, head, [LogFilter(addresses)])
    assert proxy.widths == expected_widths(head - start + 1, 3, 5)
    assert proxy.ranges[0][0] == start and proxy.ranges[-1][1] == head
    assert all(b[0] == a[1] + 1 for a, b in zip(proxy.ranges, proxy.ranges[1:], strict=False))
    direct = world.w3.eth.get_logs({"fromBlock": start, "toBlock": head, "address": list(addresses)})
    assert [(log.block_number, log.log_index) for log in logs] == [
        (log["blockNumber"], log["logIndex"]) for log in direct
    ]


@pytest.mark.parametrize(("initial", "maximum"), [(0, 10), (10, 0), (-1, 10), (11, 10)])
def test_a_fetcher_refuses_ranges_that_are_not_positive_or_exceed_the_maximum(initial: int, maximum: int) -> None:
    with pytest.raises(InvalidSettings, match="eth_getLogs range"):
        LogFetcher(Rpc("http://127.0.0.1:9"), initial_range=initial, max_range=maximum)


def test_a_range_dense_with_logs_narrows_so_batches_stay_near_batch_logs(world: World, anvil: AnvilNode) -> None:
    for n in range(3):
        world.family(1, {"US": 1, "EP": 1}, family_id=f"DENSE-{n}")
    start, head = world.deployment.start_block, world.w3.eth.block_number
    addresses = (world.deployment.address("PoolFactory"), world.deployment.address("PatentAsset"))
    direct = world.w3.eth.get_logs({"fromBlock": start, "toBlock": head, "address": list(addresses)})
    whole = head - start + 1
    with RangeRecorder(anvil.url) as proxy:
        fetcher = LogFetcher(Rpc(proxy.url), initial_range=whole, batch_logs=len(direct) // 4)
        end, first = fetcher.fetch(start, head, [LogFilter(addresses)])
        # That range held every log, four times the target: the next ranges are about a quarter as wide.
        assert end == head and len(first) == len(direct)
        assert 1 <= fetcher.span <= whole // 3
        logs = fetcher.fetch_all(start, head, [LogFilter(addresses)])
    assert proxy.widths[0] == whole and len(proxy.widths) >= 4
    assert max(proxy.widths[1:]) <= whole // 3
    assert all(b[0] == a[1] + 1 for a, b in zip(proxy.ranges[1:], proxy.ranges[2:], strict=False))
    assert [(log.block_number, log.log_index) for log in logs] == [
        (log["blockNumber"], log["logIndex"]) for log in direct
    ]


class _Scripted(LocalServer):
    """A local HTTP server that answers each POST with the next scripted (status, headers, body,
    bytes actually sent) and then closes the connection."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes, int | None]]) -> None:
        script = list(answers)
        self.requests = 0
        outer = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                self.body()
                outer.requests += 1
                status, headers, body, sent = script.pop(0) if len(script) > 1 else script[0]
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body[:sent] if sent is not None else body)
                self.wfile.flush()
                self.close_connection = True

        super().__init__(Handler)


_OK = b'{"jsonrpc":"2.0","id":1,"result":"0x7a69"}'


def test_a_body_cut_short_is_a_transport_error_and_retried() -> None:
    # The first answer promises more bytes than it sends; the second is whole.
    with _Scripted([(200, {}, _OK, 10), (200, {}, _OK, None)]) as server:
        rpc = Rpc(server.url, attempts=3, sleep=lambda _: None)
        assert rpc.chain_id() == 31337
        assert server.requests == 2 and rpc.retries == 1


def test_a_body_that_is_never_whole_ends_in_a_clear_error() -> None:
    from indexer.errors import RpcUnavailable

    with _Scripted([(200, {}, _OK, 10)]) as server:
        rpc = Rpc(server.url, attempts=2, sleep=lambda _: None)
        with pytest.raises(RpcUnavailable, match="2 attempts") as caught:
            rpc.chain_id()
    assert "IncompleteRead" in str(caught.value) or "ProtocolError" in str(caught.value), caught.value


def test_an_http_error_with_a_text_body_is_a_malformed_request_quoting_it() -> None:
    with _Scripted([(400, {"Content-Type": "text/plain"}, b"bad request: no such method", None)]) as server:
        rpc = Rpc(server.url, attempts=3, sleep=lambda _: None)
        with pytest.raises(MalformedRequest, match="bad request: no such method"):
            rpc.chain_id()
        assert server.requests == 1


def test_a_rate_limit_waits_as_long_as_retry_after_asks_up_to_the_longest_backoff() -> None:
    waits: list[float] = []
    limited = (429, {"Retry-After": "7"}, b"slow down", None)
    with _Scripted([limited, (503, {"Retry-After": "600"}, b"", None), limited, (200, {}, _OK, None)]) as server:
        rpc = Rpc(server.url, attempts=5, sleep=waits.append, backoff=0.01, max_backoff=30.0)
        assert rpc.chain_id() == 31337
    assert waits[0] >= 7 and waits[1] == 30.0 and waits[2] >= 7  # 600 s is capped
    with _Scripted(
        [(429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, b"", None), (200, {}, _OK, None)]
    ) as server:
        rpc = Rpc(server.url, attempts=3, sleep=waits.append, backoff=0.01)
        assert rpc.chain_id() == 31337
    assert waits[-1] < 0.01  # a date is not a number of seconds: the backoff alone


def test_a_gzipped_answer_is_read() -> None:
    import gzip

    with _Scripted([(200, {"Content-Encoding": "gzip"}, gzip.compress(_OK), None)]) as server:
        assert Rpc(server.url).chain_id() == 31337


class _BatchCap(Proxy):
    """A provider in front of anvil that refuses a batch request of more than `cap` calls (0: every
    batch) with an error object, as providers with batch limits do; `sizes` notes each batch."""

    def __init__(self, upstream: str, cap: int) -> None:
        self.cap = cap
        self.sizes: list[int] = []
        outer = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.body()
                request = json.loads(body)
                if isinstance(request, list):
                    outer.sizes.append(len(request))
                    if len(request) > outer.cap:
                        message = f"batch of {len(request)} requests exceeds the limit of {outer.cap}"
                        refusal = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
                        self.answer(json.dumps(refusal).encode())
                        return
                self.answer(outer.forward(body))

        super().__init__(upstream, Handler)


@pytest.mark.parametrize("cap", [7, 0])
def test_batches_shrink_to_what_the_provider_takes(world: World, anvil: AnvilNode, cap: int) -> None:
    world.w3.provider.make_request("anvil_mine", [hex(40)])  # type: ignore[arg-type]
    head = world.w3.eth.block_number
    direct = Rpc(anvil.url).headers(list(range(head + 1)))
    with _BatchCap(anvil.url, cap) as provider:
        rpc = Rpc(provider.url)
        assert rpc.headers(list(range(head + 1))) == direct
        # Halved from the first batch's size: just within the cap, or single calls without batches.
        assert cap // 2 < rpc.batch_limit <= cap if cap else rpc.batch_limit == 1
        refused = len(provider.sizes)
        rpc.headers(list(range(head + 1)))  # the limit stays: nothing is refused twice
        assert all(size <= cap for size in provider.sizes[refused:])
    assert rpc.retries == 0  # a refusal is not retried as it stands


def test_a_call_refused_on_its_own_ends_with_its_own_error(world: World, anvil: AnvilNode) -> None:
    with _BatchCap(anvil.url, 100) as provider:
        rpc = Rpc(provider.url)
        with pytest.raises(MalformedRequest) as caught:
            rpc.batch([("eth_blockNumber", []), ("eth_getBlockByNumber", ["not a block", False])])
    assert caught.value.method == "eth_getBlockByNumber"


def test_an_index_through_a_provider_without_batches_equals_a_direct_one(
    world: World, anvil: AnvilNode, tmp_path: Path
) -> None:
    world.pool.set_territory("no batches")
    engines = [make_engine(f"sqlite:///{tmp_path / name}.db") for name in ("direct", "single")]
    try:
        for engine in engines:
            upgrade(engine)
        index_chain(engines[0], anvil, world.deployment)
        with _BatchCap(anvil.url, 0) as provider:
            single = Indexer(engines[1], Rpc(provider.url), world.deployment)
            single.prepare()
            single.run()
        assert single.rpc.batch_limit == 1
        assert dump(engines[1]) == dump(engines[0])
    finally:
        for engine in engines:
            engine.dispose()
