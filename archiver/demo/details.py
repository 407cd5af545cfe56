"""The release (detail) pages of the demo site, and what a careful reader finds on each one.

Every release links from its listing card to a page of its own. The crawler's detail extractor
(issue 16's contract: the page markup and the ground truth) is measured against these pages, so
they carry what the real pages carry: WordPress markup with Yoast JSON-LD on most pages but not
all, OpenGraph on most, a few pages with nothing but a visible date, dates that are *not* the
publication date (related releases, the "Updated" note, dates in the text, the copyright year),
figures whose captions and credits are not body text, a press-contact box, share buttons, tags,
PDF attachments, a few Spanish pages, a few edited headlines, letters, moved and deleted pages.

Everything a page says is decided by a random generator seeded with the release's slug
(`random.Random(slug)`, stable across runs and machines, unlike `hash()`), plus the release's
`DetailPlan` for what was placed on purpose. `detail_truth` says what the page holds in the
contract's terms, computed from the same decisions the renderer used, never by parsing HTML: the
tests then check that a plain reading of the rendered page gives the same values.

Pure: no I/O. `render_detail` gives one page, `detail_site` the whole set of answers (pages,
301 redirects, 404/410 paths), `detail_pages` the ground truth export for tests and benchmarks.
"""

from __future__ import annotations

import html
import json
import random
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

from archiver.demo.dataset import (
    _EXTRA_PLACES,
    _PLACES,
    _SENTENCES,
    Dataset,
    DemoRelease,
    format_site_date,
)

SITE = "https://www.amnestyusa.org"
COPYRIGHT_YEAR = 2026
#: Modification dates never go past this day (the demo site's "today").
LAST_EDIT = date(2026, 12, 1)

POST_TYPES = {
    "press-releases": ("Press Release", "Comunicado de prensa"),
    "reports": ("Report", "Informe"),
    "updates": ("Update", "Actualización"),
    "urgent-actions": ("Urgent Action", "Acción urgente"),
    "news": ("News", "Noticias"),
}
#: Tag names as the site writes them; other slugs get a title-cased name.
TAG_NAMES = {
    "country=syria": "Syria",
    "country=russian-federation": "Russian Federation",
    "country=ukraine": "Ukraine",
    "issue=refugee-migrant-rights": "Refugee and Migrant Rights",
    "issue=death-penalty": "Death Penalty",
}
TAG_FOLDERS = {"country": "countries", "issue": "issues", "topic": "topics"}
TOPICS = (
    ("armed-conflict", "Armed Conflict"),
    ("crisis-response", "Crisis Response"),
    ("detention", "Detention"),
    ("freedom-of-expression", "Freedom of Expression"),
    ("justice-and-accountability", "Justice and Accountability"),
)
_MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DetailTruth:
    """What a careful person reading a release page writes down (contract, section 2).

    `body` is the content container's text blocks (paragraphs, headings, quoted paragraphs, list
    items) in order, each whitespace-collapsed, joined with a blank line; never the figure
    caption or credit, the press contact, share buttons, tags, related releases or newsletter.
    `published_at` is None when the page shows only a visible date (`published_on` always set).
    `attachments` are absolute URLs, in page order (body links first, then the documents box),
    each once.
    """

    headline: str
    body: str
    published_on: date
    published_at: datetime | None
    modified_at: datetime | None
    contact: str | None
    tags: tuple[str, ...]
    attachments: tuple[str, ...]
    canonical_url: str
    language: str
    jsonld: bool
    opengraph: bool


# ---------------------------------------------------------------- the page's decisions ----------

# An inline piece of a block: plain text, or (tag, text, attributes).
Inline = str | tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class _Block:
    """One block of the content container: p, h2, a blockquote (its paragraphs) or a ul (items)."""

    kind: str  # p | h2 | quote | ul
    parts: tuple[tuple[Inline, ...], ...]  # one entry for p/h2, one per paragraph or item else


@dataclass(frozen=True, slots=True)
class _Figure:
    after: int  # placed after this many blocks
    src: str
    alt: str
    caption: str
    credit: str


@dataclass(frozen=True, slots=True)
class _Page:
    """Everything one release page shows, decided once; rendering and truth both read it."""

    release: DemoRelease
    headline: str
    language: str
    metadata: str  # full | jsonld | og | time | visible
    published_at: datetime
    modified_at: datetime | None
    blocks: tuple[_Block, ...]
    figure: _Figure | None
    contact: tuple[str, str] | None  # (text before the address, e-mail address)
    tags: tuple[tuple[str, str, str], ...]  # (facet string, href, name)
    documents: tuple[tuple[str, str], ...]  # the attachments box: (href, link text)
    pretty: bool  # paragraphs wrapped over several source lines

    @property
    def jsonld(self) -> bool:
        return self.metadata in ("full", "jsonld")

    @property
    def opengraph(self) -> bool:
        return self.metadata in ("full", "og")

    @property
    def visible_only(self) -> bool:
        return self.metadata == "visible"

    @property
    def canonical_url(self) -> str:
        return SITE + self.release.page_path

    @property
    def post_type(self) -> str:
        english, spanish = POST_TYPES.get(self.release.section, ("Press Release", ""))
        return spanish if self.language == "es" and spanish else english


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _inline_text(part: Inline) -> str:
    return part if isinstance(part, str) else part[1]


