"""The fields a release page states about itself: JSON-LD and OpenGraph (by extruct), and the
`<html lang>`, `<link rel=canonical>` and single `h1` of any HTML page.

extruct is imported when a page is first read, not with this module: a listing crawl never
pays for it (about 0.3 s). It is given the tree already parsed, so reading both syntaxes costs
about a tenth of a millisecond a page (measured on a 12 KB release page).

JSON-LD: the article node is the first whose `@type` is an article type, whether it stands
alone or sits in a `@graph` (Yoast SEO puts WebPage, Organization, Person and the article
there, linked by `@id`); the page node (WebPage) gives the canonical URL and the language when
the article has none.
"""

from __future__ import annotations

from typing import Any

from archiver.extract.detail_site import in_chrome
from archiver.extract.detail_values import date_value, language_value, text_value, url_value
from archiver.extract.nodes import Node, compiled, exact_text

JSON_LD = "json-ld"
OPENGRAPH = "opengraph"
HTML = "html"

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "Report",
        "BlogPosting",
        "AnalysisNewsArticle",
        "ReportageNewsArticle",
        "BackgroundNewsArticle",
        "OpinionNewsArticle",
        "ScholarlyArticle",
        "TechArticle",
        "SocialMediaPosting",
    }
)
PAGE_TYPES = frozenset({"WebPage", "ItemPage", "AboutPage", "CollectionPage"})

Fields = dict[str, Any]


def metadata(root: Node, page_url: str) -> list[tuple[str, Fields]]:
    """The fields JSON-LD and OpenGraph state, in that order, each with its extractor's name."""
    import extruct  # late: slow to import, and only release pages need it

    data = extruct.extract(
        root, base_url=page_url, syntaxes=[JSON_LD, OPENGRAPH], uniform=True, errors="log"
    )
    return [
        (JSON_LD, json_ld_fields(data.get(JSON_LD) or [], page_url)),
        (OPENGRAPH, opengraph_fields(data.get(OPENGRAPH) or [], page_url)),
    ]


def json_ld_fields(items: list[Any], page_url: str) -> Fields:
    """Headline, dates, language, author, keywords and canonical URL of the article node.

    >>> graph = {"@graph": [
    ...     {"@type": "WebPage", "@id": "https://x.org/a/", "url": "https://x.org/a/",
    ...      "inLanguage": "en-US"},
    ...     {"@type": "Person", "@id": "#p1", "name": "Ana Ruiz"},
    ...     {"@type": "NewsArticle", "headline": " A  title ", "datePublished": "2024-05-01",
    ...      "author": [{"@id": "#p1"}], "keywords": "Syria, Refugees"}]}
    >>> fields = json_ld_fields([graph], "http://127.0.0.1:1/a/")
    >>> fields["headline"], fields["published_at"], fields["author"], fields["keywords"]
    ('A title', '2024-05-01', 'Ana Ruiz', ('Syria', 'Refugees'))
    >>> fields["canonical_url"], fields["language"]
    ('https://x.org/a/', 'en')
    """
    nodes = list(_nodes(items))
    by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    article = _first_of(nodes, ARTICLE_TYPES) or {}
    page = _page_node(article, nodes, by_id)
    return {
        "headline": text_value(article.get("headline")) or text_value(article.get("name")),
        "published_at": date_value(article.get("datePublished")),
        "modified_at": date_value(article.get("dateModified")),
        "author": _names(article.get("author"), by_id),
        "keywords": _keywords(article.get("keywords")),
        "language": _language(article.get("inLanguage")) or _language(page.get("inLanguage")),
        "canonical_url": _url(article.get("url"), page_url)
        or _url(page.get("url"), page_url)
        or _url(article.get("mainEntityOfPage"), page_url),
    }


