"""Render the demo dataset as amnestyusa.org listing pages, in the current or the previous layout,
or in a made-up redesign.

The markup follows the site notes: confirmed class names where they are known, a plausible
reconstruction where they are not. The current layout writes text as UTF-8 and its pagination as
absolute `https://www.amnestyusa.org/...` links (as WordPress does; the spider maps them onto the
host it crawls); the previous layout writes non-ASCII as numeric entities and root-relative links.

The redesign is no layout the site ever had: the current layout's cards with every class renamed
(`news-teaser`, `news-teaser__kicker`, ...), an extra wrapper around the card body, the date
before the summary, a newsletter box among the cards, a donate promo beside the grid and a
pagination whose links carry no class or `rel` the shipped selectors know. No shipped layout
matches it, so a crawl of it is read by the structural fallback (`layout = fallback`, exit 7):
the situation "After a redesign" in the README, to try locally.
"""

from __future__ import annotations

import html
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlsplit

from archiver.demo.dataset import Dataset, DemoRelease
from archiver.demo.details import detail_site, render_gone

CANONICAL = "https://www.amnestyusa.org"
LAYOUT_NAMES = ("current", "previous", "redesign")
PRESS_EMAIL = "media@aiusa.org"

ROBOTS_TXT = """\
User-agent: *
Disallow: /wp-admin/
Disallow: /cdn-cgi/
Allow: /wp-admin/admin-ajax.php

Sitemap: https://www.amnestyusa.org/sitemap_index.xml
"""


def cf_encode(address: str, key: int = 0x5A) -> str:
    """Cloudflare's e-mail obfuscation: the key byte, then every byte XOR key, as hex.

    >>> cf_encode("a@b.c", key=0x10)
    '107150723e73'
    """
    data = bytes([key]) + bytes(b ^ key for b in address.encode())
    return data.hex()


def listing_path(facet: str | None, page: int) -> str:
    """The site's own URL (path and query) of a listing page.

    >>> listing_path(None, 1), listing_path("country=syria", 6)
    ('/news/', '/news/page/6/?country=syria')
    >>> listing_path("country=russian-federation,ukraine", 2)
    '/news/page/2/?country=russian-federation%2Cukraine'
    """
    path = "/news/" if page == 1 else f"/news/page/{page}/"
    if not facet:
        return path
    query = "&".join(
        f"{key}={quote(value, safe='')}"
        for key, value in (part.split("=", 1) for part in facet.split("&"))
    )
    return f"{path}?{query}"


def facet_of_query(query: str) -> str | None:
    """The filter a request's query asks for, in the dataset's form; other parameters are ignored.

    >>> facet_of_query("country=russian-federation%2Cukraine&lang=e")
    'country=russian-federation,ukraine'
    >>> facet_of_query("id=ENGUSA123&rss=recentnews") is None
    True
    """
    params = parse_qs(query)
    parts = [f"{key}={params[key][-1]}" for key in ("country", "issue") if params.get(key)]
    return "&".join(parts) or None


def _text(value: str, layout: str) -> str:
    escaped = html.escape(value, quote=False).replace("\u00a0", "&nbsp;")
    if layout == "previous":
        return escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")
    return escaped


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def release_href(release: DemoRelease) -> str:
    """The link the card carries: relative, absolute www, bare host, or with tracking noise."""
    if release.link == "www":
        return CANONICAL + release.path
    if release.link == "bare":
        return "https://amnestyusa.org" + release.path
    if release.link == "tracking":
        return CANONICAL + release.path + "?utm_source=newsroom&utm_medium=listing#main"
    return release.path


def _summary_html(release: DemoRelease, layout: str) -> str:
    body = _text(release.summary, layout)
    if release.email:
        data = cf_encode(release.email)
        body += (
            f'<a href="/cdn-cgi/l/email-protection#{data}" class="__cf_email__" '
            f'data-cfemail="{data}">[email&#160;protected]</a>.'
        )
    return body


