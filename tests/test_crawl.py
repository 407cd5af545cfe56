"""End-to-end crawls of the local site with the real spider, each in its own process."""

from __future__ import annotations

from collections import Counter

import pytest

from archiver import __version__
from archiver.demo.dataset import RUSSIA_UKRAINE, SYRIA, Dataset
from archiver.demo.render import render_site
from archiver.demo.server import DemoServer
from archiver.outcome import EXIT_FALLBACK, EXIT_NO_ITEMS, EXIT_OK, EXIT_PARTIAL
from tests.plugins.demo import without_listing

pytestmark = pytest.mark.slow


def listing_requests(server: DemoServer) -> list[str]:
    return [path for path in server.requests if path.startswith("/news/")]


def test_full_filter_crawl_matches_the_site(demo_server, crawl, dataset: Dataset) -> None:
    result = crawl(demo_server, country="syria")
    assert result.returncode == EXIT_OK, result.message
    expected = [r.canonical_url for page in dataset.pages(SYRIA) for r in page]
    assert len(result.items) == len(expected) == 70
    raw_urls = [item["url_raw"] for item in result.items]
    assert len(set(raw_urls)) == len(raw_urls), "URLs unique within one filter"
    assert {item["facet"] for item in result.items} == {"country=syria"}
    # Pagination: every page once, stopped on the last one (no request for page 8).
    pages = listing_requests(demo_server)
    assert pages == ["/news/?country=syria"] + [
        f"/news/page/{n}/?country=syria" for n in range(2, 8)
    ]
    assert result.stat("archiver/listing_pages") == 7
    assert result.stat("archiver/pages_without_cards") == 0
    # Polite defaults: robots.txt asked first, an identifying User-Agent with a contact URL.
    assert demo_server.requests[0] == "/robots.txt"
    (agent,) = demo_server.user_agents
    assert agent.startswith("archiver/") and "(+https://" in agent


def test_contact_url_setting_goes_into_the_user_agent(demo_server, crawl) -> None:
    contact = "https://example.org/archive-team"
    crawl(demo_server, country="syria", max_pages="1", settings={"ARCHIVER_CONTACT_URL": contact})
    assert {f"archiver/{__version__} (+{contact})"} == demo_server.user_agents


def test_previous_layout_crawl(previous_server, crawl) -> None:
    result = crawl(previous_server, country="syria")
    assert result.returncode == EXIT_OK, result.message
    assert len(result.items) == 70
    assert {item["layout"] for item in result.items} == {"previous"}


def test_max_pages_and_start_page(demo_server, crawl) -> None:
    result = crawl(demo_server, issue="death-penalty", start_page="2", max_pages="2")
    assert result.returncode == EXIT_OK, result.message
    assert listing_requests(demo_server) == [
        "/news/page/2/?issue=death-penalty",
        "/news/page/3/?issue=death-penalty",
    ]
    assert len(result.items) == 20


def test_comma_separated_filter_uses_site_url_form(demo_server, crawl, dataset) -> None:
    result = crawl(demo_server, country="russian-federation,ukraine")
    assert result.returncode == EXIT_OK, result.message
    assert listing_requests(demo_server)[0] == "/news/?country=russian-federation%2Cukraine"
    assert len(result.items) == len(dataset.listing(RUSSIA_UKRAINE))
    assert {item["facet"] for item in result.items} == {RUSSIA_UKRAINE}


def test_whole_newsroom_holds_items_seen_under_several_filters(demo_server, crawl, dataset):
    result = crawl(demo_server)
    assert result.returncode == EXIT_OK, result.message
    assert result.stat("archiver/cards") == len(dataset.releases)
    # One card on the site has no date: it is refused (quarantined), every other one comes out.
    assert result.stat("archiver/invalid") == 1
    assert len(result.items) == len(dataset.releases) - 1
    assert {item["facet"] for item in result.items} == {None}
    shared = [r for r in dataset.releases if len(r.facets) > 1]
    assert len(shared) >= 5  # the demo site has items under more than one filter


