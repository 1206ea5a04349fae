"""Decoding raw logs by topic0 with eth_abi, into JSON-safe argument dicts.

The event table is built once from the committed artifacts (PatentAsset, PatentPool, PoolFactory
and TestStablecoin, whose ABI includes the ERC-20 Transfer every payment token emits). An event is
keyed by (topic0, number of topics), which tells the ERC-20 `Transfer(from, to, value)` (3 topics)
from the ERC-721 `Transfer(from, to, tokenId)` (4 topics).

JSON-safe arguments, one JSON type per ABI type so a field never changes type with its value:
addresses checksummed; `bytes`/`bytesN` as 0x-prefixed lower-case hex; integers of at most 48 bits
(uint8 .. uint48) as JSON numbers, wider ones (uint64, uint256, ...) as decimal strings (a JSON
number is exact only below 2**53); arrays as lists; tuples as objects by component name; indexed
dynamic values (whose topic is only a hash) as the topic's hex.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from indexer.logs import Log, checksum
from registry.artifacts import load_artifact

__all__ = [
    "DECODED_CONTRACTS",
    "EventAbi",
    "decode_log",
    "event_abis",
    "event_topic",
]

#: Contracts whose ABIs name the events the indexer reads.
DECODED_CONTRACTS: tuple[str, ...] = ("PoolFactory", "PatentAsset", "PatentPool", "TestStablecoin")

#: Integers up to this many bits stay JSON numbers; wider ones become decimal strings.
_MAX_JSON_INT_BITS = 48

Converter = Callable[[Any], Any]
#: Reads one 32-byte ABI word (64 lower-case hex digits) into its JSON-safe value; raises
#: `_BadWord` when the word is not a valid encoding (the caller then lets eth_abi say why).
WordReader = Callable[[str], Any]


class _BadWord(ValueError):
    """A word a strict ABI decoder would refuse (non-zero padding, out-of-range value)."""


@dataclass(frozen=True, slots=True)
class EventAbi:
    """What decoding one event needs, precomputed."""

    name: str
    signature: str
    topic0: str
    names: tuple[str, ...]
    indexed: tuple[tuple[str, str, Converter | None], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_converters: tuple[Converter, ...]
    #: Data made only of static elementary words: (name, reader of one 64-hex-digit word) each, so
    #: the common events are read without eth_abi. None when a data value is dynamic or a tuple.
    words: tuple[tuple[str, WordReader], ...] | None = None
    #: With `words`: every argument in ABI order as (name, topic index or -1, data offset, reader).
    plan: tuple[tuple[str, int, int, Callable[[str], Any]], ...] | None = None
    #: With `plan`: (topics, data) -> the arguments, compiled from the plan (`_compile_plan`). For
    #: data with strings, bytes or arrays of static words (`words` None): a reader of canonical
    #: encodings only (`_dynamic_reader`), which checks the data's length itself.
    read: Callable[[tuple[str, ...], str], dict[str, Any]] | None = None
    #: The length of the data (hex digits with 0x) `read` takes: with `words`, exactly that many
    #: words; -1: any (the reader of strings and arrays checks the length itself).
    data_length: int = -1


def _type_string(item: dict[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")


def _converter(item: dict[str, Any]) -> Converter:
    kind = str(item["type"])
    match = _ARRAY.match(kind)
    if match:
        inner = _converter({**item, "type": match.group(1)})
        return lambda values: [inner(v) for v in values]
    if kind == "tuple":
        parts = [(c["name"] or str(n), _converter(c)) for n, c in enumerate(item["components"])]
        return lambda values: {name: conv(v) for (name, conv), v in zip(parts, values, strict=True)}
    if kind == "address":
        return lambda v: checksum(v)
    if kind == "bool":
        return bool
    if kind == "string":
        return str
    if kind.startswith("bytes"):
        return lambda v: "0x" + bytes(v).hex()
    if kind.startswith(("uint", "int")):
        bits = int(kind.lstrip("uint") or 256)
        return int if bits <= _MAX_JSON_INT_BITS else (lambda v: str(int(v)))
    raise ValueError(f"unsupported ABI type {kind}")


def _topic_converter(type_string: str) -> Converter | None:
    """How to read a static indexed value straight from its 32-byte topic (hex), without eth_abi."""
    if type_string == "address":
        return lambda topic: checksum("0x" + topic[-40:])
    if type_string == "bool":
        return lambda topic: int(topic, 16) != 0
    if type_string.startswith("bytes"):
        width = int(type_string[5:])
        return lambda topic: "0x" + topic[2 : 2 + 2 * width]
    if type_string.startswith("uint"):
        bits = int(type_string[4:] or 256)
        return (lambda topic: int(topic, 16)) if bits <= _MAX_JSON_INT_BITS else (lambda topic: str(int(topic, 16)))
    if type_string.startswith("int"):
        bits = int(type_string[3:] or 256)

        def signed(topic: str) -> int:
            value = int(topic, 16)
            return value - (1 << 256) if value >= 1 << 255 else value

        return signed if bits <= _MAX_JSON_INT_BITS else (lambda topic: str(signed(topic)))
    return None


_ZERO_WORD = "0" * 64


def _word_reader(type_string: str) -> WordReader | None:
    """A reader for one static elementary type's word, as strict as eth_abi; None for others."""
    if type_string == "address":

        def address(word: str) -> str:
            if not word.startswith("000000000000000000000000"):
                raise _BadWord(type_string)
            return checksum("0x" + word[24:])

        return address
    if type_string == "bool":

        def boolean(word: str) -> bool:
            if word == _ZERO_WORD:
                return False
            if word == _ZERO_WORD[:-1] + "1":
                return True
            raise _BadWord(type_string)

        return boolean
    match = re.fullmatch(r"bytes(\d+)", type_string)
    if match:
        width = 2 * int(match.group(1))
        padding = "0" * (64 - width)

        def fixed_bytes(word: str) -> str:
            if word[width:] != padding:
                raise _BadWord(type_string)
            return "0x" + word[:width]

        return fixed_bytes
    match = re.fullmatch(r"(u?)int(\d*)", type_string)
    if match:
        bits = int(match.group(2) or 256)
        as_text = bits > _MAX_JSON_INT_BITS
        if match.group(1):
            limit = 1 << bits

            def unsigned(word: str) -> Any:
                value = int(word, 16)
                if value >= limit:
                    raise _BadWord(type_string)
                return str(value) if as_text else value

            return unsigned
        low, high = -(1 << (bits - 1)), 1 << (bits - 1)

        def signed(word: str) -> Any:
            value = int(word, 16)
            if value >= 1 << 255:
                value -= 1 << 256
            if not low <= value < high:
                raise _BadWord(type_string)
            return str(value) if as_text else value

        return signed
    return None


