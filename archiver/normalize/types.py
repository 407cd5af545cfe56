"""Release types: a small controlled vocabulary, from the card's label or else the URL.

Labels are matched ignoring case and whitespace; icon text that older cards put in front of the
label (`Sheet of paper Report`) is dropped by matching the vocabulary at the *end* of the label.
A card without a label gets its type from the release URL's section where the source maps one.
An unknown label is kept as raw text on the item (`type_raw`) and typed `Other`, so the pipeline
can count and log it: a new label on the site must be noticed, not silently mapped to something.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from archiver.normalize.text import clean_text
from archiver.sites import Source

OTHER = "Other"
# Canonical names, in the spelling stored.
VOCABULARY: tuple[str, ...] = (
    "Press Release",
    "Report",
    "Update",
    "Urgent Action",
    "Statement",
    "News",
    "Blog",
    "Story",
    "Research",
    "Op-Ed",
    "Event",
    "Video",
    "Podcast",
)
# Other spellings seen or likely on the site, lower-cased and single-spaced.
ALIASES: dict[str, str] = {
    "press releases": "Press Release",
    "news release": "Press Release",
    "reports": "Report",
    "updates": "Update",
    "urgent actions": "Urgent Action",
    "statements": "Statement",
    "blog post": "Blog",
    "blogs": "Blog",
    "stories": "Story",
    "op ed": "Op-Ed",
    "opinion": "Op-Ed",
    "events": "Event",
}
# Icon text older cards render in front of (or instead of) the label.
ICON_TEXTS: tuple[str, ...] = ("sheet of paper",)


def _key(text: str) -> str:
    """Case, hyphens and whitespace do not distinguish labels."""
    return " ".join(text.lower().replace("-", " ").split())


_KEYS: dict[str, str] = {_key(name): name for name in VOCABULARY} | {
    _key(alias): name for alias, name in ALIASES.items()
}
# Longest first, so `Urgent Action` wins over a shorter term that might end it.
_SUFFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(((" " + key, name) for key, name in _KEYS.items()), key=lambda kv: -len(kv[0]))
)


class ReleaseType(NamedTuple):
    """A release's type and where it came from: `label`, `url`, or None when unknown."""

    name: str | None
    source: str | None


def clean_label(raw: str | None) -> str:
    """The label as text: clean, on one line (icon text still there).

    >>> clean_label("  Sheet of paper\\n  Report ")
    'Sheet of paper Report'
    """
    return clean_text(raw)


def strip_icon_text(label: str) -> str:
    """The label without icon text in front of it; empty when the label was only icon text.

    >>> strip_icon_text("Sheet of paper Report"), strip_icon_text("sheet of paper")
    ('Report', '')
    """
    lowered = label.lower()
    for icon in ICON_TEXTS:
        if lowered == icon or lowered.startswith(icon + " "):
            return label[len(icon) :].strip()
    return label


def match_label(label: str) -> str | None:
    """The vocabulary term a label names, or None when it names none.

    >>> match_label("PRESS  release"), match_label("Sheet of paper Report"), match_label("Podcast")
    ('Press Release', 'Report', 'Podcast')
    >>> match_label("Sheet of paper") is None, match_label("Interview") is None
    (True, True)
    """
    key = _key(label)
    if key in _KEYS:
        return _KEYS[key]
    padded = " " + key
    for suffix, name in _SUFFIXES:
        if padded.endswith(suffix):
            return name
    return None


def type_from_url(url: str | None, source: Source) -> str | None:
    """The type the release URL's first path section implies for this source.

    >>> from archiver.sites import AMNESTYUSA
    >>> type_from_url("https://www.amnestyusa.org/urgent-actions/free-him/", AMNESTYUSA)
    'Urgent Action'
    >>> type_from_url("https://www.amnestyusa.org/campaigns/some-page/", AMNESTYUSA) is None
    True
    """
    if not url:
        return None
    section = urlsplit(url).path.strip("/").split("/", 1)[0].lower()
    return dict(source.section_types).get(section)


def normalize_type(label: str | None, url: str | None, source: Source) -> ReleaseType:
    """The release type from its label, else from its URL; `Other` for an unknown label.

    >>> from archiver.sites import AMNESTYUSA
    >>> normalize_type("Sheet of paper Report", None, AMNESTYUSA)
    ReleaseType(name='Report', source='label')
    >>> normalize_type("", "https://www.amnestyusa.org/updates/x/", AMNESTYUSA)
    ReleaseType(name='Update', source='url')
    >>> normalize_type("Interview", "https://www.amnestyusa.org/updates/x/", AMNESTYUSA)
    ReleaseType(name='Other', source='label')
    >>> normalize_type("Sheet of paper", "https://www.amnestyusa.org/reports/x/", AMNESTYUSA)
    ReleaseType(name='Report', source='url')
    >>> normalize_type("", "https://www.amnestyusa.org/campaigns/x/", AMNESTYUSA)
    ReleaseType(name=None, source=None)
    """
    cleaned = strip_icon_text(clean_label(label))
    if cleaned:
        return ReleaseType(match_label(cleaned) or OTHER, "label")
    from_url = type_from_url(url, source)
    return ReleaseType(from_url, "url") if from_url else ReleaseType(None, None)
