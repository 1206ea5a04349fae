"""The indexer's settings from the environment: eth_getLogs ranges, and one clear line for bad values."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from indexer.errors import InvalidSettings
from indexer.settings import get_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "PATENTPOOL_LOG_RANGE",
        "PATENTPOOL_MAX_LOG_RANGE",
        "PATENTPOOL_POLL_INTERVAL",
        "PATENTPOOL_FINALITY_DEPTH",
        "PATENTPOOL_LOCK_STALE_AFTER",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("environment", "options", "expected"),
    [
        ({}, (None, None), (100, 50_000)),
        ({"PATENTPOOL_LOG_RANGE": "500"}, (None, None), (500, 50_000)),
        # A provider's cap alone: the first range is the default, capped at it.
        ({"PATENTPOOL_MAX_LOG_RANGE": "50"}, (None, None), (50, 50)),
        ({"PATENTPOOL_MAX_LOG_RANGE": "10000"}, (None, None), (100, 10_000)),
        ({"PATENTPOOL_LOG_RANGE": "10", "PATENTPOOL_MAX_LOG_RANGE": "10"}, (None, None), (10, 10)),
        # Command options win over the environment.
        ({"PATENTPOOL_LOG_RANGE": "500", "PATENTPOOL_MAX_LOG_RANGE": "800"}, (100, None), (100, 800)),
        ({"PATENTPOOL_LOG_RANGE": "500"}, (None, 600), (500, 600)),
        ({}, (None, 30), (30, 30)),
    ],
)
def test_log_ranges_come_from_options_then_environment_then_defaults(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    options: tuple[int | None, int | None],
    expected: tuple[int, int],
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert get_settings().log_ranges(*options) == expected


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"PATENTPOOL_LOG_RANGE": "5000", "PATENTPOOL_MAX_LOG_RANGE": "2000"},
            "invalid indexer settings: the initial eth_getLogs range (5000 blocks, PATENTPOOL_LOG_RANGE) must not "
            "exceed the maximum (2000 blocks, PATENTPOOL_MAX_LOG_RANGE)",
        ),
        (
            {"PATENTPOOL_LOG_RANGE": "0"},
            "invalid indexer settings: PATENTPOOL_LOG_RANGE=0: input should be greater than 0",
        ),
        (
            {"PATENTPOOL_MAX_LOG_RANGE": "-5"},
            "invalid indexer settings: PATENTPOOL_MAX_LOG_RANGE=-5: input should be greater than 0",
        ),
        (
            {"PATENTPOOL_MAX_LOG_RANGE": "lots", "PATENTPOOL_POLL_INTERVAL": "often"},
            "PATENTPOOL_MAX_LOG_RANGE=lots: input should be a valid integer",
        ),
        ({"PATENTPOOL_POLL_INTERVAL": "0"}, "PATENTPOOL_POLL_INTERVAL=0: input should be greater than 0"),
        ({"PATENTPOOL_POLL_INTERVAL": "nan"}, "PATENTPOOL_POLL_INTERVAL=nan: input should be a finite number"),
        ({"PATENTPOOL_LOCK_STALE_AFTER": "-1"}, "PATENTPOOL_LOCK_STALE_AFTER=-1: input should be greater than 0"),
        ({"PATENTPOOL_LOCK_STALE_AFTER": "inf"}, "PATENTPOOL_LOCK_STALE_AFTER=inf: input should be a finite number"),
        (
            {"PATENTPOOL_FINALITY_DEPTH": "-3"},
            "PATENTPOOL_FINALITY_DEPTH=-3: input should be greater than or equal to 0",
        ),
    ],
)
def test_bad_values_in_the_environment_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSettings) as info:
        get_settings()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((0, None), "an eth_getLogs range (--log-range or PATENTPOOL_LOG_RANGE) must be 1 block or more, not 0"),
        (
            (None, 0),
            "an eth_getLogs range (--max-log-range or PATENTPOOL_MAX_LOG_RANGE) must be 1 block or more, not 0",
        ),
        (
            (3000, 2000),
            "the initial eth_getLogs range (3000 blocks, --log-range or PATENTPOOL_LOG_RANGE) must not exceed "
            "the maximum (2000 blocks, --max-log-range or PATENTPOOL_MAX_LOG_RANGE)",
        ),
    ],
)
def test_bad_options_name_the_option_and_the_variable(options: tuple[int | None, int | None], message: str) -> None:
    with pytest.raises(InvalidSettings) as info:
        get_settings().log_ranges(*options)
    assert str(info.value) == message


@pytest.mark.parametrize("seconds", [0.0, -1.0, math.nan, math.inf])
def test_a_poll_interval_option_must_be_seconds_above_zero(seconds: float) -> None:
    with pytest.raises(InvalidSettings) as info:
        get_settings().poll_seconds(seconds)
    assert str(info.value) == (
        "the poll interval (--poll-interval or PATENTPOOL_POLL_INTERVAL) must be a number of seconds above 0, "
        f"not {seconds}"
    )


def test_the_poll_interval_and_depth_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTPOOL_POLL_INTERVAL", "2.5")
    monkeypatch.setenv("PATENTPOOL_FINALITY_DEPTH", "12")
    settings = get_settings()
    assert (settings.poll_seconds(), settings.poll_seconds(0.25)) == (2.5, 0.25)
    assert (settings.depth(), settings.depth(0)) == (12, 0)
    with pytest.raises(InvalidSettings, match=r"--finality-depth or PATENTPOOL_FINALITY_DEPTH\) must be 0 or more"):
        settings.depth(-1)


def test_resolved_settings_take_the_options_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-the-environment.db")
    monkeypatch.setenv("PATENTPOOL_LOG_RANGE", "500")
    monkeypatch.setenv("PATENTPOOL_POLL_INTERVAL", "2.5")
    settings = get_settings()
    resolved = settings.resolve(database_url="sqlite:///given.db", max_log_range=800, finality_depth=3)
    assert resolved.database_url == "sqlite:///given.db"
    assert (resolved.log_range, resolved.max_log_range) == (500, 800)
    assert settings.resolve(log_range=300).log_range == 300
    assert (resolved.poll_interval, resolved.finality_depth) == (2.5, 3)
    assert settings.database_url == "sqlite:///from-the-environment.db"  # the environment's stay as read
    assert settings.resolve().database_url == "sqlite:///from-the-environment.db"
    assert settings.resolve().log_range == 500
    with pytest.raises(InvalidSettings, match=r"--poll-interval or PATENTPOOL_POLL_INTERVAL\) must be"):
        settings.resolve(poll_interval=-1.0)