def _same(value: str) -> str:
    return value


def _is_dynamic(type_string: str) -> bool:
    return type_string in ("string", "bytes") or type_string.endswith("]") or type_string.startswith("(")


def event_topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def _event_abi(entry: dict[str, Any]) -> EventAbi:
    inputs = entry["inputs"]
    types = [_type_string(i) for i in inputs]
    signature = f"{entry['name']}({','.join(types)})"
    indexed: list[tuple[str, str, Converter | None]] = []
    data_items = []
    for item in inputs:
        type_string = _type_string(item)
        if item["indexed"]:
            indexed.append(
                (item["name"], type_string, None if _is_dynamic(type_string) else _topic_converter(type_string))
            )
        else:
            data_items.append(item)
    words: list[tuple[str, WordReader]] | None = []
    for item in data_items:
        reader = _word_reader(_type_string(item))
        if reader is None or words is None:
            words = None
        else:
            words.append((item["name"], reader))
    # An indexed dynamic value's topic is only its hash: kept as the topic's hex.
    topic_of = {name: (n + 1, conv or _same) for n, (name, _, conv) in enumerate(indexed)}
    plan: list[tuple[str, int, int, Callable[[str], Any]]] | None = None
    if words is not None:
        word_of = {name: (2 + 64 * n, read) for n, (name, read) in enumerate(words)}
        plan = []
        for item in inputs:
            if item["indexed"]:
                position, conv = topic_of[item["name"]]
                plan.append((item["name"], position, 0, conv))
            else:
                offset, read = word_of[item["name"]]
                plan.append((item["name"], -1, offset, read))
    name = entry["name"]
    arguments = _dynamic_reader(inputs, topic_of, data_items) if plan is None else _compile_plan(name, plan, types)
    return EventAbi(
        name=name,
        signature=signature,
        topic0=event_topic(signature),
        names=tuple(i["name"] for i in inputs),
        indexed=tuple(indexed),
        data_names=tuple(i["name"] for i in data_items),
        data_types=tuple(_type_string(i) for i in data_items),
        data_converters=tuple(_converter(i) for i in data_items),
        words=None if words is None else tuple(words),
        plan=None if plan is None else tuple(plan),
        read=arguments,
        data_length=-1 if words is None else 2 + 64 * len(words),
    )