def _block_texts(block: _Block) -> list[str]:
    return [_collapse("".join(_inline_text(part) for part in parts)) for parts in block.parts]


def _p(*parts: Inline) -> _Block:
    return _Block("p", (parts,))


def _link(text: str, href: str) -> Inline:
    return ("a", text, (("href", href),))


def _strong(text: str) -> Inline:
    return ("strong", text, ())


def _em(text: str) -> Inline:
    return ("em", text, ())


def _all_places() -> list[str]:
    places = [place for group in _PLACES.values() for place in group] + _EXTRA_PLACES
    return sorted(set(places), key=lambda place: (-len(place), place))


_PLACE_LIST = _all_places()
_SENTENCE_TEXTS = sorted({s.format(place=p) for s in _SENTENCES for p in _PLACE_LIST})


def place_of(release: DemoRelease) -> str:
    """The place a release is about: named in its title, else its country tag, else a region."""
    for place in _PLACE_LIST:
        if place in release.title:
            return place
    for facet, _, name in _tags_of_facets(release):
        if facet.startswith("country="):
            return name
    return "the region"


def strip_ellipsis(summary: str) -> str:
    """A card summary without the ellipsis the listing adds when it cuts the excerpt.

    >>> strip_ellipsis("They were held for weeks \\u00a0…"), strip_ellipsis("It ended...")
    ('They were held for weeks', 'It ended')
    """
    text = summary.rstrip()
    for mark in ("…", "..."):
        if text.endswith(mark):
            text = text.removesuffix(mark)
            break
    return text.rstrip()


#: How the seed page's cut excerpts go on in the real releases' first paragraphs.
_SEED_CONTINUATIONS = {
    "with the": " aim of protecting people from the horrors of war – has failed Syria.",
    "evacuated,”": " said a doctor who left eastern Aleppo last week.",
    "without proper": " protection, more civilians will be killed or injured.",
    "attacks on": " residential areas, hospitals and markets.",
}


def _complete(prefix: str, rng: random.Random, place: str) -> str:
    """The whole first paragraph a card's excerpt (`prefix`, ellipsis removed) was cut from
    (a sentence cut short is finished, naming the release's own `place` where it can)."""
    if not prefix:
        return ""
    index = 0
    while index < len(prefix):
        sentence = next((s for s in _SENTENCE_TEXTS if prefix.startswith(s, index)), None)
        if sentence is None:
            break
        index += len(sentence)
        while index < len(prefix) and prefix[index] == " ":
            index += 1
    tail = prefix[index:]
    if not tail or tail[-1] in ".:!?”":
        return prefix
    endings = sorted(
        (s for s in _SENTENCE_TEXTS if s.startswith(tail)), key=lambda s: (place not in s, s)
    )
    sentence = endings[0] if endings else None
    if sentence is not None:
        return prefix + sentence[len(tail) :]
    for ending, continuation in _SEED_CONTINUATIONS.items():
        if prefix.endswith(ending):
            return prefix + continuation
    return prefix + " " + rng.choice(["in the coming weeks.", "without delay.", "now."])


def _decoy_date(rng: random.Random, published: date) -> date:
    """A date the text mentions: some day in the years before the publication, never on it."""
    return published - timedelta(days=rng.randint(7, 3000))


def _date_text(day: date, language: str) -> str:
    if language == "es":
        return f"{day.day} de {_MONTHS_ES[day.month - 1]} de {day.year}"
    return format_site_date(day)


def _tags_of_facets(release: DemoRelease) -> list[tuple[str, str, str]]:
    """The release's facets as the page's tag links: one tag per value of a facet."""
    tags: list[tuple[str, str, str]] = []
    for facet in sorted(release.facets):
        for pair in facet.split("&"):
            key, _, values = pair.partition("=")
            for value in values.split(","):
                if not value:
                    continue
                string = f"{key}={value}"
                folder = TAG_FOLDERS.get(key, key + "s")
                name = TAG_NAMES.get(string, value.replace("-", " ").title())
                if all(string != known for known, _, _ in tags):
                    tags.append((string, f"/{folder}/{value}/", name))
    return tags


def _uploads(release: DemoRelease) -> str:
    day = release.published_on
    return f"/wp-content/uploads/{day.year}/{day.month:02d}/"