def _card_current(release: DemoRelease) -> str:
    parts = ['<div class="card-md h-full relative">']
    if release.caption or release.image_alt:
        parts.append(
            f'<figure class="card-md--image wp-block-image"><img src="/wp-content/uploads/'
            f'{release.slug[:20]}.jpg" alt="{_attr(release.image_alt)}" loading="lazy">'
        )
        if release.caption:
            credit = (
                f' <span class="credit">{_text(release.credit, "current")}</span>'
                if release.credit
                else ""
            )
            parts.append(
                f'<figcaption class="wp-element-caption">{_text(release.caption, "current")}'
                f"{credit}</figcaption>"
            )
        parts.append("</figure>")
    if release.label:
        icon = '<span class="screen-reader-text">Sheet of paper</span> ' if release.icon else ""
        parts.append(
            f'<span class="card-md--tag utility-2xs uppercase">{icon}{release.label}</span>'
        )
    parts.append(
        f'<a class="hocus-headline block" href="{_attr(release_href(release))}">'
        f'<h3 class="utility-md">{_text(release.title, "current")}</h3></a>'
    )
    parts.append(f'<p class="body-xs mt-xs">{_summary_html(release, "current")}</p>')
    if release.date_text:
        parts.append(
            '<p class="card-md--tag--hocus utility-2xs mt-xs text-gray-300">'
            f"{release.date_text}</p>"
        )
    parts.append("</div>")
    return "\n".join(parts)


def _card_previous(release: DemoRelease) -> str:
    parts = [f'<a class="row card-group d-flex mb-32" href="{_attr(release_href(release))}">']
    if release.caption or release.image_alt:
        parts.append(
            f'<div class="col-md-4 card-image"><img class="card-img" src="/wp-content/uploads/'
            f'{release.slug[:20]}.jpg" alt="{_attr(release.image_alt)}">'
        )
        if release.caption:
            parts.append(f'<p class="caption">{_text(release.caption, "previous")}</p>')
        if release.credit:
            parts.append(f'<p class="credit">{_text(release.credit, "previous")}</p>')
        parts.append("</div>")
    parts.append('<div class="col-md-8 card-body">')
    if release.label:
        icon = (
            '<img class="icon" src="/wp-content/themes/aiusa/icons/paper.svg" '
            'alt="Sheet of paper"> '
            if release.icon
            else ""
        )
        parts.append(f'<span class="post-type">{icon}{release.label}</span>')
    parts.append(
        f'<h4 role="heading" aria-level="4">{_text(release.title, "previous")}</h4>'
        f'<p class="body-3">{_summary_html(release, "previous")}</p>'
    )
    if release.date_text:
        parts.append(f'<h5 role="heading" aria-level="5">{release.date_text}</h5>')
    parts.append("</div></a>")
    return "\n".join(parts)


def _card_redesign(release: DemoRelease) -> str:
    href = _attr(release_href(release))
    parts = ['<article class="news-teaser" role="listitem">']
    if release.caption or release.image_alt:
        parts.append(
            f'<figure class="news-teaser__media"><a class="news-teaser__media-link" href="{href}"'
            ' tabindex="-1" aria-hidden="true"><img class="news-teaser__img" src="/wp-content/'
            f'uploads/{release.slug[:20]}-640x360.webp" alt="{_attr(release.image_alt)}"'
            ' loading="lazy" width="640" height="360"></a>'
        )
        if release.caption:
            credit = (
                f' <small class="news-teaser__credit">{_text(release.credit, "redesign")}</small>'
                if release.credit
                else ""
            )
            parts.append(
                f'<figcaption class="news-teaser__caption">{_text(release.caption, "redesign")}'
                f"{credit}</figcaption>"
            )
        parts.append("</figure>")
    parts.append('<div class="news-teaser__body"><div class="news-teaser__head">')
    if release.label:
        icon = (
            '<svg class="news-teaser__icon" aria-hidden="true" focusable="false">'
            '<use href="#icon-document"></use></svg><span class="u-visually-hidden">'
            "Sheet of paper</span> "
            if release.icon
            else ""
        )
        parts.append(f'<span class="news-teaser__kicker">{icon}{release.label}</span>')
    parts.append(
        f'<h2 class="news-teaser__title"><a class="news-teaser__link" href="{href}">'
        f"{_text(release.title, 'redesign')}</a></h2></div>"
    )
    if release.date_text:
        iso = release.published_on.isoformat()
        parts.append(f'<time class="news-teaser__date" datetime="{iso}">{release.date_text}</time>')
    parts.append(f'<p class="news-teaser__excerpt">{_summary_html(release, "redesign")}</p>')
    parts.append("</div></article>")
    return "\n".join(parts)


