"""The releases of the demo site: the 12 real seed cards plus generated ones with the site's quirks.

Everything is derived from a fixed random seed, so the same code always builds the same site
(the shipped copy under `site/` is checked against a fresh build by the tests). Test scenarios
("the site changed") are built with the small pure helpers at the bottom, which return a new
dataset and never mutate the old one.

Each release also has a page of its own (rendered by `archiver.demo.details`). What that page
says is generated from the release's slug; the few ways a page departs from its card on purpose
(an edited headline, a Spanish body, a page moved to a new slug or deleted) are written in its
`DetailPlan`, so that changing a page never changes a listing card.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from archiver.demo.seed import SEED_CARDS, SEED_FILTER, SEED_PAGE

SYRIA = "country=syria"
REFUGEES = "issue=refugee-migrant-rights"
DEATH_PENALTY = "issue=death-penalty"
RUSSIA_UKRAINE = "country=russian-federation,ukraine"
FILTERS: tuple[str, ...] = (SYRIA, REFUGEES, DEATH_PENALTY, RUSSIA_UKRAINE)
PAGE_SIZE = 10

SECTION_OF_LABEL = {
    "Press Release": "press-releases",
    "Report": "reports",
    "Update": "updates",
    "Urgent Action": "urgent-actions",
    "News": "news",
}


@dataclass(frozen=True, slots=True)
class DetailPlan:
    """How a release's own page departs, on purpose, from the page generated from its slug.

    The listing cards never read it: a plan changes the release page only, as on the real site
    where a headline is edited or a page moved after the listing's excerpt was written.
    """

    headline: str = ""  # the page's h1 when it was edited away from the card title ("" = same)
    language: str = "en"  # "es": a Spanish page (body and chrome), listed with its English card
    moved_to: str = ""  # the new slug (same section): the old path answers 301 to it
    gone: int = 0  # 404 or 410: the page was deleted (the listing still shows the card)
    summary_in_body: bool = True  # False: the body does not start with the card's summary
    extra_body: tuple[str, ...] = ()  # paragraphs added at the end by a later edit
    new_body: tuple[str, ...] = ()  # paragraphs that replaced the whole body in a later edit
    modified_at: datetime | None = None  # when a later edit happened (aware, UTC)


@dataclass(frozen=True, slots=True)
class DemoRelease:
    """One release as the demo site shows it on listing cards, and how its own page departs
    from the generated one (`detail`, never read by the listing)."""

    slug: str
    section: str  # URL section: press-releases, reports, updates, urgent-actions, news
    title: str  # exactly as rendered (may carry trailing spaces, curly quotes, accents)
    summary: str  # exactly as rendered (ellipses, decoy dates, runs of spaces)
    published_on: date
    date_text: str  # the card's date string; "" renders a card without a date
    label: str  # type label as rendered without icon; "" renders no label at all
    icon: bool = False  # older cards carry icon text ("Sheet of paper") before the label
    caption: str = ""
    credit: str = ""
    image_alt: str = ""
    link: str = "relative"  # relative | www | bare | tracking: how the card links to the release
    facets: frozenset[str] = field(default_factory=frozenset)
    email: str = ""  # an address shown Cloudflare-obfuscated inside the summary
    detail: DetailPlan = DetailPlan()

    @property
    def path(self) -> str:
        """The release's path on the site (the one its card links to)."""
        return f"/{self.section}/{self.slug}/"

    @property
    def page_path(self) -> str:
        """Where the release's page answers 200: its path, or the new one after a move."""
        if self.detail.moved_to:
            return f"/{self.section}/{self.detail.moved_to}/"
        return self.path

    @property
    def canonical_url(self) -> str:
        """The release's identity: its URL on https://www.amnestyusa.org."""
        return "https://www.amnestyusa.org" + self.path


