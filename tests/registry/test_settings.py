"""What the chain side's settings show of an RPC URL: never a provider's key."""

from __future__ import annotations

import pytest

from registry.settings import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/v3/***"),
        (
            "https://eth-mainnet.g.alchemy.com/v2/Ab3dEfGhIjKlMnOp_QrStUv-1234",
            "https://eth-mainnet.g.alchemy.com/v2/***",
        ),
        ("https://name.quiknode.pro/9f8e7d6c5b4a39281706f5e4d3c2b1a0/", "https://name.quiknode.pro/***/"),
        ("https://user:hunter2@node.example/rpc", "https://user:***@node.example/rpc"),
        ("https://K3y0123456789abcdefghij@rpc.example/eth", "https://***@rpc.example/eth"),
        ("https://node.example/rpc?apikey=short&chain=1", "https://node.example/rpc?apikey=***&chain=1"),
        ("https://node.example/?id=0123456789abcdef0123", "https://node.example/?id=***"),
        ("https://rpc.ankr.com/eth_sepolia", "https://rpc.ankr.com/eth_sepolia"),  # words, not a key
        ("localhost:8545", "localhost:8545"),
    ],
)
def test_an_rpc_url_is_shown_without_its_secrets(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_message_quoting_the_url_or_its_key_is_shown_without_the_key() -> None:
    url = "https://user:hunter2@node.example/v3/0123456789abcdef0123456789abcdef"
    message = f"404 Client Error: Not Found for url: {url}; key 0123456789abcdef0123456789abcdef; pw hunter2"
    assert redact_text(message, url) == (
        "404 Client Error: Not Found for url: https://user:***@node.example/v3/***; key ***; pw ***"
    )
    assert redact_text("connection refused", "http://127.0.0.1:8545") == "connection refused"