def test_robots_disallow_is_obeyed(dataset, crawl) -> None:
    site = render_site(dataset, "current")
    site.robots_txt = "User-agent: *\nDisallow: /news/page/3/\n"
    with DemoServer(site) as server:
        result = crawl(server, country="syria")
    # Obeyed, and never "ok": the releases from page 3 on are not in the archive.
    assert result.returncode == EXIT_PARTIAL, result.message
    assert result.message.endswith("page 3 (forbidden by robots.txt)")
    assert not any(path.startswith("/news/page/3/") for path in server.requests)
    assert result.stat("robotstxt/forbidden") == 1
    assert len(result.items) == 20


def test_page_without_cards_is_reported_not_taken_for_the_end(dataset, crawl) -> None:
    site = render_site(dataset, "current")
    site.pages[(SYRIA, 2)] = without_listing(site.pages[(SYRIA, 2)])
    with DemoServer(site) as server:
        result = crawl(server, country="syria")
    # Page 1 linked to it: a page without a card is a page not read, the run partial.
    assert result.returncode == EXIT_PARTIAL, result.message
    assert "page 2 (no listing card on the page" in result.message
    assert result.stat("archiver/pages_without_cards") == 1
    assert result.stat("archiver/listing_pages") == 7  # it went on past the empty page
    assert len(result.items) == 60
    log = result.log_path.read_text()
    assert "no card matched any known layout" in log and "WARNING" in log


def test_listing_with_no_parsable_card_fails(dataset, crawl) -> None:
    site = render_site(dataset, "current")
    for key, body in list(site.pages.items()):
        site.pages[key] = without_listing(body)
    with DemoServer(site) as server:
        result = crawl(server, country="syria")
    assert result.returncode == EXIT_NO_ITEMS
    assert result.message.startswith("no items parsed")


def test_a_renamed_card_class_is_read_by_the_fallback_and_flagged(dataset, crawl) -> None:
    """Every card class renamed: the structural fallback archives every card, the run says so."""
    site = render_site(dataset, "current")
    for key, body in list(site.pages.items()):
        site.pages[key] = body.replace(b"card-md", b"teaser-v3")
    with DemoServer(site) as server:
        result = crawl(server, country="syria")
    releases = [release for page in dataset.pages(SYRIA) for release in page]
    assert result.returncode == EXIT_FALLBACK, result.message
    assert result.message.startswith("markup changed: 7 page(s) matched no known layout")
    assert result.outcome.flags == ("fallback_layout",)
    assert len(result.items) == len(releases)
    assert Counter(item["layout"] for item in result.items) == {"fallback": len(releases)}
    assert {item["found_by"]["title"] for item in result.items} == {"structure"}
    assert result.stat("archiver/layout/fallback") == 7
    assert result.stat("archiver/found/selector") == 6  # next-page links: their class stayed
    assert result.stat("archiver/found/structure/label") == sum(1 for r in releases if r.label)


def test_past_the_last_page_is_a_404(demo_server, crawl) -> None:
    result = crawl(demo_server, country="syria", start_page="9")
    assert result.stat("archiver/pages_not_found") == 1
    assert result.items == []


@pytest.mark.parametrize("layout", ["current", "previous"])
def test_type_labels_and_layouts_are_exactly_the_sites(
    layout: str, dataset: Dataset, crawl
) -> None:
    """Every card's label as the page reads it (icon text included), counted per layout."""
    releases = [release for page in dataset.pages(SYRIA) for release in page]
    expected = Counter(
        ("Sheet of paper " if release.icon else "") + release.label if release.label else ""
        for release in releases
    )
    assert expected["Sheet of paper Report"] >= 1 and expected[""] >= 1  # the dataset's quirks
    with DemoServer(render_site(dataset, layout)) as server:
        result = crawl(server, country="syria")
    assert Counter(item["type_raw"] for item in result.items) == expected
    assert Counter(item["layout"] for item in result.items) == {layout: len(releases)}
    assert result.stat(f"archiver/layout/{layout}") == 7  # pages read with that layout
    # Every card that shows a label is typed from it, never from the URL's section.
    labelled = [item for item in result.items if item["type_raw"]]
    assert len(labelled) == sum(1 for release in releases if release.label)
    assert {item["type_source"] for item in labelled} == {"label"}
    assert {item["found_by"]["label"] for item in labelled} <= {"selector", "structure"}