# English text banks ({place}, {date}, {title} filled in per page).
_CITIES = ("WASHINGTON, D.C.", "NEW YORK", "LONDON")
_STATEMENT_FRAMES = (
    " — Amnesty International USA released the following statement:",
    " — In response to today’s developments, Amnesty International USA issued the following"
    " statement:",
)
_CONTACT_FRAMES = (
    "Contact: AIUSA media relations, 202-509-8194",
    "Contact: Press office, press@aiusa.org, 202-544-0200",
)
_OTHER_LEADS = (
    "Amnesty International USA today renewed its call on the authorities in {place} to end a "
    "crackdown that has lasted more than a year.",
    "The human rights situation in {place} has sharply deteriorated, Amnesty International said "
    "as it published new testimony from survivors.",
)
_PARAGRAPHS = (
    "Amnesty International has documented a pattern of violations in {place} since {year}, "
    "including arbitrary detention, torture and enforced disappearance.",
    "In a briefing published on {date}, the organization warned that the situation in {place} "
    "would deteriorate without urgent international action.",
    "The authorities in {place} have not responded to Amnesty International’s requests for "
    "comment, sent on {date}.",
    "Survivors told researchers that the abuses began in earnest after {date}, when security "
    "forces took control of the area.",
    "Families of those detained in {place} have been left without news of their relatives for "
    "months, and many fear the worst.",
    "The international community must use every means at its disposal to protect people in "
    "{place} and to ensure that the perpetrators are held to account.",
)
_QUOTES = (
    "The world cannot keep looking away from {place}. Every day of delay costs lives.",
    "Those responsible for these crimes must be brought to justice in fair trials, without "
    "recourse to the death penalty.",
    "What we found in {place} is shocking, but it is not surprising. These abuses were entirely "
    "foreseeable.",
    "People in {place} have a right to safety and dignity, and the authorities have a duty to "
    "protect them.",
)
_SPEAKERS = (
    "Paul O’Brien, executive director of Amnesty International USA, made the statement at a "
    "press briefing in Washington.",
    "The organization’s regional director said the findings must prompt an immediate response.",
    "A senior crisis adviser at Amnesty International added that access for independent "
    "investigators is long overdue.",
)
_HEADINGS = ("Background", "What Amnesty International is calling for", "Take action")
_CALLS = (
    "release everyone detained solely for peacefully exercising their human rights;",
    "allow independent monitors unhindered access to all places of detention;",
    "protect civilians and civilian infrastructure, including hospitals and schools;",
    "impose an immediate moratorium on executions as a first step towards abolition;",
    "ensure that survivors and the families of victims receive full reparation.",
)
_REPORT_TOPICS = (
    "unlawful killings and enforced disappearances",
    "torture and other ill-treatment in detention",
    "attacks on hospitals, schools and markets",
    "the forced return of refugees and asylum-seekers",
)
_ADDRESSEES = (
    (("The Honorable Secretary of State", "U.S. Department of State", "Washington, D.C. 20520"),
     "Dear Secretary,"),
    (("Members of the United Nations Security Council", "United Nations Headquarters",
      "New York, NY 10017"), "Dear Ambassadors,"),
    (("The Honorable Attorney General", "U.S. Department of Justice",
      "950 Pennsylvania Avenue NW"), "Dear Attorney General,"),
)  # fmt: skip
_LETTER_PARAGRAPHS = (
    "We write to express our deep concern about the human rights situation in {place}, which "
    "has worsened considerably since {date}.",
    "We urge you to use your office to press for the immediate release of those detained "
    "arbitrarily and for independent access to all places of detention in {place}.",
    "We would welcome the opportunity to meet with you to discuss these concerns and look "
    "forward to your response.",
)
_CAPTIONS = (
    ("Protesters gather outside the embassy to demand the release of detained activists.",
     "(Photo by Drew Angerer/Getty Images)"),
    ("A family walks through the rubble of a destroyed neighbourhood.",
     "© Amnesty International"),
    ("People queue for food at a distribution point on March 3, 2019.",
     "(Photo by Louisa Gouliamaki/AFP via Getty Images)"),
    ("Activists hold a vigil for victims of the death penalty.", ""),
)  # fmt: skip
_CONTACTS = (
    ("AIUSA media relations, 202-509-8194, ", "media@aiusa.org"),
    ("Press office, Amnesty International USA, 202-544-0200, ", "press@aiusa.org"),
    ("For interviews, contact AIUSA media relations at 202-509-8194 or ", "media@aiusa.org"),
)

# Spanish text banks.
_ES_FRAME = " — Amnistía Internacional EE. UU. publicó la siguiente declaración:"
_ES_LEADS = (
    "Amnistía Internacional afirmó hoy que las autoridades de {place} deben actuar sin demora "
    "para proteger a la población civil.",
    "Las familias que buscan protección en {place} deben ser tratadas con dignidad y no con "
    "detenciones ni expulsiones, afirmó hoy Amnistía Internacional.",
)
_ES_PARAGRAPHS = (
    "Testigos describieron el ataque del {date} como el peor en meses.",
    "La organización pide una investigación independiente y que los responsables comparezcan "
    "ante la justicia en juicios justos.",
    "Los investigadores entrevistaron a 43 personas, entre ellas sobrevivientes, familiares y "
    "personal médico en {place}.",
)
_ES_QUOTE = (
    "El mundo no puede seguir mirando hacia otro lado. Cada día de demora cuesta vidas en {place}."
)
_ES_SPEAKER = "Así lo afirmó la directora regional de la organización."
_ES_CALLS = (
    "liberar a todas las personas detenidas únicamente por ejercer sus derechos humanos;",
    "garantizar el acceso de observadores independientes a todos los centros de detención;",
    "proteger a las personas refugiadas y migrantes frente a la devolución.",
)


def _fill(text: str, place: str, rng: random.Random, published: date, language: str = "en") -> str:
    return text.format(
        place=place,
        date=_date_text(_decoy_date(rng, published), language),
        year=rng.randint(2011, 2019),
    )


def _lead(release: DemoRelease, rng: random.Random, place: str) -> str:
    """The paragraph the card's excerpt was cut from (or, by plan, another one)."""
    if release.detail.summary_in_body:
        summary = release.summary
        if release.email:
            summary = summary.rstrip() + " " + release.email + "."
        lead = _complete(strip_ellipsis(summary), rng, place)
        if lead:
            return lead
    return rng.choice(_OTHER_LEADS).format(place=place)