def _compile_plan(
    event: str, plan: Sequence[tuple[str, int, int, Callable[[str], Any]]], types: Sequence[str]
) -> Callable[[tuple[str, ...], str], dict[str, Any]]:
    """One function reading every argument of `plan`: `{name: reader(topic or word), ...}`, with the
    commonest case, a uint256 word, written out (64 hex digits always fit 256 bits: nothing to
    check). Built once per event; a quarter of the indexer's decoding time went to walking the
    plan for every log."""
    namespace: dict[str, Any] = {}
    fields = []
    for n, ((name, topic, offset, read), kind) in enumerate(zip(plan, types, strict=True)):
        namespace[f"read_{n}"] = read
        if topic > 0:
            expression = f"read_{n}(topics[{topic}])"
        elif kind == "uint256":
            expression = f"str(int(data[{offset}:{offset + 64}], 16))"
        else:
            expression = f"read_{n}(data[{offset}:{offset + 64}])"
        fields.append(f"{name!r}: {expression}")
    source = f"def read(topics, data):\n    return {{{', '.join(fields)}}}\n"
    exec(compile(source, f"<decoder of {event}>", "exec"), namespace)  # our own text, from the ABI
    return namespace["read"]  # type: ignore[no-any-return]


#: How `_dynamic_reader` reads one data value: a word in the head, or a string, bytes or an array
#: of words in the tail.
_Part = tuple[str, str, WordReader | None]


