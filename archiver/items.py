"""The shapes data takes on its way from a listing page to the archive.

`RawCard` is what an extractor reads off one listing card: strings exactly as on the page, never
cleaned, so that a card can be re-parsed and audited later. `ReleaseItem` is what the spider yields:
the raw card plus where it was found (source, facet, page); the normalise pipeline fills in the
clean, typed fields. One flat dataclass keeps `scrapy crawl -O out.csv` readable: raw and clean
values sit side by side.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class RawCard:
    """One card of a listing page, as the extractor found it (no cleaning at all)."""

    url: str  # absolute release URL: the card's href joined with the page URL
    href: str  # the href attribute exactly as in the markup
    title: str
    summary: str
    summary_html: str  # inner HTML of the summary (keeps Cloudflare e-mail markup for decoding)
    date: str
    label: str  # type label with any icon text ("Sheet of paper Report"); "" when absent
    image_alt: str
    caption: str
    credit: str
    position: int  # 1-based position of the card on its page
    page_url: str
    layout: str  # which markup layout read the card: "current", "previous" or "fallback"
    # How each field was found: {"title": "selector", "label": "structure", ...}; a field found
    # by neither is "" and has no entry (see docs/extraction.md).
    found: dict[str, str] = field(default_factory=dict)


@dataclass
class ReleaseItem:
    """A listing card travelling through the pipelines (raw fields in, clean fields out)."""

    source: str
    facet: str | None  # the filter crawled, e.g. "country=syria"; None on the unfiltered listing
    page_url: str  # the listing page actually fetched (provenance)
    position: int
    layout: str
    url_raw: str
    title_raw: str
    summary_raw: str
    summary_html: str
    date_raw: str
    type_raw: str
    image_alt: str = ""
    caption: str = ""
    credit: str = ""
    fetched_at: datetime | None = None
    # How the extractor found each field: "selector" or "structure" (RawCard.found).
    found_by: dict[str, str] = field(default_factory=dict)
    # Filled by pipelines.normalize.NormalizePipeline.
    url: str | None = None  # canonical release URL on the source's canonical origin
    title: str | None = None
    summary: str | None = None
    summary_truncated: bool | None = None
    published_on: date | None = None
    type: str | None = None
    type_source: str | None = None  # "label", "url" or None
    content_hash: str | None = None
    # Filled by pipelines.validate.ValidatePipeline: reasons the item was refused, if any.
    problems: list[str] = field(default_factory=list)
    # Provenance (archiver.crawler.warc): WARC-Record-ID of the archived page the card was on.
    warc_record: str | None = None

    @classmethod
    def from_card(
        cls,
        card: RawCard,
        *,
        source: str,
        facet: str | None,
        fetched_at: datetime | None = None,
    ) -> ReleaseItem:
        """Wrap an extractor's card with where it was found."""
        return cls(
            source=source,
            facet=facet,
            page_url=card.page_url,
            position=card.position,
            layout=card.layout,
            url_raw=card.url,
            title_raw=card.title,
            summary_raw=card.summary,
            summary_html=card.summary_html,
            date_raw=card.date,
            type_raw=card.label,
            image_alt=card.image_alt,
            caption=card.caption,
            credit=card.credit,
            fetched_at=fetched_at,
            found_by=card.found,
        )


@dataclass(frozen=True, slots=True)
class QuarantinedItem:
    """An item validation refused, as the store keeps it (`invalid_items`)."""

    source: str
    url: str | None
    reasons: tuple[str, ...]
    raw: dict[str, Any]
    page_url: str | None

    def identity(self) -> str:
        """What makes two refusals "the same card", as a SHA-256 hex string: its source, raw URL,
        title and date as printed (and its summary, for a card without a URL). Not the page or
        the position: one card shows under several facets, and moves down as the site publishes.

        `raw` is either the raw fields themselves or a quarantine record holding them under
        "raw" (`archiver.quarantine.quarantine_record`).

        >>> card = {"title_raw": "T", "date_raw": "June 1, 2020"}
        >>> QuarantinedItem("amnestyusa", "/a/", ("missing_url",), card, None).identity()[:12]
        '42cb41450800'
        """
        fields = self.raw.get("raw", self.raw)
        parts = [self.source, self.url or "", fields.get("title_raw") or ""]
        parts.append(fields.get("date_raw") or "")
        if not self.url:
            parts.append(fields.get("summary_raw") or "")
        payload = json.dumps(parts, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(payload).hexdigest()


@dataclass
class DetailItem:
    """One try at a release's own page, travelling to the archive (`release_texts`).

    `page` is what the extractor read (archiver.extract.detail.DetailPage) when the page answered
    200; otherwise `http_status` (304, 404, 410, a 5xx) or `error` (no answer) says what happened.
    """

    release_id: int
    source: str
    release_url: str  # the release's identity in the archive
    requested_url: str  # what was fetched (on the crawled host)
    fetched_at: datetime
    http_status: int | None = None
    final_url: str | None = None  # after redirects
    redirected: bool = False
    page: Any = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    warc_record: str | None = None


#: Request meta on a release page request: `{"release_id", "source", "url"}` (the release's URL
#: in the archive). The WARC archive and the release-page pipeline act on it.
DETAIL_META = "archiver_detail"

#: Request meta a spider sets on a listing page request: `{"source", "facet", "page"}`. The WARC
#: archive, conditional requests and the incremental stop act on these requests only.
PAGE_META = "archiver_page"
#: Request meta a spider sets (True) on the request for the next listing page, which the
#: incremental stop may drop.
NEXT_PAGE_META = "archiver_next_page"