def _items(calls: list[str]) -> tuple[tuple[Inline, ...], ...]:
    """List items in their bank's order, each ending with `;` but the last with `.`."""
    texts = [call.rstrip(";.") for call in calls]
    return tuple((text + (";" if i < len(texts) - 1 else "."),) for i, text in enumerate(texts))


def _english_blocks(page_rng: random.Random, release: DemoRelease, place: str) -> list[_Block]:
    rng = page_rng
    published = release.published_on
    blocks: list[_Block] = []
    framing = rng.choices(["dateline", "contact", "none"], weights=[4, 1.5, 4.5])[0]
    if framing == "dateline":
        dateline = f"{rng.choice(_CITIES)} ({format_site_date(published)})"
        blocks.append(_p(_strong(dateline), rng.choice(_STATEMENT_FRAMES)))
    elif framing == "contact":
        blocks.append(_p(rng.choice(_CONTACT_FRAMES)))
    lead = _lead(release, rng, place)
    if rng.random() < 0.5:
        lead += " " + _fill(rng.choice(_PARAGRAPHS), place, rng, published)
    blocks.append(_p(lead))
    title = release.title.strip()
    if title.lower().startswith("open letter") or (
        release.section == "urgent-actions" and rng.random() < 0.3
    ):
        if framing == "dateline":  # the statement frame announces a letter instead
            blocks[0] = _p(
                blocks[0].parts[0][0], " — Amnesty International USA sent the following letter:"
            )
        lines, salutation = rng.choice(_ADDRESSEES)
        address: list[Inline] = []
        for index, line in enumerate(lines):
            address.append(line if index == 0 else "\n" + line)
            if index < len(lines) - 1:
                address.append(("br", "", ()))
        blocks.append(_p(*address))
        blocks.append(_p(salutation))
        for text in rng.sample(_LETTER_PARAGRAPHS, k=rng.randint(1, 3)):
            blocks.append(_p(_fill(text, place, rng, published)))
        blocks.append(_p("Sincerely,"))
        blocks.append(
            _p(
                "Paul O’Brien",
                ("br", "", ()),
                "\nExecutive Director, Amnesty International USA",
            )
        )
        return blocks
    target = rng.randint(3, 8)
    components = ["paragraph", "quote", "list", "background", "paragraph", "link"]
    if release.section == "reports" or title.startswith("Report:"):
        components.insert(0, "report")
    rng.shuffle(components)
    if "report" in components:
        components.remove("report")
        components.insert(0, "report")
    for component in components:
        if len(blocks) >= target:
            break
        if component == "report":
            report_title = title.removeprefix("Report:").strip()
            start = _decoy_date(rng, published)
            blocks.append(
                _p(
                    f"The {rng.randint(24, 96)}-page report, ",
                    _em(f"‘{report_title}’"),
                    f", documents {rng.choice(_REPORT_TOPICS)} in {place} between "
                    f"{start:%B} {start.year} and {published:%B} {published.year}.",
                )
            )
        elif component == "paragraph":
            blocks.append(_p(_fill(rng.choice(_PARAGRAPHS), place, rng, published)))
        elif component == "quote":
            quote_text = rng.choice(_QUOTES).format(place=place)
            blocks.append(_Block("quote", ((f"“{quote_text}”",),)))
            blocks.append(_p(rng.choice(_SPEAKERS)))
        elif component == "list":
            blocks.append(_p(f"Amnesty International is calling on the authorities in {place} to:"))
            calls = sorted(rng.sample(_CALLS, k=rng.randint(2, 4)), key=_CALLS.index)
            blocks.append(_Block("ul", _items(calls)))
        elif component == "background":
            blocks.append(_Block("h2", ((rng.choice(_HEADINGS),),)))
            blocks.append(_p(_fill(rng.choice(_PARAGRAPHS), place, rng, published)))
        elif component == "link":
            issue = next(
                (href for facet, href, _ in _tags_of_facets(release) if facet.startswith("issue=")),
                "/issues/",
            )
            blocks.append(
                _p(
                    "Learn more about Amnesty International’s work on ",
                    _link("this issue", issue),
                    f" and in {place}.",
                )
            )
    return blocks


def _spanish_blocks(rng: random.Random, release: DemoRelease, place: str) -> list[_Block]:
    published = release.published_on
    dateline = f"WASHINGTON, D.C. ({_date_text(published, 'es')})"
    blocks = [_p(_strong(dateline), _ES_FRAME)]
    blocks.append(_p(rng.choice(_ES_LEADS).format(place=place)))
    for text in rng.sample(_ES_PARAGRAPHS, k=2):
        blocks.append(_p(_fill(text, place, rng, published, "es")))
    blocks.append(_Block("quote", ((f"“{_ES_QUOTE.format(place=place)}”",),)))
    blocks.append(_p(_ES_SPEAKER))
    blocks.append(_Block("h2", (("Lo que pide Amnistía Internacional",),)))
    blocks.append(_Block("ul", _items(list(_ES_CALLS))))
    return blocks