@dataclass(frozen=True, slots=True)
class Dataset:
    """All releases of the demo site, and how each filter's listing is paginated."""

    releases: tuple[DemoRelease, ...]
    # Page sizes that differ from PAGE_SIZE, per filter: {"country=syria": {6: 12}}.
    page_sizes: dict[str, dict[int, int]] = field(default_factory=dict)

    def listing(self, facet: str | None) -> list[DemoRelease]:
        """The releases a filter shows, newest first (ties by slug); None is the whole newsroom."""
        chosen = [r for r in self.releases if facet is None or facet in r.facets]
        return sorted(chosen, key=lambda r: (-r.published_on.toordinal(), r.slug))

    def pages(self, facet: str | None) -> list[list[DemoRelease]]:
        """A filter's listing cut into pages (the seed page keeps its 12 cards)."""
        items = self.listing(facet)
        sizes = self.page_sizes.get(facet or "", {})
        pages: list[list[DemoRelease]] = []
        start = 0
        while start < len(items):
            size = sizes.get(len(pages) + 1, PAGE_SIZE)
            pages.append(items[start : start + size])
            start += size
        return pages

    def by_slug(self, slug: str) -> DemoRelease:
        """The release with that slug (KeyError when there is none)."""
        for release in self.releases:
            if release.slug == slug:
                return release
        raise KeyError(slug)


