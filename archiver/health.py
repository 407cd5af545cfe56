"""Selector health: notice a site redesign on the first run it breaks.

A redesign rarely raises an error: the pages still answer 200, the selectors just stop matching
and the crawl "finds nothing new". So every run records its cards per listing page
(`crawl_runs.cards_per_page`) and flags, on its run record (`crawl_runs.health`), in the log and in
`archiver runs`:

- `pages_without_cards`: a page answered 200 but no card matched any known layout;
- `cards_drop`: cards per page fell by more than half against the previous run of the same
  schedule (same spider, trigger and filter), e.g. one of two card variants stopped matching;
- `no_items`: pages answered but not one card was parsed: the run fails
  (exit status 3, `no items parsed`, see archiver.outcome).

Pure: `archiver.outcome.decide` calls `assess` with the previous run's cards per page, which
the run record (archiver.crawler.run_record) reads from the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Cards per page below this share of the previous run's is a `cards_drop`.
DROP_RATIO = 0.5


@dataclass(frozen=True, slots=True)
class Health:
    """What a run's numbers say about the selectors."""

    cards_per_page: float | None
    flags: tuple[str, ...] = ()
    previous_cards_per_page: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def column(self) -> str | None:
        """The value of `crawl_runs.health`: comma-separated flags, None when healthy."""
        return ",".join(self.flags) or None


def assess(
    pages: int, pages_without_cards: int, cards: int, previous: float | None = None
) -> Health:
    """The health of a run that read `pages` listing pages (200 answers) holding `cards` cards.

    >>> assess(7, 0, 70)
    Health(cards_per_page=10.0, flags=(), previous_cards_per_page=None, notes=())
    >>> assess(7, 7, 0).flags
    ('no_items', 'pages_without_cards')
    >>> assess(4, 0, 16, previous=10.0).flags
    ('cards_drop',)
    >>> assess(0, 0, 0).cards_per_page is None  # every page answered 304: nothing to judge
    True
    """
    if pages <= 0:
        return Health(cards_per_page=None, previous_cards_per_page=previous)
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
    return Health(round(per_page, 3), tuple(flags), previous, tuple(notes))