def _page(release: DemoRelease) -> _Page:
    """Every decision about a release's page, from its slug and its plan."""
    plan = release.detail
    if plan.gone:
        raise LookupError(f"the page of {release.slug} was deleted ({plan.gone})")
    rng = random.Random(release.slug)
    language = plan.language
    roll = rng.random()
    if language != "en":
        metadata = "full"
    elif roll < 0.10:
        metadata = "visible"
    elif roll < 0.14:
        metadata = "time"
    elif roll < 0.20:
        metadata = "og"
    elif roll < 0.28:
        metadata = "jsonld"
    else:
        metadata = "full"
    clock = time(rng.randint(8, 21), rng.choice([0, 5, 15, 30, 45, 50]), tzinfo=UTC)
    published_at = datetime.combine(release.published_on, clock)
    modified_at = None
    if rng.random() < 0.3 and metadata != "visible":
        day = min(release.published_on + timedelta(days=rng.randint(1, 400)), LAST_EDIT)
        modified_at = datetime.combine(
            day, time(rng.randint(8, 21), rng.randint(0, 59), tzinfo=UTC)
        )
    if plan.modified_at is not None and metadata != "visible":
        modified_at = plan.modified_at.astimezone(UTC)
    place = place_of(release)
    if language == "es":
        blocks = _spanish_blocks(rng, release, place)
    else:
        blocks = _english_blocks(rng, release, place)
    figure = None
    if release.caption or rng.random() < 0.3:
        caption, credit = (
            (release.caption, release.credit) if release.caption else rng.choice(_CAPTIONS)
        )
        figure = _Figure(
            after=min(rng.randint(1, 2), len(blocks)),
            src=f"{_uploads(release)}{release.slug[:24].strip('-')}-1024x683.jpg",
            alt=release.image_alt or caption[:80],
            caption=caption,
            credit=credit,
        )
    documents: tuple[tuple[str, str], ...] = ()
    if rng.random() < 0.15:
        pdf = f"{_uploads(release)}{release.slug}.pdf"
        style = rng.choice(["box", "link", "both"])
        if style in ("link", "both"):
            click = "Para ver la versión en PDF " if language == "es" else "To view PDF version "
            here = "haga clic aquí" if language == "es" else "click here"
            blocks.append(_p(click, _link(here, pdf), "."))
        if style in ("box", "both"):
            kind = POST_TYPES.get(release.section, ("Press Release",))[0].lower()
            size = f"{rng.randint(2, 48) / 10:.1f} MB"
            box = [(pdf, f"Full {kind} (PDF, {size})")]
            if rng.random() < 0.4:
                box.append(
                    (
                        SITE + f"{_uploads(release)}{release.slug}-annex.docx",
                        f"Annex: cases documented (DOCX, {rng.randint(20, 90)} KB)",
                    )
                )
            documents = tuple(box)
    if plan.new_body:
        blocks = [_p(text) for text in plan.new_body]
        figure = None if figure is None else _Figure(
            min(figure.after, len(blocks)), figure.src, figure.alt, figure.caption, figure.credit
        )  # fmt: skip
    blocks.extend(_p(text) for text in plan.extra_body)
    contact = rng.choice(_CONTACTS) if rng.random() < 0.88 else None
    tags = _tags_of_facets(release)
    if rng.random() < 0.3:
        topic, name = rng.choice(TOPICS)
        tags.append((f"topic={topic}", f"/topics/{topic}/", name))
    return _Page(
        release=release,
        headline=plan.headline or release.title.strip(),
        language=language,
        metadata=metadata,
        published_at=published_at,
        modified_at=modified_at,
        blocks=tuple(blocks),
        figure=figure,
        contact=contact,
        tags=tuple(tags),
        documents=documents,
        pretty=rng.random() < 0.25,
    )


# ---------------------------------------------------------------- truth ---------------------------


def _absolute(href: str) -> str:
    return href if href.startswith("http") else SITE + href


def _body_links(page: _Page) -> list[str]:
    return [
        part[2][0][1]
        for block in page.blocks
        for parts in block.parts
        for part in parts
        if not isinstance(part, str) and part[0] == "a"
    ]


def detail_truth(release: DemoRelease) -> DetailTruth:
    """What the release's page holds, in the contract's terms (LookupError for a deleted page).

    Derived from the decisions the renderer uses, not from its HTML: the tests read the pages
    with a plain parser and check that they agree.
    """
    page = _page(release)
    blocks = [text for block in page.blocks for text in _block_texts(block)]
    documents = [
        _absolute(href)
        for href in _body_links(page)
        if href.lower().endswith((".pdf", ".doc", ".docx"))
    ] + [_absolute(href) for href, _ in page.documents]
    contact = _collapse(page.contact[0] + page.contact[1]) if page.contact else None
    return DetailTruth(
        headline=_collapse(page.headline),
        body="\n\n".join(text for text in blocks if text),
        published_on=release.published_on,
        published_at=None if page.visible_only else page.published_at,
        modified_at=page.modified_at,
        contact=contact,
        tags=tuple(facet for facet, _, _ in page.tags),
        attachments=tuple(dict.fromkeys(documents)),
        canonical_url=page.canonical_url,
        language=page.language,
        jsonld=page.jsonld,
        opengraph=page.opengraph,
    )


# ---------------------------------------------------------------- rendering -----------------------


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _a(text: str) -> str:
    return html.escape(text, quote=True)