def slugify(text: str) -> str:
    """The WordPress-style slug of a title.

    >>> slugify("Syria: UN Security Council must act – now!")
    'syria-un-security-council-must-act-now'
    >>> slugify("Côte d’Ivoire")
    'cote-divoire'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower().replace("'", "")).strip("-")


def format_site_date(day: date) -> str:
    """The site's date form: `June 16, 2017`, day not zero-padded.

    >>> format_site_date(date(2017, 6, 6))
    'June 6, 2017'
    """
    return f"{day:%B} {day.day}, {day.year}"


# ---------------------------------------------------------------- generated content -------------

_PLACES = {
    SYRIA: ["Syria", "Aleppo", "Idlib", "Raqqa", "Eastern Ghouta", "Daraa", "Homs"],
    REFUGEES: ["Lesvos", "Calais", "Lampedusa", "the US–Mexico border", "Nauru", "Malaysia"],
    DEATH_PENALTY: ["Iran", "Saudi Arabia", "Texas", "Singapore", "Belarus", "Viet Nam"],
    RUSSIA_UKRAINE: ["Ukraine", "Russia", "Kharkiv", "Mariupol", "Crimea"],
}
_EXTRA_PLACES = ["Côte d’Ivoire", "São Paulo", "Türkiye", "Bogotá", "Réunion"]
_HEADLINES = [
    "{place}: Civilians trapped as attacks on hospitals continue",
    "{place}: Authorities must release detained activists",
    "“We are not numbers”: survivors in {place} speak out",
    "{place}: New evidence of unlawful killings – investigation needed",
    "Report: {place} detention centres hide systematic abuse",
    "Urgent Action: Free human rights defender held in {place}",
    "#StandWithRefugees: families in {place} deserve protection",
    "{place}: Executions surge as courts ignore fair-trial rights",
    "Open letter on accountability for crimes in {place}",
    "{place}: Don’t let the world look away",
]
_SENTENCES = [
    "Amnesty International said today that authorities in {place} must act without delay.",
    "Witnesses described the attack on June 17, 2018 as the worst in months.",
    "Documents dated 2020/07/08 show the orders came from the top.",
    "On Tuesday, March 17, 2020, families gathered outside the court.",
    "“This is a moment of truth for the international community,” said the organization’s "
    "regional director.",
    "The organization is calling for an independent investigation  and for those responsible "
    "to be brought to justice.",
    "Researchers interviewed 43 people, including survivors, relatives and medical staff.",
    "The findings are published in a new briefing released in {place}.",
]
_CAPTIONS = [
    (
        "WASHINGTON, DC - JUNE 18: Demonstrators hold signs during a rally outside the Capitol "
        "calling for an end to family separations and for the immediate release of detained "
        "children, in Washington, DC, on June 18, 2018. Hundreds of protesters joined the march.",
        "(Photo by Mandel Ngan/AFP via Getty Images)",
    ),
    ("Smoke rises over the city after an air strike.", "© Amnesty International"),
    ("A family waits at a border crossing.", "(Photo by Louisa Gouliamaki/AFP/Getty Images)"),
    ("Candles at a vigil against the death penalty.", ""),
]


def _generated(
    rng: random.Random,
    facet: str,
    count: int,
    newest: date,
    oldest: date,
    prefix: str,
) -> list[DemoRelease]:
    """`count` releases for one filter, dates spread from `newest` down to `oldest`."""
    span = (newest - oldest).days
    releases: list[DemoRelease] = []
    repeated_caption = None
    for index in range(count):
        day = newest - timedelta(days=round(span * index / max(count - 1, 1)))
        place = rng.choice(_PLACES[facet] + _EXTRA_PLACES[:1])
        title = rng.choice(_HEADLINES).format(place=place)
        label = rng.choice(["Press Release"] * 5 + ["Report", "Update", "Urgent Action", "News"])
        if title.startswith("Report:"):
            label = "Report"
        sentences = rng.sample(_SENTENCES, k=rng.randint(2, 4))
        summary = " ".join(s.format(place=place) for s in sentences)
        truncated = rng.random() < 0.4
        if truncated:
            summary = summary[: rng.randint(120, 220)].rstrip()
            summary += "..." if day.year < 2013 else rng.choice(["…", "…", "  …", " \u00a0…"])
        if rng.random() < 0.1:
            title += rng.choice([" ", "  ", "\u00a0"])  # trailing spaces seen on the real site
        caption = credit = alt = ""
        roll = rng.random()
        if repeated_caption and roll < 0.5:
            caption, credit = repeated_caption  # the same caption on consecutive cards
            repeated_caption = None
        elif roll < 0.35:
            caption, credit = rng.choice(_CAPTIONS)
            repeated_caption = (caption, credit)
        if caption:
            alt = caption[:80]
        link = rng.choice(["relative"] * 4 + ["www", "www", "bare", "tracking"])
        section = SECTION_OF_LABEL[label]
        no_label = rng.random() < 0.08
        releases.append(
            DemoRelease(
                slug=f"{slugify(title)[:60].strip('-')}-{prefix}{index + 1}",
                section=section,
                title=title,
                summary=summary,
                published_on=day,
                date_text=format_site_date(day),
                label="" if no_label else label,
                icon=label == "Report" and day.year < 2019,
                caption=caption,
                credit=credit,
                image_alt=alt,
                link=link,
                facets=frozenset({facet}),
            )
        )
    return releases


def _seed_releases() -> list[DemoRelease]:
    """The 12 real cards of the seed page, exactly as there."""
    from datetime import datetime

    releases = []
    for index, (caption, label, title, summary, date_text) in enumerate(SEED_CARDS):
        icon = label.startswith("Sheet of paper ")
        plain_label = label.removeprefix("Sheet of paper ")
        releases.append(
            DemoRelease(
                slug=slugify(title),
                section=SECTION_OF_LABEL[plain_label],
                title=title,
                summary=summary,
                published_on=datetime.strptime(date_text, "%B %d, %Y").date(),
                date_text=date_text,
                label=plain_label,
                icon=icon,
                caption=caption,
                image_alt=caption,
                link=("relative", "www", "bare")[index % 3],
                facets=frozenset({SYRIA}),
            )
        )
    return releases


def build_dataset(seed: int = 20170616) -> Dataset:
    """The demo site's releases: deterministic for a given `seed`."""
    rng = random.Random(seed)
    seed_releases = _seed_releases()
    newest = date(2026, 11, 20)
    syria = (
        _generated(rng, SYRIA, 50, newest, date(2017, 6, 20), "sy")
        + seed_releases
        + _generated(rng, SYRIA, 8, date(2016, 11, 20), date(2011, 3, 15), "sy-old")
    )
    refugees = _generated(rng, REFUGEES, 52, newest - timedelta(days=3), date(2014, 1, 10), "rf")
    death = _generated(rng, DEATH_PENALTY, 60, newest - timedelta(days=1), date(2009, 5, 4), "dp")
    russia = _generated(rng, RUSSIA_UKRAINE, 25, newest - timedelta(days=2), date(2014, 3, 1), "ru")

    # Items that appear under more than one filter: a few Syria releases also concern refugees
    # (the seed's Muslim-ban card among them), and one concerns Russia too.
    shared = {
        seed_releases[1].slug,
        syria[3].slug,
        syria[10].slug,
        syria[20].slug,
        syria[30].slug,
        syria[45].slug,
        seed_releases[4].slug,
        syria[62].slug,
    }
    also_russia = {syria[7].slug, seed_releases[7].slug}
    merged = []
    for release in syria:
        facets = set(release.facets)
        if release.slug in shared:
            facets.add(REFUGEES)
        if release.slug in also_russia:
            facets.add(RUSSIA_UKRAINE)
        merged.append(replace(release, facets=frozenset(facets)))

    # Quirks the generator does not produce by chance, placed on purpose.
    refugees[0] = replace(
        refugees[0], email="press@aiusa.org", summary="For interviews, contact the press office at "
    )
    death[5] = replace(death[5], date_text="")  # a card without a date: validation quarantines it
    death[8] = replace(
        death[8],
        label="Press Release",
        icon=False,
        title="Report: " + death[8].title.split(": ", 1)[-1],
    )
    russia[2] = replace(russia[2], label="", link="bare")

    releases = tuple(merged + refugees + death + russia)
    slugs = [r.slug for r in releases]
    assert len(slugs) == len(set(slugs)), "demo slugs must be unique"
    dataset = Dataset(releases=releases, page_sizes={})
    # The seed page keeps its 12 cards: make page 6 of Syria exactly those.
    seed_start = dataset.listing(SYRIA).index(seed_releases[0])
    assert seed_start == (SEED_PAGE - 1) * PAGE_SIZE, seed_start
    dataset = replace(dataset, releases=_plan_details(dataset.releases))
    return replace(dataset, page_sizes={SEED_FILTER: {SEED_PAGE: len(SEED_CARDS)}})


