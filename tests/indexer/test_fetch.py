"""Reading providers' complaints about eth_getLogs ranges, and what is retried."""

from __future__ import annotations

import pytest

from indexer.errors import MalformedRequest, RangeTooLarge, RpcError
from indexer.fetch import classify_error, suggested_range


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