def _pagination_redesign(facet: str | None, page: int, last: int) -> str:
    """Numbered pages in a list; the next link is known by its URL and text, no class of old."""

    def item(number: int, text: str, modifier: str, aria: str = "") -> str:
        href = _attr(CANONICAL + listing_path(facet, number))
        label = f' aria-label="{aria}"' if aria else ""
        return (
            f'<li class="pager__item"><a class="pager__link pager__link--{modifier}"'
            f' href="{href}"{label}>{text}</a></li>'
        )

    items = ['<nav class="pager" aria-label="Pagination"><ul class="pager__list">']
    if page > 1:
        items.append(item(page - 1, "Previous", "back", "Previous page"))
    items.append(
        '<li class="pager__item"><span class="pager__link pager__link--active"'
        f' aria-current="page">{page}</span></li>'
    )
    if page < last:
        if last > page + 1:
            items.append('<li class="pager__item pager__item--gap">…</li>')
        items.append(item(last, str(last), "number", f"Page {last}"))
        items.append(item(page + 1, "Next", "forward", "Next page"))
    items.append("</ul></nav>")
    return "\n".join(items)


def _pagination(layout: str, facet: str | None, page: int, last: int) -> str:
    def link(number: int) -> str:
        path = listing_path(facet, number)
        return CANONICAL + path if layout == "current" else path

    if layout == "current":
        items = ['<nav class="navigation pagination" aria-label="Posts">']
        if page > 1:
            items.append(
                f'<div class="prev"><a class="prev page-numbers" href="{_attr(link(page - 1))}">'
                "Previous</a></div>"
            )
        items.append(f'<span aria-current="page" class="page-numbers current">{page}</span>')
        if page < last:
            items.append(f'<a class="page-numbers" href="{_attr(link(last))}">{last}</a>')
            items.append(
                f'<div class="next"><a class="next page-numbers" href="{_attr(link(page + 1))}">'
                "Next</a></div>"
            )
        items.append("</nav>")
        return "\n".join(items)
    items = ['<div class="pagination">']
    if page > 1:
        items.append(
            f'<a class="prev page-numbers" href="{_attr(link(page - 1))}">&laquo; Prev</a>'
        )
    items.append(f'<span class="page-numbers current">{page}</span>')
    if page < last:
        items.append(
            f'<a class="next page-numbers" href="{_attr(link(page + 1))}">Next &raquo;</a>'
        )
    items.append("</div>")
    return "\n".join(items)


def _chrome(layout: str, canonical_path: str, body: str) -> str:
    email = cf_encode(PRESS_EMAIL, key=0x3C)
    press = (
        '<p class="body-sm">Members of the press: for interviews and statements, please write to '
        f'<a href="/cdn-cgi/l/email-protection#{email}" class="__cf_email__" '
        f'data-cfemail="{email}">[email&#160;protected]</a>.</p>'
    )
    if layout == "redesign":
        return _chrome_redesign(canonical_path, press.replace("body-sm", "newsroom__lede"), body)
    if layout == "current":
        main = (
            '<main id="main"><div class="wp-block-post-content">\n'
            '<section class="newsroom-header"><h1 class="utility-xl">Newsroom</h1>\n'
            f"{press}</section>\n{body}\n</div></main>"
        )
    else:
        main = (
            '<div id="content" class="container news-archive">\n'
            f'<h1 class="heading-1">Newsroom</h1>\n{press}\n{body}\n</div>'
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-US"><head><meta charset="UTF-8">\n'
        "<title>Newsroom - Amnesty International USA</title>\n"
        f'<link rel="canonical" href="{_attr(CANONICAL + canonical_path)}">\n'
        "</head><body>\n"
        '<header class="site-header"><nav class="main-nav"><a href="/">Amnesty International USA'
        '</a> <a href="/issues/">Issues</a> <a href="/countries/">Countries</a> '
        '<a href="/news/">Newsroom</a> <a href="/donate/">Donate</a></nav></header>\n'
        f"{main}\n"
        '<footer class="site-footer"><p>© Amnesty International USA. '
        '<a href="/privacy-policy/">Privacy</a></p></footer>\n'
        "</body></html>\n"
    )