def _plan_details(releases: tuple[DemoRelease, ...]) -> tuple[DemoRelease, ...]:
    """The release pages that depart from their cards on purpose (chosen by slug suffix).

    Moved pages answer at a new slug (their old path redirects), deleted ones 404 or 410 while
    the listing still shows their card, as on the real site for a while after an edit. Spanish
    pages and edited headlines are the extractor's cross-check cases; two English pages do not
    open with their card's summary.
    """

    def edited(release: DemoRelease, how: str) -> DetailPlan:
        title = release.title.strip()
        if how == "update":
            return DetailPlan(headline="UPDATE: " + title)
        if how == "says":
            return DetailPlan(headline=title + ", Amnesty International says")
        place, _, rest = title.partition(": ")
        return DetailPlan(headline=f"{rest[:1].upper()}{rest[1:]} in {place}")

    def shortened(release: DemoRelease) -> str:
        words = release.slug.split("-")
        return "-".join(words[:4] + words[-1:])

    plans = {
        "sy15": lambda r: DetailPlan(moved_to=r.slug + "-2"),
        "rf17": lambda r: DetailPlan(moved_to=shortened(r)),
        "dp19": lambda r: DetailPlan(moved_to=r.slug + "-2"),
        "sy24": lambda r: DetailPlan(gone=404),
        "rf29": lambda r: DetailPlan(gone=404),
        "dp22": lambda r: DetailPlan(gone=410),
        "rf11": lambda r: DetailPlan(language="es"),
        "rf41": lambda r: DetailPlan(language="es"),
        "rf47": lambda r: DetailPlan(language="es"),
        "sy9": lambda r: edited(r, "update"),
        "dp16": lambda r: edited(r, "says"),
        "ru7": lambda r: edited(r, "place-last"),
        "sy30": lambda r: DetailPlan(summary_in_body=False),
        "dp37": lambda r: DetailPlan(summary_in_body=False),
    }
    planned = []
    for release in releases:
        suffix = release.slug.rsplit("-", 1)[-1]
        plan = plans.pop(suffix, None)
        planned.append(release if plan is None else replace(release, detail=plan(release)))
    assert not plans, f"no release for the planned pages {sorted(plans)}"
    paths = [r.page_path for r in planned] + [r.path for r in planned]
    assert len(set(paths)) == len(planned) + sum(1 for r in planned if r.detail.moved_to)
    return tuple(planned)


