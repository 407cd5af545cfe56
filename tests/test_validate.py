"""validate_item's reasons, and the pipelines and quarantine wired to a real Scrapy crawler."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.test import get_crawler

from archiver.crawler.quarantine import JsonlQuarantine
from archiver.items import ReleaseItem
from archiver.normalize import normalize_item, validate_item
from archiver.signals import item_quarantined
from archiver.sites import AMNESTYUSA
from pipelines.normalize import NormalizePipeline
from pipelines.validate import ValidatePipeline

TODAY = date(2024, 5, 1)


def raw_item(**changes: Any) -> ReleaseItem:
    item = ReleaseItem(
        source="amnestyusa",
        facet="country=syria",
        page_url="http://127.0.0.1:8080/news/page/6/?country=syria",
        position=1,
        layout="current",
        url_raw="http://127.0.0.1:8080/press-releases/x/",
        title_raw="Syria: a title ",
        summary_raw="A summary \u2026",
        summary_html="",
        date_raw="June 16, 2017",
        type_raw="Press Release",
        fetched_at=datetime(2024, 5, 1, 12, tzinfo=UTC),
    )
    return replace(item, **changes)


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        ({}, []),
        ({"url_raw": ""}, ["missing_url"]),
        ({"url_raw": "mailto:press@aiusa.org"}, ["invalid_url"]),
        ({"title_raw": "  <b></b>&nbsp;"}, ["missing_title"]),
        ({"date_raw": ""}, ["missing_date"]),
        ({"date_raw": "someday"}, ["unparseable_date"]),
        ({"date_raw": "June 16, 1950"}, ["implausible_date"]),
        ({"date_raw": "May 4, 2024"}, ["implausible_date"]),  # three days after the fetch
        ({"date_raw": "May 3, 2024"}, []),
        (
            {"url_raw": "", "title_raw": "", "date_raw": ""},
            ["missing_url", "missing_title", "missing_date"],
        ),
    ],
)
def test_validate_item_reasons(changes: dict[str, str], reasons: list[str]) -> None:
    item = normalize_item(raw_item(**changes), AMNESTYUSA)
    assert validate_item(item, TODAY) == reasons


def test_validate_item_accepts_plain_dicts() -> None:
    assert validate_item(
        {"url": None, "url_raw": "", "title": "T", "published_on": None}, TODAY
    ) == [
        "missing_url",
        "missing_date",
    ]


@pytest.fixture
def crawler(tmp_path: Path) -> Any:
    return get_crawler(
        settings_dict={"ARCHIVER_DATA_DIR": str(tmp_path), "ARCHIVER_QUARANTINE_JSONL": True}
    )


def test_pipelines_pass_a_valid_item_with_clean_fields(crawler: Any) -> None:
    item = ValidatePipeline.from_crawler(crawler).process_item(
        NormalizePipeline.from_crawler(crawler).process_item(raw_item())
    )
    assert item.url == "https://www.amnestyusa.org/press-releases/x/"
    assert (item.title, item.summary, item.summary_truncated) == (
        "Syria: a title",
        "A summary",
        True,
    )
    assert item.problems == []
    assert crawler.stats.get_value("archiver/valid") == 1
    assert crawler.stats.get_value("archiver/summary/truncated") == 1


def test_invalid_item_is_counted_signalled_quarantined_and_dropped(
    crawler: Any, tmp_path: Path
) -> None:
    quarantine = JsonlQuarantine.from_crawler(crawler)
    received: list[tuple[Any, list[str]]] = []

    def on_quarantined(item: Any, reasons: list[str], spider: Any) -> None:
        received.append((item, reasons))

    crawler.signals.connect(on_quarantined, signal=item_quarantined)
    normalize = NormalizePipeline.from_crawler(crawler)
    validate = ValidatePipeline.from_crawler(crawler)
    bad = normalize.process_item(raw_item(date_raw="", title_raw=""))
    with pytest.raises(DropItem, match="missing_title, missing_date"):
        validate.process_item(bad)

    assert [reasons for _, reasons in received] == [["missing_title", "missing_date"]]
    assert crawler.stats.get_value("archiver/invalid") == 1
    assert crawler.stats.get_value("archiver/invalid/missing_title") == 1
    assert crawler.stats.get_value("archiver/invalid/missing_date") == 1
    quarantine.spider_closed(None)
    (line,) = (tmp_path / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["reasons"] == ["missing_title", "missing_date"]
    assert record["page_url"] == "http://127.0.0.1:8080/news/page/6/?country=syria"
    assert record["raw"]["url_raw"] == "http://127.0.0.1:8080/press-releases/x/"
    assert record["raw"]["summary_raw"] == "A summary \u2026"
    assert record["normalized"]["url"] == "https://www.amnestyusa.org/press-releases/x/"
    assert datetime.fromisoformat(record["time"]).tzinfo is not None


def test_quarantine_file_setting_and_switch(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "refused.jsonl"
    crawler = get_crawler(
        settings_dict={"ARCHIVER_QUARANTINE_FILE": str(target), "ARCHIVER_QUARANTINE_JSONL": 1}
    )
    quarantine = JsonlQuarantine.from_crawler(crawler)
    quarantine.item_quarantined(item=raw_item(), reasons=["missing_url"])
    quarantine.spider_closed(None)
    assert json.loads(target.read_text(encoding="utf-8"))["reasons"] == ["missing_url"]
    with pytest.raises(NotConfigured):
        JsonlQuarantine.from_crawler(
            get_crawler(settings_dict={"ARCHIVER_QUARANTINE_JSONL": False})
        )
    with pytest.raises(NotConfigured):  # unset: the store keeps refused items
        JsonlQuarantine.from_crawler(get_crawler())
    without_store = get_crawler(settings_dict={"ARCHIVER_STORE_ENABLED": False})
    assert JsonlQuarantine.from_crawler(without_store) is not None


def test_unknown_labels_counted_and_logged_once_per_label(
    crawler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = NormalizePipeline.from_crawler(crawler)
    with caplog.at_level(logging.WARNING, logger="pipelines.normalize"):
        for label in ("Interview", " interview", "Interview", "Podcast", "Q&amp;A"):
            item = pipeline.process_item(raw_item(type_raw=label))
            assert item.type_raw == label  # the raw text is kept
    stats = crawler.stats
    assert stats.get_value("archiver/type/unknown") == 4
    assert stats.get_value("archiver/type/unknown/Interview") == 2
    assert stats.get_value("archiver/type/unknown/interview") == 1
    assert stats.get_value("archiver/type/unknown/Q&A") == 1
    warned = [r.getMessage() for r in caplog.records if "Unknown type label" in r.getMessage()]
    assert len(warned) == 3
    assert any("'Q&A'" in message for message in warned)


def test_type_from_url_is_counted(crawler: Any) -> None:
    item = NormalizePipeline.from_crawler(crawler).process_item(
        raw_item(type_raw="", url_raw="http://127.0.0.1:8080/urgent-actions/x/")
    )
    assert (item.type, item.type_source) == ("Urgent Action", "url")
    assert crawler.stats.get_value("archiver/type/from_url") == 1


def test_pipelines_work_on_dict_items(crawler: Any) -> None:
    from dataclasses import asdict

    item = NormalizePipeline.from_crawler(crawler).process_item(asdict(raw_item()))
    assert item["published_on"] == date(2017, 6, 16)
    assert ValidatePipeline.from_crawler(crawler).process_item(item)["problems"] == []
