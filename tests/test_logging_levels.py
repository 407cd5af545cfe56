"""Records no handler writes are not built: `archiver.config.skip_unlogged_levels`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from archiver.config import skip_unlogged_levels


@pytest.fixture
def clean_logging() -> Iterator[logging.Logger]:
    """A `scrapy`-like logger at DEBUG; the root logger's level and handlers are restored."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    child = logging.getLogger("archiver-test-chatty")
    child.setLevel(logging.DEBUG)
    yield child
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[1]:
        root.addHandler(handler)
    root.setLevel(saved[0])
    child.setLevel(logging.NOTSET)
    child.handlers.clear()


def _one_info_handler() -> None:
    """Only an INFO handler on the root logger, at NOTSET (as Scrapy leaves it); in the test
    itself, as pytest puts its own capturing handler on the root logger for each test."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.NOTSET)
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO)
    root.addHandler(handler)


def test_debug_records_are_not_built_when_every_handler_writes_info(
    clean_logging: logging.Logger,
) -> None:
    _one_info_handler()
    assert clean_logging.isEnabledFor(logging.DEBUG)
    skip_unlogged_levels()
    assert not clean_logging.isEnabledFor(logging.DEBUG)
    assert clean_logging.isEnabledFor(logging.INFO)
    assert logging.getLogger().level == logging.INFO


def test_a_level_is_only_ever_raised(clean_logging: logging.Logger) -> None:
    _one_info_handler()
    logging.getLogger().setLevel(logging.ERROR)
    clean_logging.setLevel(logging.WARNING)
    skip_unlogged_levels()
    assert logging.getLogger().level == logging.ERROR
    assert clean_logging.level == logging.WARNING


def test_left_alone_when_a_logger_writes_through_its_own_handler(
    clean_logging: logging.Logger,
) -> None:
    _one_info_handler()
    clean_logging.addHandler(logging.StreamHandler())  # a DEBUG handler of its own
    skip_unlogged_levels()
    assert clean_logging.isEnabledFor(logging.DEBUG)
    assert logging.getLogger().level == logging.NOTSET


def test_a_debug_handler_keeps_debug_records(clean_logging: logging.Logger) -> None:
    _one_info_handler()
    logging.getLogger().handlers[0].setLevel(logging.DEBUG)
    skip_unlogged_levels()
    assert clean_logging.isEnabledFor(logging.DEBUG)
