"""Signing keys for scripts: from an argument, the environment or an encrypted keystore.

A key is never printed, logged or put in an exception message. anvil's public development keys
are accepted only on local chain ids.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from registry.errors import SigningKeyError
from registry.node import ANVIL_DEV_KEYS, LOCAL_CHAIN_IDS

__all__ = ["account_from_key", "load_keystore", "read_keystore", "resolve_signer"]

_DEV_KEYS = {k.lower() for k in ANVIL_DEV_KEYS}


def account_from_key(key: str, chain_id: int | None = None) -> LocalAccount:
    """A LocalAccount from a hex private key; refuses anvil's dev keys off local chains."""
    text = key.strip()
    normalised = text.lower() if text.lower().startswith("0x") else "0x" + text.lower()
    if len(normalised) != 66 or any(c not in "0123456789abcdef" for c in normalised[2:]):
        raise SigningKeyError("the private key is malformed: expected 32 bytes as 64 hex digits")
    if chain_id is not None and chain_id not in LOCAL_CHAIN_IDS and normalised in _DEV_KEYS:
        raise SigningKeyError(
            f"refusing a public anvil development key on chain {chain_id}: it is only for local chains (31337, 1337)"
        )
    try:
        account: LocalAccount = Account.from_key(normalised)
    except Exception:
        raise SigningKeyError("the private key is not a valid secp256k1 key") from None
    return account


def read_keystore(path: Path) -> dict[str, Any]:
    """The JSON of an Ethereum V3 keystore file, checked for its shape before any password is asked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SigningKeyError(f"keystore file not found: {path}") from None
    except IsADirectoryError:
        raise SigningKeyError(f"keystore {path} is a folder, not a keystore file") from None
    except UnicodeDecodeError:
        raise SigningKeyError(f"keystore file {path} is not a readable JSON keystore: it is not text") from None
    except OSError as exc:
        raise SigningKeyError(f"keystore file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SigningKeyError(f"keystore file {path} is not a readable JSON keystore: {exc}") from None
    crypto = data.get("crypto", data.get("Crypto")) if isinstance(data, dict) else None
    if not isinstance(crypto, dict) or not {"cipher", "ciphertext", "kdf", "mac"} <= crypto.keys():
        raise SigningKeyError(
            f"keystore file {path} is not an Ethereum keystore: it is JSON, but has no "
            "crypto section with cipher, ciphertext, kdf and mac"
        )
    keystore: dict[str, Any] = data
    return keystore


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt an Ethereum V3 keystore file."""
    data = read_keystore(path)
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise SigningKeyError(f"wrong password for keystore {path} (or the file is damaged)") from None
    except Exception as exc:
        raise SigningKeyError(f"keystore {path} cannot be decrypted: {type(exc).__name__}") from None
    account: LocalAccount = Account.from_key(key)
    return account


def resolve_signer(
    chain_id: int,
    private_key: str | None = None,
    keystore: Path | None = None,
    password: str | None = None,
    prompt: Callable[[str], str] | None = None,
    dev_index: int = 0,
) -> LocalAccount:
    """Pick the signing key: explicit key, then PATENTPOOL_PRIVATE_KEY, then a keystore (password
    from the argument, PATENTPOOL_KEYSTORE_PASSWORD or `prompt`), then, on local chains only,
    anvil's development key number `dev_index`. An explicit key and keystore together are refused;
    an explicit keystore wins over PATENTPOOL_PRIVATE_KEY."""
    if private_key and keystore is not None:
        raise SigningKeyError("give --private-key or --keystore, not both: it is unclear which should sign")
    key = private_key or (None if keystore is not None else os.environ.get("PATENTPOOL_PRIVATE_KEY"))
    if key:
        return account_from_key(key, chain_id)
    keystore = keystore or (Path(p) if (p := os.environ.get("PATENTPOOL_KEYSTORE")) else None)
    if keystore is not None:
        read_keystore(keystore)  # a missing or malformed file is said before a password is asked
        secret = password if password is not None else os.environ.get("PATENTPOOL_KEYSTORE_PASSWORD")
        if secret is None:
            if prompt is None:
                raise SigningKeyError(
                    "the keystore needs a password: set PATENTPOOL_KEYSTORE_PASSWORD or run interactively"
                )
            secret = prompt(f"Password for {keystore}")
        return load_keystore(keystore, secret)
    if chain_id in LOCAL_CHAIN_IDS:
        return account_from_key(ANVIL_DEV_KEYS[dev_index], chain_id)
    raise SigningKeyError(
        f"no signing key for chain {chain_id}: pass --private-key, set PATENTPOOL_PRIVATE_KEY, or use --keystore"
    )
