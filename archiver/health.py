"""Selector health: notice a site redesign on the first run it breaks.

A redesign rarely raises an error: the pages still answer 200, the selectors just stop matching
and the crawl "finds nothing new". So every run records its cards per listing page
(`crawl_runs.cards_per_page`) and flags, on its run record (`crawl_runs.health`), in the log and in
`archiver runs`:

- `pages_without_cards`: a page answered 200 but no card matched any known layout;
- `cards_drop`: cards per page fell by more than half against the previous run of the same
  schedule (same spider, trigger and filter), e.g. one of two card variants stopped matching;
- `cards_jump`: cards per page more than doubled against that run (a reading that takes in
  more than cards);
- `fallback_layout`: no known layout matched some pages; the structural fallback read them
  (archiver.extract): the items are archived, but a person should look (exit 7);
- `structure_jump`: the share of fields found by structure instead of selectors
  (`crawl_runs.structure_share`) rose by `STRUCTURE_JUMP` or more: classes were renamed;
- `no_items`: pages answered but not one card was parsed: the run fails
  (exit status 3, `no items parsed`, see archiver.outcome).

Pure: `archiver.outcome.decide` calls `assess` with the previous run's cards per page, which
the run record (archiver.crawler.run_record) reads from the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Cards per page below this share of the previous run's is a `cards_drop`.
DROP_RATIO = 0.5
#: Cards per page above this multiple of the previous run's is a `cards_jump`.
JUMP_RATIO = 2.0
#: A rise of the structure share by this much (0.1 = one field in ten) is a `structure_jump`.
STRUCTURE_JUMP = 0.1


@dataclass(frozen=True, slots=True)
class Health:
    """What a run's numbers say about the selectors."""

    cards_per_page: float | None
    flags: tuple[str, ...] = ()
    previous_cards_per_page: float | None = None
    notes: tuple[str, ...] = field(default=())
    structure_share: float | None = None  # fields found by structure / all fields found

    @property
    def column(self) -> str | None:
        """The value of `crawl_runs.health`: comma-separated flags, None when healthy."""
        return ",".join(self.flags) or None


@dataclass(frozen=True, slots=True)
class Extraction:
    """How a run's fields were found (archiver.extract), for the structural flags."""

    by_selector: int = 0
    by_structure: int = 0
    fallback_pages: int = 0  # pages no known layout matched, read by the structural fallback
    previous_share: float | None = None  # structure share of the previous run of the schedule

    @property
    def share(self) -> float | None:
        """Fields found by structure among all found (None when nothing was found).

        >>> Extraction(by_selector=45, by_structure=5).share
        0.1
        """
        found = self.by_selector + self.by_structure
        return round(self.by_structure / found, 4) if found else None


def assess(
    pages: int,
    pages_without_cards: int,
    cards: int,
    previous: float | None = None,
    extraction: Extraction | None = None,
) -> Health:
    """The health of a run that read `pages` listing pages (200 answers) holding `cards` cards.

    >>> assess(7, 0, 70)
    Health(cards_per_page=10.0, flags=(), previous_cards_per_page=None, notes=(), \
structure_share=None)
    >>> assess(7, 7, 0).flags
    ('no_items', 'pages_without_cards')
    >>> assess(4, 0, 16, previous=10.0).flags
    ('cards_drop',)
    >>> assess(7, 0, 70, extraction=Extraction(40, 10, previous_share=0.0)).flags
    ('structure_jump',)
    >>> assess(0, 0, 0).cards_per_page is None  # every page answered 304: nothing to judge
    True
    """
    extraction = extraction or Extraction()
    share = extraction.share
    if pages <= 0:
        return Health(cards_per_page=None, previous_cards_per_page=previous, structure_share=share)
    per_page = cards / pages
    flags: list[str] = []
    notes: list[str] = []
    if cards == 0:
        flags.append("no_items")
        notes.append(f"{pages} page(s) answered but no card was parsed")
    if pages_without_cards:
        flags.append("pages_without_cards")
        notes.append(f"{pages_without_cards} of {pages} page(s) answered 200 without a card")
    if previous and cards and per_page < previous * DROP_RATIO:
        flags.append("cards_drop")
        notes.append(f"cards per page fell from {previous:.1f} to {per_page:.1f}")
    if previous and per_page > previous * JUMP_RATIO:
        flags.append("cards_jump")
        notes.append(f"cards per page rose from {previous:.1f} to {per_page:.1f}")
    if extraction.fallback_pages:
        flags.append("fallback_layout")
        notes.append(
            f"{extraction.fallback_pages} page(s) matched no known layout and were read by"
            " structure"
        )
    before = extraction.previous_share
    if share is not None and before is not None and share - before >= STRUCTURE_JUMP:
        flags.append("structure_jump")
        notes.append(f"fields found by structure rose from {before:.0%} to {share:.0%}")
    return Health(round(per_page, 3), tuple(flags), previous, tuple(notes), share)