# ---------------------------------------------------------------- scenario helpers --------------


def with_new_releases(dataset: Dataset, count: int, facet: str, on: date) -> Dataset:
    """The site after `count` new releases were published under `facet` (they lead page 1)."""
    fresh = [
        DemoRelease(
            slug=f"new-release-{on.isoformat()}-{index + 1}",
            section="press-releases",
            title=f"New release {index + 1} published on {format_site_date(on)}",
            summary="A new statement by Amnesty International.",
            published_on=on,
            date_text=format_site_date(on),
            label="Press Release",
            facets=frozenset({facet}),
        )
        for index in range(count)
    ]
    return replace(dataset, releases=dataset.releases + tuple(fresh))


def with_title(dataset: Dataset, slug: str, title: str) -> Dataset:
    """The site after the release `slug` had its title edited."""
    return _replace_release(dataset, slug, lambda r: replace(r, title=title))


def with_facet(dataset: Dataset, slug: str, facet: str) -> Dataset:
    """The site after the release `slug` was also tagged with `facet`."""
    return _replace_release(dataset, slug, lambda r: replace(r, facets=r.facets | {facet}))


def with_headline(dataset: Dataset, slug: str, headline: str) -> Dataset:
    """The site after the page of `slug` had its headline edited (its card keeps the title)."""
    return _replace_detail(dataset, slug, headline=headline)


def with_body(
    dataset: Dataset,
    slug: str,
    paragraph: str,
    *,
    replace_body: bool = False,
    modified_at: datetime | None = None,
) -> Dataset:
    """The site after the page of `slug` was edited: `paragraph` added at the end of its body,
    or (`replace_body`) the whole body replaced by it. `modified_at` (aware) is the edit's time,
    shown as the page's modification date (not on a page that shows only a visible date)."""
    release = dataset.by_slug(slug)
    if replace_body:
        changes: dict[str, object] = {"new_body": (paragraph,), "extra_body": ()}
    else:
        changes = {"extra_body": (*release.detail.extra_body, paragraph)}
    if modified_at is not None:
        changes["modified_at"] = modified_at
    return _replace_detail(dataset, slug, **changes)


def with_moved(dataset: Dataset, slug: str, new_slug: str | None = None) -> Dataset:
    """The site after the page of `slug` moved to `new_slug` (default: slug + "-2"), in the
    same section: the old path answers 301 to the new one, the listing still links the old."""
    new_slug = new_slug or slug + "-2"
    taken = {r.slug for r in dataset.releases} | {r.detail.moved_to for r in dataset.releases}
    if new_slug in taken:
        raise ValueError(f"slug {new_slug!r} is already taken")
    return _replace_detail(dataset, slug, moved_to=new_slug)


def with_deleted(dataset: Dataset, slug: str, status: int = 404) -> Dataset:
    """The site after the page of `slug` was deleted: 404 (or 410), its card still listed."""
    if status not in (404, 410):
        raise ValueError(f"a deleted page answers 404 or 410, not {status}")
    return _replace_detail(dataset, slug, gone=status)


def _replace_detail(dataset: Dataset, slug: str, **changes: object) -> Dataset:
    return _replace_release(
        dataset, slug, lambda r: replace(r, detail=replace(r.detail, **changes))
    )


def _replace_release(dataset: Dataset, slug: str, change) -> Dataset:
    dataset.by_slug(slug)  # KeyError for an unknown slug
    releases = tuple(change(r) if r.slug == slug else r for r in dataset.releases)
    return replace(dataset, releases=releases)


def facets_of(releases: Iterable[DemoRelease]) -> set[str]:
    """Every facet used by `releases`."""
    return {facet for release in releases for facet in release.facets}
