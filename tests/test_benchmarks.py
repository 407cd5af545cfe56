"""The benchmark harness: the summary protocol, and the benchmark site serving what the crawls need.

The crawl benchmark itself is not run here (even `--quick` takes well over 20 s on two shared
cores); these tests guard what would make its numbers wrong without failing it: a site that
serves the wrong pages, or a summary that misreads a benchmark's result line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from archiver.extract import extract_listing
from benchmarks.bench_crawl import SiteServer, archiver_command
from benchmarks.run_all import Outcome, format_table, parse_result, summary_rows
from benchmarks.sitegen import scaled_dataset


def test_result_line_is_read_and_passed_derived_from_ratio_and_target() -> None:
    result = parse_result(
        'BENCH-RESULT {"name": "crawl", "metric": "m", "value": 90, "baseline": 100, '
        '"ratio": 0.9, "target": 0.85}'
    )
    assert result["passed"] is True
    assert (
        parse_result('BENCH-RESULT {"name": "n", "ratio": 0.5, "target": 0.85}')["passed"] is False
    )
    # An explicit verdict wins; no comparison at all leaves it unknown.
    assert parse_result('BENCH-RESULT {"ratio": 0.5, "target": 0.85, "passed": true}')["passed"]
    assert parse_result('BENCH-RESULT {"name": "n", "value": 3}')["passed"] is None


@pytest.mark.parametrize("line", ["BENCH-RESULT [1, 2]", "BENCH-RESULT {not json"])
def test_malformed_result_line_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        parse_result(line)


def test_summary_has_a_row_per_benchmark_even_without_a_result() -> None:
    crawl = parse_result(
        'BENCH-RESULT {"name": "crawl", "metric": "pages/s", "value": 93.1, "baseline": 101.2, '
        '"ratio": 0.92, "target": 0.85, "passed": true}'
    )
    outcomes = [
        Outcome("bench_crawl.py", 120.0, [crawl]),
        Outcome("bench_store.py", 3.0, [], "exit 1"),
        Outcome("bench_normalize.py", 5.0, []),
    ]
    table = format_table(summary_rows(outcomes))
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    assert "crawl" in lines[2] and "0.92" in lines[2] and ">= 0.85" in lines[2]
    assert "pass" in lines[2]
    assert lines[3].startswith("store") and "ERROR: exit 1" in lines[3]
    assert lines[4].startswith("normalize") and "no BENCH-RESULT line" in lines[4]


def test_scaled_dataset_has_full_pages_of_unique_releases() -> None:
    dataset = scaled_dataset(1_234)
    pages = dataset.pages(None)
    assert len(dataset.releases) == 1_234
    assert len({release.slug for release in dataset.releases}) == 1_234
    assert [len(page) for page in pages] == [10] * 123 + [4]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


@pytest.mark.slow  # two subprocesses: the site server and its load client
def test_benchmark_site_serves_every_listing_page_then_404() -> None:
    with SiteServer(releases=25) as site:
        assert site.url.startswith("http://127.0.0.1:")
        status, robots = _get(site.url + "/robots.txt")
        assert status == 200 and "User-agent: *" in robots
        first = extract_listing(_get(site.url + "/news/")[1], site.url + "/news/")
        assert len(first.cards) == 10
        assert first.next_url is not None and first.next_url.endswith("/news/page/2/")
        status, body = _get(site.url + "/news/page/3/")
        last = extract_listing(body, site.url + "/news/page/3/")
        assert status == 200 and len(last.cards) == 5 and last.next_url is None
        assert _get(site.url + "/news/page/4/")[0] == 404
        assert site.capacity(0.2) > 0


def test_the_archiver_crawl_is_a_command_line_the_cli_accepts(tmp_path: Path) -> None:
    """The benchmark types `archiver crawl` as a user would; the CLI must still take it whole."""
    from archiver.cli.crawl import crawl_command

    command = archiver_command(
        "http://127.0.0.1:9", "sqlite:///x.db", tmp_path, tmp_path / "s.json", {"X": "1"}
    )
    assert command[1:4] == ["-m", "archiver", "crawl"]
    context = crawl_command.make_context("crawl", command[4:])
    settings = dict(pair.split("=", 1) for pair in context.params["settings"])
    assert settings["DOWNLOAD_DELAY"] == "0" and settings["X"] == "1"
    assert "crawlclock.CrawlClock" in json.loads(settings["EXTENSIONS"])
    assert "archiver.crawler.status.StatusFile" in json.loads(settings["EXTENSIONS"])
    assert context.params["stats_file"] == tmp_path / "s.json"