#: Site chrome the redesign puts among and beside the cards: never a release, never stored.
NEWSLETTER_BOX = (
    '<section class="signup-box" role="complementary" aria-labelledby="signup-heading">'
    '<h2 id="signup-heading" class="signup-box__heading">Get the latest news</h2>'
    '<p class="signup-box__text">Statements, reports and urgent actions from Amnesty'
    " International USA, every week in your inbox. You can unsubscribe at any time.</p>"
    '<form class="signup-box__form" action="/newsletter/subscribe/" method="post">'
    '<label for="signup-email">Email address</label>'
    '<input id="signup-email" type="email" name="email" required>'
    '<button type="submit">Sign up</button></form></section>'
)
DONATE_PROMO = (
    '<aside class="newsroom__aside"><div class="promo promo--donate">'
    '<p class="promo__eyebrow">Monthly giving</p>'
    '<h2 class="promo__heading"><a href="/donate/?campaign=newsroom">Defend human rights'
    "</a></h2>"
    '<p class="promo__text">Amnesty International USA is funded by people like you, not by'
    " governments. Your gift pays for the research behind every release on this page.</p>"
    '<a class="button button--primary" href="/donate/?campaign=newsroom">Donate now</a>'
    "</div></aside>"
)


def _chrome_redesign(canonical_path: str, press: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-US"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Newsroom | Amnesty International USA</title>\n"
        f'<link rel="canonical" href="{_attr(CANONICAL + canonical_path)}">\n'
        '</head><body class="archive newsroom">\n'
        '<a class="skip-link" href="#content">Skip to content</a>\n'
        '<header class="masthead"><div class="masthead__inner">'
        '<a class="masthead__logo" href="/">Amnesty International USA</a>'
        '<nav class="primary-nav" aria-label="Main"><ul>'
        '<li><a href="/our-work/">Our work</a></li><li><a href="/issues/">Issues</a></li>'
        '<li><a href="/countries/">Countries</a></li>'
        '<li><a href="/news/" aria-current="page">News</a></li>'
        '<li><a href="/take-action/">Take action</a></li></ul></nav>'
        '<a class="button button--donate" href="/donate/">Donate</a></div></header>\n'
        '<div class="page-wrap"><main id="content" class="newsroom">\n'
        '<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/">Home</a> / '
        "<span>News</span></nav>\n"
        '<header class="newsroom__intro"><h1 class="newsroom__title">Newsroom</h1>\n'
        f"{press}</header>\n"
        f'<div class="newsroom__layout">\n{body}\n</div>\n</main></div>\n'
        '<footer class="site-foot"><div class="site-foot__cols">'
        '<nav aria-label="About"><h2>About us</h2><ul><li><a href="/about-us/">Who we are</a></li>'
        '<li><a href="/about-us/press/">Press office</a></li>'
        '<li><a href="/careers/">Careers</a></li></ul></nav>'
        '<nav aria-label="Get involved"><h2>Get involved</h2><ul>'
        '<li><a href="/take-action/">Take action</a></li><li><a href="/donate/">Donate</a></li>'
        '<li><a href="/newsletter/">Newsletter</a></li></ul></nav></div>'
        '<p class="site-foot__legal">© Amnesty International USA. '
        '<a href="/privacy-policy/">Privacy</a> <a href="/terms/">Terms</a></p></footer>\n'
        "</body></html>\n"
    )


def render_page(
    layout: str, releases: list[DemoRelease], facet: str | None, page: int, last: int
) -> str:
    """One listing page with its cards and pagination."""
    if layout == "redesign":
        teasers = [_card_redesign(release) for release in releases]
        teasers.insert(min(4, len(teasers)), NEWSLETTER_BOX)
        cards = "\n".join(teasers)
        body = (
            f'<section class="news-listing" aria-label="Latest news">'
            f'<div class="news-grid" role="list">\n{cards}\n</div>\n'
            f"{_pagination_redesign(facet, page, last)}</section>\n{DONATE_PROMO}"
        )
        return _chrome("redesign", listing_path(facet, page), body)
    card = _card_current if layout == "current" else _card_previous
    cards = "\n".join(card(release) for release in releases)
    if layout == "current":
        body = f'<div class="ts-grid-col-3-outline">\n{cards}\n</div>\n'
    else:
        body = f'<div class="news-list">\n{cards}\n</div>\n'
    body += _pagination(layout, facet, page, last)
    return _chrome(layout, listing_path(facet, page), body)