def _wrap(text: str) -> str:
    """Plain text as a pretty-printing editor leaves it: a line break every dozen words."""
    words = text.split(" ")
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    return "\n\t\t".join(lines)


def _inline_html(parts: tuple[Inline, ...], pretty: bool) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(_e(_wrap(part) if pretty else part))
        elif part[0] == "br":
            out.append("<br>")
        else:
            tag, text, attributes = part
            attrs = "".join(f' {name}="{_a(value)}"' for name, value in attributes)
            out.append(f"<{tag}{attrs}>{_e(text)}</{tag}>")
    return "".join(out)


def _block_html(block: _Block, pretty: bool) -> str:
    inner = [_inline_html(parts, pretty) for parts in block.parts]
    if pretty:
        inner = [f"\n\t\t{text}\n\t" for text in inner]
    if block.kind == "p":
        return f"<p>{inner[0]}</p>"
    if block.kind == "h2":
        return f'<h2 class="wp-block-heading">{inner[0]}</h2>'
    if block.kind == "quote":
        paragraphs = "".join(f"<p>{text}</p>" for text in inner)
        return f'<blockquote class="wp-block-quote">{paragraphs}</blockquote>'
    items = "".join(f"<li>{text}</li>" for text in inner)
    return f'<ul class="wp-block-list">{items}</ul>'


def _figure_html(figure: _Figure) -> str:
    credit = f' <span class="credit">{_e(figure.credit)}</span>' if figure.credit else ""
    return (
        '<figure class="wp-block-image size-large">'
        f'<img src="{_a(figure.src)}" alt="{_a(figure.alt)}" width="1024" height="683"'
        ' loading="lazy" decoding="async">'
        f'<figcaption class="wp-element-caption">{_e(figure.caption)}{credit}</figcaption>'
        "</figure>"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _jsonld(page: _Page) -> str:
    canonical = page.canonical_url
    language = "es" if page.language == "es" else "en-US"
    keywords = [name for _, _, name in page.tags]
    article: dict[str, object] = {
        "@type": "NewsArticle",
        "@id": canonical + "#article",
        "isPartOf": {"@id": canonical},
        "headline": page.headline,
        "datePublished": _iso(page.published_at),
    }
    if page.modified_at is not None:
        article["dateModified"] = _iso(page.modified_at)
    article.update(
        {
            "mainEntityOfPage": {"@id": canonical},
            "inLanguage": language,
            "author": {"@type": "Organization", "name": "Amnesty International USA"},
            "publisher": {"@id": SITE + "/#organization"},
            "keywords": keywords,
            "articleSection": [page.post_type],
        }
    )
    if page.figure is not None:
        article["image"] = {"@id": canonical + "#primaryimage"}
    graph: list[dict[str, object]] = [
        {
            "@type": "WebPage",
            "@id": canonical,
            "url": canonical,
            "name": f"{page.headline} - Amnesty International USA",
            "isPartOf": {"@id": SITE + "/#website"},
            "breadcrumb": {"@id": canonical + "#breadcrumb"},
            "inLanguage": language,
        },
        article,
        {
            "@type": "BreadcrumbList",
            "@id": canonical + "#breadcrumb",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Home", "item": SITE + "/"},
                {"@type": "ListItem", "position": 2, "name": "Newsroom", "item": SITE + "/news/"},
                {"@type": "ListItem", "position": 3, "name": page.headline},
            ],
        },
        {
            "@type": "Organization",
            "@id": SITE + "/#organization",
            "name": "Amnesty International USA",
            "url": SITE + "/",
            "logo": SITE + "/wp-content/themes/aiusa/images/logo.svg",
        },
    ]
    if page.figure is not None:
        graph.insert(
            2,
            {
                "@type": "ImageObject",
                "@id": canonical + "#primaryimage",
                "url": SITE + page.figure.src,
                "caption": page.figure.caption,
            },
        )
    data = {"@context": "https://schema.org", "@graph": graph}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/ld+json" class="yoast-schema-graph">{text}</script>\n'


def _opengraph(page: _Page) -> str:
    release = page.release
    if page.language == "es":
        description = _block_texts(page.blocks[1])[0] if len(page.blocks) > 1 else ""
    else:
        description = _collapse(strip_ellipsis(release.summary))
    tags = [
        ("og:locale", "es_ES" if page.language == "es" else "en_US"),
        ("og:type", "article"),
        ("og:title", page.headline),
        ("og:description", description[:155]),
        ("og:url", page.canonical_url),
        ("og:site_name", "Amnesty International USA"),
        ("article:publisher", "https://www.facebook.com/amnestyusa"),
        ("article:published_time", _iso(page.published_at)),
    ]
    if page.modified_at is not None:
        tags.append(("article:modified_time", _iso(page.modified_at)))
    if page.figure is not None:
        tags.append(("og:image", SITE + page.figure.src))
    out = "".join(f'<meta property="{name}" content="{_a(value)}">\n' for name, value in tags)
    return out + '<meta name="twitter:card" content="summary_large_image">\n'