def _dynamic_reader(
    inputs: Sequence[dict[str, Any]],
    topic_of: Mapping[str, tuple[int, Converter]],
    data_items: Sequence[dict[str, Any]],
) -> Callable[[tuple[str, ...], str], dict[str, Any]] | None:
    """A reader for data holding strings, bytes or arrays of static words (each other value a static
    word), as eth_abi would decode it, that takes only the canonical encoding: each tail right after
    the one before, in order, padding zero, nothing after the last. Any other data (valid or not)
    raises `_BadWord`, and eth_abi then reads it. None when a value is of another kind (a tuple, a
    fixed-size array, an array of strings). `topic_of`: each indexed argument's topic position and
    converter."""
    parts: list[_Part] = []
    for item in data_items:
        kind = _type_string(item)
        if kind in ("string", "bytes"):
            parts.append((item["name"], kind, None))
        elif kind.endswith("[]") and (element := _word_reader(kind[:-2])) is not None:
            parts.append((item["name"], "array", element))
        elif (reader := _word_reader(kind)) is not None:
            parts.append((item["name"], "word", reader))
        else:
            return None
    order = [i["name"] for i in inputs]
    head = 64 * len(parts)

    def read(topics: tuple[str, ...], data: str) -> dict[str, Any]:
        text = data[2:]
        size = len(text)
        if size < head:
            raise _BadWord("data shorter than its head")
        values: dict[str, Any] = {}
        tail = head  # where the next tail must begin (hex digits)
        try:
            for n, (name, kind, reader) in enumerate(parts):
                word = text[64 * n : 64 * n + 64]
                if kind == "word":
                    values[name] = reader(word)  # type: ignore[misc]
                    continue
                if int(word, 16) * 2 != tail or tail + 64 > size:
                    raise _BadWord("not the canonical offset")
                length = int(text[tail : tail + 64], 16)
                start = tail + 64
                if kind == "array":
                    tail = start + 64 * length
                    if tail > size:
                        raise _BadWord("array beyond the data")
                    values[name] = [reader(text[i : i + 64]) for i in range(start, tail, 64)]  # type: ignore[misc]
                    continue
                tail = start + 64 * ((length + 31) // 32)
                if tail > size or text[start + 2 * length : tail].strip("0"):
                    raise _BadWord("bytes beyond the data, or padding not zero")
                body = text[start : start + 2 * length]
                values[name] = bytes.fromhex(body).decode("utf-8") if kind == "string" else "0x" + body
        except (ValueError, UnicodeDecodeError) as exc:  # (a _BadWord is a ValueError too)
            raise _BadWord(str(exc)) from None
        if tail != size:
            raise _BadWord("data after the last value")
        for name, (position, conv) in topic_of.items():
            values[name] = conv(topics[position])
        return {name: values[name] for name in order}

    return read


@cache
def event_abis(contracts: Iterable[str] = DECODED_CONTRACTS) -> dict[tuple[str, int], EventAbi]:
    """(topic0, number of topics) -> event, over the given artifacts' ABIs."""
    table: dict[tuple[str, int], EventAbi] = {}
    for name in contracts:
        for entry in load_artifact(name)["abi"]:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            abi = _event_abi(entry)
            table[(abi.topic0, 1 + len(abi.indexed))] = abi
    return table


def decode_log(log: Log, fast: bool = True) -> tuple[str, dict[str, Any]]:
    """The event name and JSON-safe arguments of a log (in ABI order).

    A log no known event matches, or that does not decode, is named "Unknown" with its topics and
    data as arguments, so it is still stored and still counted in the digest.

    Data of static words only (most events) is read word by word, exactly as strictly as eth_abi
    reads it (the tests compare the two); so is data with strings, bytes and arrays of words in
    their canonical encoding. Anything else, and any word these readers refuse, goes through
    eth_abi. `fast=False` always uses eth_abi.
    """
    topics = log.topics
    abi = event_abis().get((topics[0], len(topics))) if topics else None
    if abi is None:
        return "Unknown", {"topics": list(topics), "data": log.data}
    read = abi.read
    if fast and read is not None and (abi.data_length < 0 or len(log.data) == abi.data_length):
        try:
            return abi.name, read(topics, log.data)
        except _BadWord:
            pass  # eth_abi below gives the refusal its usual words
    try:
        values: dict[str, Any] = {}
        for (name, _, conv), topic in zip(abi.indexed, log.topics[1:], strict=True):
            values[name] = topic if conv is None else conv(topic)
        if abi.data_types:
            decoded = abi_decode(list(abi.data_types), bytes.fromhex(log.data[2:]))
            for name, conv, value in zip(abi.data_names, abi.data_converters, decoded, strict=True):
                values[name] = conv(value)
        return abi.name, {name: values[name] for name in abi.names}
    except Exception as exc:  # a foreign contract reusing a signature with other data
        return "Unknown", {"topics": list(log.topics), "data": log.data, "error": f"{abi.name}: {exc}"}