def opengraph_fields(items: list[Any], page_url: str) -> Fields:
    """Title, dates, URL and locale of the page's OpenGraph properties (extruct, uniform).

    >>> opengraph_fields([{"og:title": "A", "og:locale": "es_ES",
    ...                    "article:published_time": "2024-05-01T14:30:00+00:00"}], "https://x/")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'headline': 'A', 'published_at': '2024-05-01T14:30:00+00:00', 'modified_at': None,
     'language': 'es', 'canonical_url': None}
    """
    properties: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict):
            properties.update(item)
    return {
        "headline": text_value(_one(properties.get("og:title"))),
        "published_at": date_value(_one(properties.get("article:published_time"))),
        "modified_at": date_value(_one(properties.get("article:modified_time"))),
        "language": language_value(_one(properties.get("og:locale"))),
        "canonical_url": _url(_one(properties.get("og:url")), page_url),
    }


def declared_fields(root: Node, page_url: str) -> Fields:
    """What the HTML document declares about itself: `<html lang>`, `<link rel=canonical>`.

    These come before JSON-LD and OpenGraph: they are the standard's own place for the
    document's language and canonical URL, which the metadata only repeats.
    """
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    canonical = compiled("link[rel~=canonical]::attr(href)")(root)
    return {
        "language": language_value(lang),
        "canonical_url": _url(str(canonical[0]), page_url) if canonical else None,
    }


def headline_fields(root: Node, chrome: set[Node]) -> Fields:
    """The page's headline when it has exactly one `h1` outside its chrome."""
    headings = [h1 for h1 in root.iter("h1") if not in_chrome(h1, chrome)]
    return {"headline": text_value(exact_text(headings[0])) if len(headings) == 1 else None}


def _nodes(items: list[Any]) -> Any:
    """Every JSON-LD node, those inside a `@graph` included, in document order."""
    for item in items:
        if isinstance(item, list):
            yield from _nodes(item)
        elif isinstance(item, dict):
            if "@type" in item:
                yield item
            graph = item.get("@graph")
            if graph:
                yield from _nodes(graph if isinstance(graph, list) else [graph])


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    # `"schema:NewsArticle"` and `"https://schema.org/NewsArticle"` name the same type.
    return {k.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for k in kinds if isinstance(k, str)}


def _first_of(nodes: list[dict[str, Any]], kinds: frozenset[str]) -> dict[str, Any] | None:
    return next((node for node in nodes if _types(node) & kinds), None)


def _page_node(
    article: dict[str, Any], nodes: list[dict[str, Any]], by_id: dict[str, Any]
) -> dict[str, Any]:
    """The article's own page (`mainEntityOfPage`, `isPartOf`), else the first page node."""
    for key in ("mainEntityOfPage", "isPartOf"):
        ref = article.get(key)
        ref_id = ref.get("@id") if isinstance(ref, dict) else ref
        node = by_id.get(ref_id) if isinstance(ref_id, str) else None
        if node is not None and _types(node) & PAGE_TYPES:
            return node
    return _first_of(nodes, PAGE_TYPES) or {}


def _names(value: Any, by_id: dict[str, Any]) -> str | None:
    """Author names (a string, a node, an `@id` reference, or a list of them), ", "-joined."""
    values = value if isinstance(value, list) else [value]
    names = []
    for item in values:
        if isinstance(item, dict) and "name" not in item and item.get("@id") in by_id:
            item = by_id[item["@id"]]
        name = text_value(item.get("name") if isinstance(item, dict) else item)
        if name and name not in names:
            names.append(name)
    return ", ".join(names) or None


def _keywords(value: Any) -> tuple[str, ...]:
    """Keywords as a list or one comma-separated string, each once."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return ()
    return tuple(dict.fromkeys(kw for item in items if (kw := text_value(item))))


def _language(value: Any) -> str | None:
    if isinstance(value, dict):  # {"@type": "Language", "alternateName": "en", "name": ...}
        return language_value(value.get("alternateName")) or language_value(value.get("name"))
    return language_value(value)


def _url(value: Any, page_url: str) -> str | None:
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    return url_value(value, page_url)


def _one(value: Any) -> Any:
    """The first of a property given several times (extruct lists them)."""
    return value[0] if isinstance(value, list) and value else value