_HEADER = (
    '<header class="site-header"><a class="skip-link" href="#main">Skip to content</a>\n'
    '<nav class="main-nav" aria-label="Main menu"><a class="logo" href="/">Amnesty International'
    ' USA</a><ul class="menu">'
    '<li class="menu-item"><a href="/issues/">Issues</a><ul class="sub-menu">'
    '<li><a href="/issues/death-penalty/">Death Penalty</a></li>'
    '<li><a href="/issues/refugee-migrant-rights/">Refugee and Migrant Rights</a></li>'
    '<li><a href="/issues/torture/">Torture</a></li></ul></li>'
    '<li class="menu-item"><a href="/countries/">Countries</a><ul class="sub-menu">'
    '<li><a href="/countries/syria/">Syria</a></li>'
    '<li><a href="/countries/ukraine/">Ukraine</a></li></ul></li>'
    '<li class="menu-item"><a href="/news/">Newsroom</a></li>'
    '<li class="menu-item"><a href="/take-action/">Take Action</a></li>'
    '<li class="menu-item menu-donate"><a href="/donate/">Donate</a></li></ul></nav></header>\n'
)
_NEWSLETTER = (
    '<section class="newsletter-signup"><h2>Get the latest news</h2>'
    "<p>Statements, reports and urgent actions from Amnesty International USA, every week in "
    "your inbox.</p>"
    '<form action="/newsletter/subscribe/" method="post"><label for="newsletter-email">Email'
    ' address</label><input id="newsletter-email" type="email" name="email" required>'
    '<button type="submit">Sign up</button></form></section>\n'
)
_FOOTER = (
    '<footer class="site-footer"><nav class="footer-nav"><a href="/about-us/">About us</a> '
    '<a href="/about-us/press/">Press office</a> <a href="/careers/">Careers</a></nav>'
    f"<p>© {COPYRIGHT_YEAR} Amnesty International USA. Amnesty International is a Nobel Peace"
    ' Prize-winning grassroots movement. <a href="/privacy-policy/">Privacy</a></p></footer>\n'
)


def related_releases(release: DemoRelease, dataset: Dataset) -> list[DemoRelease]:
    """The 3 other releases the page shows as related: same filter, still online, another title."""
    own = set(release.facets)
    title = release.title.strip()
    candidates = [
        other
        for other in dataset.releases
        if other.slug != release.slug
        and not other.detail.gone
        and other.facets & own
        and other.title.strip() != title
        and (other.detail.headline or other.title.strip()) != title
    ]
    candidates.sort(key=lambda other: other.slug)
    rng = random.Random("related:" + release.slug)
    return rng.sample(candidates, k=min(3, len(candidates)))


def _related_html(release: DemoRelease, dataset: Dataset) -> str:
    cards = []
    for other in related_releases(release, dataset):
        headline = other.detail.headline or other.title.strip()
        cards.append(
            f'<article class="related-card"><a href="{_a(other.page_path)}">'
            f"<h3>{_e(headline)}</h3></a>"
            f'<span class="related-date">{format_site_date(other.published_on)}</span></article>'
        )
    return (
        '<section class="related-posts"><h2>Related content</h2><div class="related-grid">'
        + "".join(cards)
        + "</div></section>\n"
    )


def _share_html(page: _Page) -> str:
    url = quote(page.canonical_url, safe="")
    text = quote(page.headline, safe="")
    return (
        '<div class="share-buttons"><span class="share-label">Share this:</span> '
        f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={url}">'
        "Facebook</a> "
        f'<a class="share-x" href="https://twitter.com/intent/tweet?url={url}&amp;text={text}">'
        "X</a> "
        f'<a class="share-email" href="mailto:?subject={text}&amp;body={url}">Email</a></div>\n'
    )


