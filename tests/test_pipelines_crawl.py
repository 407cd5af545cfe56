"""A crawl of the local demo site through the real pipelines: nothing invalid is lost, and every
stored item is clean. Runs the real spider in a child process (tests.plugins.demo's `crawl`)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from archiver.demo.dataset import Dataset
from archiver.normalize.text import clean_text
from archiver.normalize.types import OTHER, VOCABULARY

pytestmark = pytest.mark.slow

# The store is off in these crawls (no database), so the JSONL quarantine keeps refused items.
QUARANTINE_SETTINGS = {"ARCHIVER_QUARANTINE_JSONL": True}


def quarantined(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "data" / "quarantine.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_clean(item: dict[str, Any]) -> None:
    assert item["url"].startswith("https://www.amnestyusa.org/"), item["url"]
    assert "#" not in item["url"] and "utm_" not in item["url"]
    assert item["title"] and item["title"] == clean_text(item["title"])
    assert item["summary"] is None or item["summary"] == clean_text(item["summary"])
    assert not (item["summary"] or "").endswith(("…", "..."))
    assert isinstance(item["summary_truncated"], bool)
    assert date(1961, 1, 1) <= date.fromisoformat(item["published_on"]) <= date.today()
    assert item["type"] in (*VOCABULARY, OTHER, None)
    assert item["type_source"] in ("label", "url", None)
    assert len(item["content_hash"]) == 64
    assert item["problems"] == []


@pytest.mark.parametrize(
    ("server_fixture", "args"),
    [("demo_server", {}), ("previous_server", {"issue": "death-penalty"})],
)
def test_crawl_keeps_every_card_and_stores_only_clean_items(
    request: pytest.FixtureRequest,
    crawl: Any,
    dataset: Dataset,
    tmp_path: Path,
    server_fixture: str,
    args: dict[str, str],
) -> None:
    server = request.getfixturevalue(server_fixture)
    result = crawl(server, settings=QUARANTINE_SETTINGS, **args)
    assert result.ok, result.message
    items, refused = result.items, quarantined(tmp_path)

    facet = "&".join(f"{key}={value}" for key, value in args.items()) or None
    expected = {release.canonical_url: release for release in dataset.listing(facet)}
    # No card is lost: every release on the site is either stored or quarantined, once.
    assert len(items) + len(refused) == result.stat("archiver/cards") == len(expected)
    assert result.stat("archiver/valid") == len(items)
    assert result.stat("archiver/invalid") == len(refused)

    for item in items:
        assert_clean(item)
        release = expected.pop(item["url"])
        assert item["published_on"] == release.published_on.isoformat()
        assert item["title"] == clean_text(release.title)

    # What is left is exactly what the site shows without a usable date, kept with its reason.
    assert {url for url, release in expected.items() if release.date_text} == set()
    assert len(refused) == len(expected) == 1
    record = refused[0]
    assert record["reasons"] == ["missing_date"]
    assert record["raw"]["title_raw"] and record["raw"]["date_raw"] == ""
    assert record["page_url"].startswith(server.base_url)
    assert result.stat("archiver/invalid/missing_date") == 1


def test_run_crawl_keeps_the_project_quarantine(
    crawl: Any, demo_server: Any, tmp_path: Path
) -> None:
    result = crawl(demo_server, settings={"ARCHIVER_QUARANTINE_JSONL": True}, issue="death-penalty")
    assert result.ok, result.message
    assert result.stat("archiver/invalid") == 1
    assert len(quarantined(tmp_path)) == 1