def render_no_results(layout: str, facet: str | None) -> str:
    """What the site shows for a filter with nothing in it: a 200 page without cards."""
    return _chrome(layout, listing_path(facet, 1), '<p class="no-results">No results found.</p>')


def render_not_found(layout: str) -> str:
    """The site's 404 page (past the last page of a listing)."""
    return _chrome(layout, "/404/", "<h2>Page not found</h2><p>Sorry, nothing here.</p>")


@dataclass
class SitePages:
    """A whole rendered site: listing pages by (facet, page number), robots.txt, and the release
    pages by path (`details`), with the old paths of moved releases (`redirects`, answered 301
    with a Location) and the paths of deleted ones (`gone`, 404 or 410).

    Release pages are the same in every layout: only the listings were redesigned.
    """

    layout: str
    pages: dict[tuple[str | None, int], bytes] = field(default_factory=dict)
    robots_txt: str = ROBOTS_TXT
    details: MutableMapping[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    gone: dict[str, int] = field(default_factory=dict)

    def last_page(self, facet: str | None) -> int:
        """The number of pages a filter has (0 for an unknown filter)."""
        return max((page for (key, page) in self.pages if key == facet), default=0)

    def facets(self) -> list[str | None]:
        """Every filter that has pages, the whole newsroom (None) first."""
        keys = {key for key, _ in self.pages}
        return sorted(keys, key=lambda key: (key is not None, key or ""))

    def lookup(self, url_path: str) -> tuple[int, bytes]:
        """The status and body the site answers for a request path (with query).

        A 301 (a moved release) has an empty body; its target is `location(url_path)`.
        """
        parts = urlsplit(url_path)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        if path == "/robots.txt/":
            return 200, self.robots_txt.encode()
        segments = [s for s in path.split("/") if s]
        page = None
        if segments == ["news"]:
            page = 1
        elif len(segments) == 3 and segments[:2] == ["news", "page"] and segments[2].isdigit():
            page = int(segments[2])
        if page is None or page < 1:
            return self._release_answer(path)
        facet = facet_of_query(parts.query)
        body = self.pages.get((facet, page))
        if body is not None:
            return 200, body
        if page == 1 and self.last_page(facet) == 0:
            return 200, render_no_results(self.layout, facet).encode()
        return 404, render_not_found(self.layout).encode()

    def _release_answer(self, path: str) -> tuple[int, bytes]:
        if path in self.details:
            return 200, self.details[path]
        if path in self.redirects:
            return 301, b""
        if self.gone.get(path) == 410:
            return 410, render_gone(410).encode()
        return 404, render_not_found(self.layout).encode()

    def location(self, url_path: str) -> str | None:
        """Where a redirect answer of `lookup(url_path)` points: the moved release's new path
        (the query kept, as WordPress does), or None when the path is not redirected."""
        parts = urlsplit(url_path)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        target = self.redirects.get(path)
        if target is None:
            return None
        return f"{target}?{parts.query}" if parts.query else target


def render_site(dataset: Dataset, layout: str = "current") -> SitePages:
    """Every listing page of the dataset (the whole newsroom and each filter) in one layout,
    and its release pages (rendered when first requested), moves and deletions."""
    if layout not in LAYOUT_NAMES:
        raise ValueError(f"unknown layout {layout!r} (choose from {', '.join(LAYOUT_NAMES)})")
    details = detail_site(dataset)
    site = SitePages(
        layout=layout, details=details.pages, redirects=details.redirects, gone=details.gone
    )
    facets: set[str | None] = {None}
    facets.update(facet for release in dataset.releases for facet in release.facets)
    for facet in facets:
        pages = dataset.pages(facet)
        for number, releases in enumerate(pages, start=1):
            site.pages[(facet, number)] = render_page(
                layout, releases, facet, number, len(pages)
            ).encode("utf-8")
    return site