def render_detail(release: DemoRelease, dataset: Dataset) -> str:
    """The release's page as the site serves it (LookupError for a deleted page).

    `dataset` gives the related releases; nothing else on the page depends on it.
    """
    page = _page(release)
    spanish = page.language == "es"
    head = [
        "<!DOCTYPE html>\n",
        f'<html lang="{"es" if spanish else "en-US"}"><head><meta charset="UTF-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(page.headline)} - Amnesty International USA</title>\n",
        '<meta name="robots" content="index, follow, max-image-preview:large">\n',
        f'<link rel="canonical" href="{_a(page.canonical_url)}">\n',
    ]
    if page.opengraph:
        head.append(_opengraph(page))
    if page.jsonld:
        head.append(_jsonld(page))
    head.append(
        '<link rel="stylesheet" href="/wp-content/themes/aiusa/dist/main.css?ver=4.2.1">\n</head>'
    )
    section = page.release.section
    visible = _date_text(page.release.published_on, page.language)
    if page.visible_only:
        date_html = f'<span class="entry-date">{visible}</span>'
    else:
        date_html = (
            f'<time class="entry-date published" datetime="{_iso(page.published_at)}">'
            f"{visible}</time>"
        )
    entry_header = [
        '<header class="entry-header">',
        f'<p class="post-type">{_e(page.post_type)}</p>',
        f'<h1 class="entry-title">{_e(page.headline)}</h1>',
        f'<p class="entry-meta">{date_html}</p>',
    ]
    if page.modified_at is not None:
        updated = "Actualizado" if spanish else "Updated"
        entry_header.append(
            f'<p class="entry-updated">{updated} <time class="updated" '
            f'datetime="{_iso(page.modified_at)}">'
            f"{_date_text(page.modified_at.date(), page.language)}</time></p>"
        )
    entry_header.append("</header>")
    content = []
    for index, block in enumerate(page.blocks):
        if page.figure is not None and index == page.figure.after:
            content.append(_figure_html(page.figure))
        content.append(_block_html(block, page.pretty))
    if page.figure is not None and page.figure.after >= len(page.blocks):
        content.append(_figure_html(page.figure))
    article = [
        f'<article id="post-{_post_id(page.release)}" class="post type-{section} status-publish">',
        "\n".join(entry_header),
        '<div class="wp-block-post-content entry-content">',
        "\n".join(content),
        "</div>",
    ]
    if page.contact is not None:
        text, address = page.contact
        heading = "Contacto de prensa" if spanish else "Press contact"
        article.append(
            f'<aside class="press-contact"><h2>{heading}</h2><p>{_e(text)}'
            f'<a href="mailto:{_a(address)}">{_e(address)}</a></p></aside>'
        )
    if page.documents:
        items = "".join(
            f'<li><a href="{_a(href)}">{_e(text)}</a></li>' for href, text in page.documents
        )
        article.append(f'<div class="attachments"><h2>Documents</h2><ul>{items}</ul></div>')
    article.append(_share_html(page).rstrip("\n"))
    tags = " ".join(f'<a href="{_a(href)}" rel="tag">{_e(name)}</a>' for _, href, name in page.tags)
    article.append(
        '<footer class="entry-footer"><div class="post-tags"><span class="tags-label">Tags:</span> '
        f"{tags}</div></footer>"
    )
    article.append("</article>")
    body_class = f"single single-{section} postid-{_post_id(page.release)}"
    return (
        "".join(head)
        + f'<body class="{body_class}">\n'
        + _HEADER
        + '<main id="main">\n'
        + "\n".join(article)
        + "\n"
        + _related_html(page.release, dataset)
        + _NEWSLETTER
        + "</main>\n"
        + _FOOTER
        + "</body></html>\n"
    )


def _post_id(release: DemoRelease) -> int:
    return random.Random("post:" + release.slug).randint(10_000, 99_999)


def render_gone(status: int = 410) -> str:
    """The page the site answers for a release it deleted on purpose (410) or lost (404)."""
    message = "This page has been removed." if status == 410 else "Sorry, nothing here."
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-US"><head><meta charset="UTF-8">\n'
        "<title>Page not found - Amnesty International USA</title>\n"
        '<meta name="robots" content="noindex">\n'
        "</head><body>\n" + _HEADER + f'<main id="main"><h1>Page not found</h1><p>{message}</p>'
        "</main>\n" + _FOOTER + "</body></html>\n"
    )


# ---------------------------------------------------------------- the whole set -------------------


class LazyPages(MutableMapping[str, bytes]):
    """Release pages by path, each rendered the first time it is asked for.

    `render_site` is called by many tests that never request a release page; rendering all of
    them up front would cost each of those calls ~0.1 s. Tests may still replace or remove a
    page (`site.details[path] = body`), as they do with listing pages.
    """

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._releases = {r.page_path: r for r in dataset.releases if not r.detail.gone}
        self._bodies: dict[str, bytes] = {}
        self._removed: set[str] = set()

    def __getitem__(self, path: str) -> bytes:
        body = self._bodies.get(path)
        if body is None:
            if path in self._removed:
                raise KeyError(path)
            body = render_detail(self._releases[path], self._dataset).encode("utf-8")
            self._bodies[path] = body
        return body

    def __setitem__(self, path: str, body: bytes) -> None:
        self._bodies[path] = body
        self._removed.discard(path)

    def __delitem__(self, path: str) -> None:
        if path not in self:
            raise KeyError(path)
        self._bodies.pop(path, None)
        self._removed.add(path)

    def _paths(self) -> list[str]:
        paths = dict.fromkeys([*self._releases, *self._bodies])
        return [path for path in paths if path not in self._removed]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths())

    def __len__(self) -> int:
        return len(self._paths())

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str) or path in self._removed:
            return False
        return path in self._bodies or path in self._releases


@dataclass(frozen=True, slots=True)
class DetailSite:
    """Every answer the site gives on release paths: pages (200), moves (301), deletions."""

    pages: MutableMapping[str, bytes]  # page path -> body (rendered when first asked for)
    redirects: dict[str, str]  # old path -> new path
    gone: dict[str, int]  # path -> 404 or 410


def detail_site(dataset: Dataset) -> DetailSite:
    """The release pages of a dataset, with the moves and deletions its plans ask for."""
    redirects = {r.path: r.page_path for r in dataset.releases if r.detail.moved_to}
    gone = {r.path: r.detail.gone for r in dataset.releases if r.detail.gone}
    return DetailSite(pages=LazyPages(dataset), redirects=redirects, gone=gone)


def detail_pages(dataset: Dataset) -> Iterator[tuple[str, bytes, DetailTruth]]:
    """Ground truth for tests and benchmarks: (path, body, truth) of every page served with 200.

    The path is where the page answers (a moved release's new path), sorted by path.
    """
    releases = sorted((r for r in dataset.releases if not r.detail.gone), key=lambda r: r.page_path)
    for release in releases:
        yield (
            release.page_path,
            render_detail(release, dataset).encode("utf-8"),
            detail_truth(release),
        )
